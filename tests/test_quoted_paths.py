"""`tie` and `init` paths name layers by their quoted names (`"block1-0".weight`), so a layer
named as a reference implementation names it can be tied and initialised by its path."""

from __future__ import annotations

from pathlib import Path

import torch

from archc import api, runtime
from archc.cli import main
from archc.errors import SourceFile
from archc.syntax import ast
from archc.syntax.parse import parse

SPEC = """network Net {
    in x: [8]
    y = x -> linear(8) as "block1-0" -> linear(8) as "block"
    out y -> (linear(8) -> linear(8)) as "head-1"
    tie "block".weight = "block1-0".weight
    init "block1-0".bias: constant(0.5)
    init "head-1"."1".weight: zeros
}
"""


def write(tmp_path: Path, text: str = SPEC) -> Path:
    spec = tmp_path / "net.arch"
    spec.write_text(text, encoding="utf-8")
    return spec


def test_a_quoted_part_is_one_part_of_the_path() -> None:
    module = parse(SourceFile("net.arch", SPEC))
    (network,) = module.items
    tie = next(s for s in network.body if isinstance(s, ast.Tie))
    assert tie.target.parts == ("block", "weight") and tie.target.quoted == (True, False)
    rule = next(s for s in network.body if isinstance(s, ast.InitRule))
    assert isinstance(rule.target, ast.Path) and rule.target.parts == ("block1-0", "bias")


def test_quoted_layers_are_tied_and_initialised(tmp_path: Path) -> None:
    spec = write(tmp_path)
    (net,), diagnostics = api.analyse(str(spec))
    assert diagnostics == []
    assert net.param_count == 4 * (8 * 8 + 8) - 8 * 8  # one weight shared
    model = runtime.build(str(spec), seed=0)
    blocks = dict(model.named_modules())
    assert blocks["block"].weight is blocks["block1-0"].weight
    assert torch.equal(blocks["block1-0"].bias, torch.full((8,), 0.5))
    assert torch.equal(blocks["head-1.1"].weight, torch.zeros(8, 8))
    assert not torch.equal(blocks["head-1.0"].weight, torch.zeros(8, 8))


def test_the_formatter_keeps_the_quotes(tmp_path: Path) -> None:
    spec = write(tmp_path)
    assert main(["fmt", "--check", str(spec)]) == 0
    unquoted = write(tmp_path, SPEC.replace('"head-1"."1"', '"head-1".1'))
    assert main(["fmt", str(unquoted)]) == 0
    assert 'init "head-1".1.weight: zeros' in unquoted.read_text(encoding="utf-8")
