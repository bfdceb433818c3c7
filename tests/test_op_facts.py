"""The facts of an op its applications share (archc/semantics/op_facts.py), against what the
schema and the provenance of each value say when asked one application at a time."""

from __future__ import annotations

import pytest

from archc import api
from archc.ops import all_ops
from archc.ops.schema import REQUIRED
from archc.ops.spec import Op
from archc.semantics import provenance as pv
from archc.semantics.op_facts import facts


@pytest.mark.parametrize("op", all_ops(), ids=lambda op: op.name)
def test_facts_agree_with_the_schema(op: Op) -> None:
    known = facts(op)
    fields = op.Args.fields
    assert known.fields == tuple(fields)
    for spelling, field in known.field_of.items():
        # the first field, as declared, that answers to the spelling
        assert field == next(f for f, spec in fields.items() if spelling in (f, *spec.aliases))
    assert set(known.field_of) == {s for f, spec in fields.items() for s in (f, *spec.aliases)}
    for name, spec in fields.items():
        expected = None if spec.default is REQUIRED else pv.origin_of(spec.default)
        assert known.default_origins.get(name) == expected
    assert known.input_index == {name: op.inputs.index(name) for name in op.inputs}
    assert facts(op) is known  # once per op


def _node_origins(text: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    path = tmp_path_factory.mktemp("facts") / "spec.arch"
    path.write_text(text, encoding="utf-8")
    networks, diagnostics = api.analyse(str(path), None, {})
    assert not [d for d in diagnostics if d.is_error]
    return {n.path: n.arg_origins for n in networks[-1].nodes() if n.kind == "op"}


def test_a_default_records_its_literal_and_a_given_value_its_own_provenance(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Two applications of one op share the defaults' provenance and never each other's
    arguments: the one that gives `stride` records the parameter, the other the default."""
    origins = _node_origins(
        "block B(s) {\n    in x\n    out x -> conv2d(8, 3, stride=s) as a -> conv2d(8, 3) as b\n}\n"
        "network N {\n    in x: [3, 32, 32]\n    out x -> B(2)\n}\n",
        tmp_path_factory,
    )
    given, default = origins["b1.a"], origins["b1.b"]
    assert given["stride"] == pv.Param("s") and default["stride"] == pv.Lit(1)
    assert given["padding"] is default["padding"] == pv.Lit(0)
    assert given["out_channels"] == default["out_channels"] == pv.Lit(8)
