"""Generated calls are laid out exactly as ruff formats them, comprehensions included."""

from __future__ import annotations

from archc.pysource.layout import INDENT, Arg, Call, ListOf, lay_out
from tests.conftest import assert_ruff_formatted, needs_ruff


def block(arguments: int, width: int) -> Call:
    """`Block(a, b, ...)` with ``arguments`` keyword arguments of about ``width`` characters."""
    args = [Arg("in_features"), Arg("heads")]
    args += [Arg("v" * width, f"k{i}=") for i in range(arguments)]
    return Call("Block", tuple(args))


def statements() -> list[str]:
    """One assignment per way a repeat can be laid out: on one line, its comprehension on an
    indented line, the comprehension split, and the element split too; unpacked into an
    nn.Sequential and listed in an nn.ModuleList."""
    lines = []
    for arguments, width in [(0, 0), (1, 20), (2, 20), (3, 24), (6, 20)]:
        each = ListOf(block(arguments, width), "for _ in range(layers)")
        for call in (
            Call("nn.Sequential", (Arg(each, "*"),)),
            Call("nn.ModuleList", (Arg(each),)),
        ):
            lines += lay_out(INDENT * 2, "self.layers = ", call)
    return lines


def test_every_way_is_taken() -> None:
    """The cases above reach every branch: lines with `[` alone and with the clause alone."""
    lines = statements()
    assert any(line.strip() == "*[" for line in lines)
    assert any(line.strip() == "[" for line in lines)
    assert any(line.strip() == "for _ in range(layers)" for line in lines)
    assert any(line.strip().startswith("*[Block(") for line in lines)
    assert any(line.strip().endswith("for _ in range(layers)])") for line in lines)


@needs_ruff
def test_comprehensions_are_ruff_formatted() -> None:
    source = "class Net:\n    def __init__(self) -> None:\n" + "\n".join(statements()) + "\n"
    assert_ruff_formatted(source)
