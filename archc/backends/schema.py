"""The op registry as JSON Schema, for editors, linters and other tools.

One entry per op, keyed by its name: the facts the registry holds about it (aliases, family,
summary, how arguments and tensor inputs bind, the shape rule and the parameter formula) and the
JSON Schema of its hyperparameters, derived from the same schema that checks them
(`archc/ops/schema.py`).
"""

from __future__ import annotations

import json
import types
import typing
from typing import Annotated, Any, Literal, Union

from archc.ops import all_ops
from archc.ops.schema import Args, Field
from archc.ops.spec import Op

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _argument_aliases(op: Op) -> dict[str, list[str]]:
    """Other spellings an argument accepts (``axis`` for ``dim``): a model's JSON Schema lists
    each field under its own name only."""
    fields = op.Args.fields.items()
    return {name: list(spec.aliases) for name, spec in fields if spec.aliases}


# JSON Schema's keywords for each constraint
_KEYWORDS = {
    "gt": "exclusiveMinimum",
    "ge": "minimum",
    "lt": "exclusiveMaximum",
    "le": "maximum",
    "min_length": "minItems",
    "max_length": "maxItems",
}
_PLAIN = {int: "integer", float: "number", bool: "boolean", str: "string", type(None): "null"}


def type_schema(annotation: Any) -> dict[str, Any] | None:
    """The JSON Schema of the values of ``annotation``; None for a type JSON cannot hold (a
    symbolic size, which only a spec's expression gives)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *extras = typing.get_args(annotation)
        schema = type_schema(base)
        for extra in extras:
            if isinstance(extra, Field) and schema is not None:
                limits = {**extra.bounds(), **extra.lengths()}
                schema.update({_KEYWORDS[kind]: value for kind, value in limits.items()})
        return schema
    if origin in (Union, types.UnionType):
        arms = [type_schema(arm) for arm in typing.get_args(annotation)]
        kept = [arm for arm in arms if arm is not None]
        return kept[0] if len(kept) == 1 else {"anyOf": kept}
    if origin is Literal:
        choices = list(typing.get_args(annotation))
        kind = _PLAIN[type(choices[0])]
        return (
            {"const": choices[0], "type": kind}
            if len(choices) == 1
            else {
                "enum": choices,
                "type": kind,
            }
        )
    if origin is tuple:
        items = typing.get_args(annotation)
        if len(items) == 2 and items[1] is Ellipsis:
            return {"items": type_schema(items[0]), "type": "array"}
        entries = [type_schema(item) for item in items]
        count = len(entries)
        return {"maxItems": count, "minItems": count, "prefixItems": entries, "type": "array"}
    if annotation in _PLAIN:
        return {"type": _PLAIN[annotation]}
    return None


def args_schema(args: type[Args]) -> dict[str, Any]:
    """The JSON Schema of an op's arguments: an object of its fields, no others."""
    properties = {}
    for name, spec in args.fields.items():
        entry = type_schema(spec.annotation) or {}
        entry["title"] = name.replace("_", " ").title()
        if not spec.required:
            entry["default"] = spec.default
        if spec.description:
            entry["description"] = spec.description
        properties[name] = entry
    schema: dict[str, Any] = {
        "additionalProperties": False,
        "properties": properties,
        "title": args.__name__,
        "type": "object",
    }
    required = [name for name, spec in args.fields.items() if spec.required]
    if required:
        schema["required"] = required
    return schema


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
        "args": args_schema(op.Args),
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
