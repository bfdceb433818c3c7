"""The examples in examples/ run, each with --quick, and show what their docstrings promise.

Each example's `main` is called in this process with `["--quick"]`, as a reader would run it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import torch

from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    # The --quick models are too small to gain from intra-op threads, and on a busy runner the
    # threads of one op spend their time waiting for each other.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """Import examples/NAME.py; the examples import their sibling `_common` from sys.path."""
    monkeypatch.syspath_prepend(str(EXAMPLES))

    def load(name: str) -> ModuleType:
        # A name of its own, so that no installed package called e.g. `word2vec` is shadowed.
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look themselves up
        spec.loader.exec_module(module)
        return module

    return load


def run_quick(example: Callable[[str], ModuleType], name: str, *extra: str) -> Any:
    return example(name).main(["--quick", *extra])


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_says_how_to_run_it(example: Callable[[str], ModuleType], name: str) -> None:
    module = example(name)
    assert module.__doc__ and f"python examples/{name}.py --quick" in module.__doc__
    assert f"`{name}.py`" in (EXAMPLES / "README.md").read_text(encoding="utf-8")


def test_help_shows_the_docstring(
    example: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        example("gan").main(["--help"])
    assert exit_.value.code == 0
    assert "python examples/gan.py --quick" in capsys.readouterr().out


@pytest.mark.slow
def test_train_cnn(example: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str]):
    result = run_quick(example, "train_cnn")
    assert sum(result.losses[-2:]) / 2 < result.losses[0]
    assert result.accuracy > 0.3  # chance is 0.1
    out = capsys.readouterr().out
    assert "CifarResNet" in out and "held-out accuracy" in out


def test_gan(example: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_quick(example, "gan")
    assert result.after.distance < result.before.distance
    assert all(map(torch.isfinite, torch.tensor(result.d_losses + result.g_losses)))
    out = capsys.readouterr().out
    assert "D loss" in out and "G loss" in out


@pytest.mark.slow
def test_autoencoder_pretraining(
    example: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_quick(example, "autoencoder_pretraining")
    assert len(result.stages) == 5  # four pairs, then fine-tuning
    assert all(last < first for first, last in result.stages.values())
    assert result.whole["fine-tuned"] < result.whole["pretrained"] < result.whole["random"]
    assert "pretraining encoder.layer4 + decoder.layer4" in capsys.readouterr().out


def test_lstm_tagger(example: Callable[[str], ModuleType]) -> None:
    result = run_quick(example, "lstm_tagger")
    assert result.accuracies[0] < result.chance + 0.05
    assert result.accuracies[-1] > result.chance + 0.2


def test_recurrent_cell(example: Callable[[str], ModuleType]) -> None:
    result = run_quick(example, "recurrent_cell")
    assert result.losses[0] > 0.5  # an untrained cell: no better than answering 0
    assert result.losses[-1] < 0.1
    assert result.losses[-1] < result.losses[0] / 10


def test_word2vec(example: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str]):
    module = example("word2vec")
    result = module.main(["--quick"])
    assert result.purity > 0.5  # chance is about 0.12
    animals = [w for w in result.neighbours["cat"] if module.TOPIC_OF.get(w) == "animals"]
    assert len(animals) >= 3
    assert "nearest neighbours" in capsys.readouterr().out


def test_init_statistics(example: Callable[[str], ModuleType]) -> None:
    stds = run_quick(example, "init_statistics")
    assert 0.5 < stds["kaiming"][-1] / stds["kaiming"][0] < 2
    assert stds["xavier"][-1] / stds["xavier"][0] < 1e-2
    assert all(abs(std - 1) <= 0.1 for std in stds["default + lsuv"])


def test_render_all(
    example: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    module = example("render_all")
    written = module.main(["--quick", "--out", str(tmp_path)])
    if module.unavailable() is not None:
        assert written == [] and "skipping" in capsys.readouterr().out
        return
    names = sorted(p.name for p in written)
    assert names == [
        "gan_mlp.Discriminator.svg",
        "gan_mlp.Generator.svg",
        "lstm_tagger.svg",
        "nin.svg",
    ]
    assert all("<svg" in p.read_text(encoding="utf-8") for p in written)
