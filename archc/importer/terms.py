"""Spec text for values and layer calls, with every literal argument going through a callback:
the block writer turns the literals that differ between a class's instances into parameters."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from archc.importer.layers import Layer
from archc.syntax.fmt_expr import quote

# Writes one literal argument, given the argument's name and value.
Literal = Callable[[str, Any], str]


def spec_literal(value: Any) -> str:
    """A plain value as a spec writes it: `true`, `none`, `0.1`, `"same"`, `(3, 5)`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"no spec literal for {value!r}")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        items = ", ".join(spec_literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    raise ValueError(f"no spec literal for {value!r}")


def plain(name: str, value: Any) -> str:
    return spec_literal(value)


def call(layer: Layer, lit: Literal, operands: list[str] | None = None) -> str:
    """`conv2d(64, 3, stride=2)`; with ``operands``, the tensors come first:
    `concat(a, b, dim=1)`. A call without arguments is the bare name, as `relu`."""
    parts = list(operands or [])
    parts += [lit(name, value) for name, value in layer.positional]
    parts += [f"{name}={lit(name, value)}" for name, value in layer.keywords]
    return f"{layer.op}({', '.join(parts)})" if parts else layer.op


def named(text: str, name: str | None) -> str:
    return f"{text} as {name}" if name else text


def repeated(elements: list[str]) -> list[str]:
    """Runs of equal elements as one repeat: `a -> a -> a` reads `a * 3`."""
    out: list[str] = []
    index = 0
    while index < len(elements):
        count = 1
        while index + count < len(elements) and elements[index + count] == elements[index]:
            count += 1
        element = elements[index]
        if count > 1:
            element = (
                f"({element}) * {count}"
                if " as " in element or "->" in element
                else (f"{element} * {count}")
            )
        out.append(element)
        index += count
    return out
