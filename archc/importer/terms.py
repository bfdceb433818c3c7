"""Spec text for values and layer calls, with every literal argument going through a callback:
the block writer turns the literals that differ between a class's instances into parameters."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from archc.importer.layers import Layer
from archc.ops import registry
from archc.syntax.fmt_expr import quote
from archc.syntax.grammar import is_name

# Writes one literal argument, given the argument's name and value.
Literal = Callable[[str, Any], str]
# A text as it compares with another: a block's slots read as their values.
Resolve = Callable[[str], str]


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
    op = registry.lookup(layer.op)
    for index, (name, value) in enumerate(layer.positional):
        if op and op.varargs and index == len(op.positional) - 1 and isinstance(value, tuple):
            parts += [lit(name, size) for size in value]  # `reshape(768, 196)`, as torch writes
        else:
            parts.append(lit(name, value))
    parts += [f"{name}={lit(name, value)}" for name, value in layer.keywords]
    return f"{layer.op}({', '.join(parts)})" if parts else layer.op


def written_name(name: str) -> str:
    """A layer's name as `as` writes it: bare where the grammar reads it as a name, quoted
    otherwise (`as "block"`, a keyword; `as "0"`)."""
    return name if is_name(name) else quote(name)


def named(text: str, name: str | None) -> str:
    return f"{text} as {written_name(name)}" if name else text


def as_written(text: str) -> str:
    return text


def repeated(
    elements: list[str], lit: Literal = plain, resolve: Resolve = as_written
) -> list[str]:
    """Runs of equal elements as one repeat, `a -> a -> a` reads `a * 3`, and runs of one
    layer under consecutively numbered names as a naming pattern: `a as layer1 -> a as layer2`
    reads `a * 2 as layer{i + 1}`. Elements are equal when their ``resolve``d texts are (a
    block's slots read as their values), and the count is written by ``lit``."""
    out: list[str] = []
    index = 0
    while index < len(elements):
        numbered = _numbered(elements[index])
        count = _numbered_run(elements, index, resolve)
        if numbered is not None and count > 1:
            body, stem, first = numbered
            number = f"{{i + {first}}}" if first else "{i}"
            out.append(f"{_operand(body)} * {lit('count', count)} as {stem}{number}")
        else:
            count = 1
            same = resolve(elements[index])
            while index + count < len(elements) and resolve(elements[index + count]) == same:
                count += 1
            element = elements[index]
            out.append(f"{_operand(element)} * {lit('count', count)}" if count > 1 else element)
        index += count
    return out


_NAME = re.compile(r"([A-Za-z_]\w*?)(0|[1-9]\d*)")


def _numbered(element: str) -> tuple[str, str, int] | None:
    """`layer as name12` as its layer, the name's stem and its number."""
    body, separator, name = element.rpartition(" as ")
    match = _NAME.fullmatch(name)
    if not separator or match is None:
        return None
    return body, match.group(1), int(match.group(2))


def _numbered_run(elements: list[str], index: int, resolve: Resolve) -> int:
    """How many elements from ``index`` on are one layer named stem1, stem2, ..."""
    first = _numbered(resolve(elements[index]))
    if first is None:
        return 1
    body, stem, number = first
    count = 1
    while index + count < len(elements) and _numbered(resolve(elements[index + count])) == (
        body,
        stem,
        number + count,
    ):
        count += 1
    return count


def _operand(element: str) -> str:
    """``element`` as the operand of `*`: grouped where it is a chain or a named layer, unless
    it is one group already."""
    if element.startswith("(") and _closing(element) == len(element) - 1:
        return element
    return f"({element})" if " as " in element or "->" in element else element


def _closing(text: str) -> int:
    """The index of the `)` that closes the `(` text starts with."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return -1
