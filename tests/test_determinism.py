"""The same spec gives the same bytes: generated source, DOT and `summary --json`, across runs,
hash seeds and fresh processes; the same seed gives bit-identical weights in every process.

Each fresh process checks every spec below and prints a digest of each output; all digests must
agree with each other and with a run in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# (spec, network): a spread of the language, with symbolic sizes, ties, init rules and blocks
SPECS = [
    ("tests/golden/densenet_tiny/input.arch", None),
    ("tests/golden/transformer_encoder/input.arch", None),
    ("tests/golden/gan_pair/input.arch", "Generator"),
    ("tests/golden/lstm_tagger/input.arch", None),
    ("tests/golden/unet_tiny/input.arch", None),
    ("specs/resnet18.arch", None),
]
WEIGHTS = [("tests/golden/gan_pair/input.arch", "Generator"), ("specs/lstm_tagger.arch", None)]
HASH_SEEDS = ("0", "1", "42")

DIGESTS = r"""
import contextlib, hashlib, io, json, sys, tempfile
from pathlib import Path

from archc.cli import main

def digest(data):
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()

def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 0, (argv, err.getvalue())
    return out.getvalue()

def outputs(specs, folder):
    found = {}
    for spec, network in specs:
        chosen = ["--network", network] if network else []
        dot = Path(folder) / "diagram.dot"
        run(["render", spec, "-o", str(dot), *chosen])
        found[spec] = {
            "source": digest(run(["compile", spec, *chosen])),
            "dot": digest(dot.read_bytes()),
            "summary": digest(run(["summary", "--json", spec, *chosen])),
        }
    return found

def weights(specs):
    import torch
    from archc import runtime

    found = {}
    for spec, network in specs:
        state = runtime.build(spec, network, seed=7).state_dict()
        hashed = hashlib.sha256()
        for name in sorted(state):
            hashed.update(name.encode() + state[name].detach().contiguous().numpy().tobytes())
        found[spec] = hashed.hexdigest()
    return found

if __name__ == "__main__":
    specs, weighed = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    with tempfile.TemporaryDirectory() as folder:
        report = {"outputs": outputs(specs, folder)}
    if weighed:  # importing torch takes seconds: one fresh process builds the weights
        report["weights"] = weights(weighed)
    print(json.dumps(report))
"""


def in_fresh_process(hash_seed: str, weighed: list[tuple[str, str | None]]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", DIGESTS, json.dumps(SPECS), json.dumps(weighed)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, object] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def in_this_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(DIGESTS, "digests", "exec"), namespace)
    folder = tmp_path_factory.mktemp("digests")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        first = namespace["outputs"](SPECS, str(folder))  # type: ignore[operator]
        again = namespace["outputs"](SPECS, str(folder))  # type: ignore[operator]
        weights = namespace["weights"](WEIGHTS)  # type: ignore[operator]
    assert first == again  # two runs in one process
    return {"outputs": first, "weights": weights}


@pytest.mark.parametrize("hash_seed", HASH_SEEDS)
def test_outputs_are_the_same_in_every_process(
    hash_seed: str, in_this_process: dict[str, object]
) -> None:
    assert in_fresh_process(hash_seed, [])["outputs"] == in_this_process["outputs"]


def test_the_same_seed_gives_the_same_weights_in_every_process(
    in_this_process: dict[str, object],
) -> None:
    assert in_fresh_process("7", WEIGHTS)["weights"] == in_this_process["weights"]


def test_digests_cover_every_output(in_this_process: dict[str, object]) -> None:
    outputs = in_this_process["outputs"]
    assert isinstance(outputs, dict) and sorted(outputs) == sorted(s for s, _ in SPECS)
    assert all(set(found) == {"source", "dot", "summary"} for found in outputs.values())
    assert len(set(in_this_process["weights"].values())) == len(WEIGHTS)  # type: ignore[attr-defined]


def test_different_seeds_give_different_weights() -> None:
    from archc import runtime

    spec, network = WEIGHTS[0]
    first = runtime.build(str(ROOT / spec), network, seed=7).state_dict()
    other = runtime.build(str(ROOT / spec), network, seed=8).state_dict()
    assert any(not first[name].equal(other[name]) for name in first)
