"""The op registry as JSON Schema, for editors, linters and other tools.

One entry per op, keyed by its name: the facts the registry holds about it (aliases, family,
summary, how arguments and tensor inputs bind, the shape rule and the parameter formula) and the
JSON Schema of its hyperparameters, which pydantic derives from the same model that checks them.
"""

from __future__ import annotations

import json
from typing import Any

from archc.backends.reference import other_spellings
from archc.ops import all_ops
from archc.ops.spec import Op

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _argument_aliases(op: Op) -> dict[str, list[str]]:
    """Other spellings an argument accepts (``axis`` for ``dim``): a model's JSON Schema lists
    each field under its own name only."""
    fields = op.Args.model_fields.items()
    spellings = {name: other_spellings(name, info) for name, info in fields}
    return {name: others for name, others in spellings.items() if others}


def op_entry(op: Op) -> dict[str, Any]:
    return {
        "name": op.name,
        "aliases": list(op.aliases),
        "family": op.family,
        "summary": op.summary,
        "positional": list(op.positional),
        "varargs": op.varargs,
        "inputs": list(op.inputs),
        "min_inputs": op.min_inputs,
        "variadic": op.variadic,
        "rule": op.rule,
        "params_rule": op.params_rule,
        "argument_aliases": _argument_aliases(op),
        "args": op.Args.model_json_schema(),
    }


def registry_schema() -> dict[str, Any]:
    """Every op, and which op each name (aliases included) stands for; :func:`to_json` fixes
    the key order."""
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "archc op registry",
        "ops": {op.name: op_entry(op) for op in all_ops()},
        "names": {name: op.name for op in all_ops() for name in (op.name, *op.aliases)},
    }


def to_json(schema: dict[str, Any]) -> str:
    """Sorted keys and a final newline, so the text is identical from run to run."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
