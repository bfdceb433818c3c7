"""What every application of an op reads of it, worked out once per op and process.

The op registry is a table of the process, and an op's schema never changes: the field each
spelling of an argument binds, the provenance of each default and the stem of automatic names
are the same for every application, so `Application._apply_op` reads them here rather than
working them out again for each layer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from archc.ops.schema import REQUIRED
from archc.ops.spec import Op
from archc.semantics import provenance as pv
from archc.semantics.context import base_name


@dataclass(frozen=True, slots=True)
class OpFacts:
    """The facts of one op that its applications share."""

    fields: tuple[str, ...]  # the schema's fields, in declaration order
    field_of: dict[str, str]  # every spelling of an argument (`axis`) -> its field (`dim`)
    # the provenance of each default that has one: the literal an untouched argument records
    # (shared by every node, since provenance expressions are immutable)
    default_origins: dict[str, pv.Expr]
    input_index: dict[str, int]  # each tensor input's name -> its position
    base: str  # the stem of the op's automatic names (`conv` for conv2d)


@functools.cache
def facts(op: Op) -> OpFacts:
    schema = op.Args.fields
    field_of: dict[str, str] = {}  # a spelling two fields share binds the first, as declared
    for name, spec in schema.items():
        for spelling in (name, *spec.aliases):
            field_of.setdefault(spelling, name)
    input_index: dict[str, int] = {}
    for index, name in enumerate(op.inputs):
        input_index.setdefault(name, index)
    origins = {
        name: origin
        for name, spec in schema.items()
        if spec.default is not REQUIRED and (origin := pv.origin_of(spec.default)) is not None
    }
    return OpFacts(
        tuple(schema),
        field_of,
        origins,
        input_index,
        base_name(op.name),
    )
