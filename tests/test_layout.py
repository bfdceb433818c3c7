"""Generated calls are laid out exactly as ruff formats them, comprehensions included."""

from __future__ import annotations

import ast

from archc.pysource.layout import INDENT, Arg, Call, ListOf, Operation, lay_out, structure
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


def conditional_arguments() -> list[str]:
    """A block call with a conditional argument short enough for one line, and one too long
    for it, as an inlined function writes it."""
    lines = []
    value = "max(8, int(c + 4.0) // 8 * 8)"
    for written in (f"{value} if c > 8 else c", f"{value} + 8 if {value} < 0.9 * c else {value}"):
        call = Call("Block", (Arg("c"), Arg(structure(written, nested=True), "squeeze=")))
        lines += lay_out(INDENT * 2, "self.block = ", call)
    return lines


def test_a_long_conditional_argument_takes_three_lines() -> None:
    short, *long = conditional_arguments()
    assert " if " in short and len(long) == 6
    assert [line.split()[0] for line in long[2:5]] == ["squeeze=max(8,", "if", "else"]
    assert long[4].strip() == "else max(8, int(c + 4.0) // 8 * 8),"


def test_a_conditional_split_keeps_the_brackets_of_those_inside_it() -> None:
    """A conditional whose parts are conditionals, too long for one line, is split at its
    own `if` and `else`, its value in the brackets it needs (its `else` needs none): the
    lines mean what the expression means."""
    inner = "in_channels // 2 + in_channels // 2 if wide else in_channels + in_channels // 2"
    written = f"({inner}) if narrow else (2 * in_channels if wide else (a if b else c))"
    call = Call("nn.Conv2d", (Arg(structure(written, nested=True)), Arg("c")))
    lines = lay_out(INDENT * 2, "self.conv = ", call)
    assert [line.strip() for line in lines[1:4]] == [
        f"({inner})",
        "if narrow",
        "else 2 * in_channels if wide else (a if b else c),",
    ]
    joined = " ".join(line.strip() for line in lines[1:4]).rstrip(",")
    assert ast.dump(ast.parse(joined, mode="eval")) == ast.dump(ast.parse(written, mode="eval"))


def test_assignment_keeps_its_conditional_whole() -> None:
    assert structure("a if b else c") == "a if b else c"


@needs_ruff
def test_conditional_arguments_are_ruff_formatted() -> None:
    lines = conditional_arguments()
    source = "class Net:\n    def __init__(self) -> None:\n" + "\n".join(lines) + "\n"
    assert_ruff_formatted(source)


def operations() -> list[str]:
    """Statements whose value is operands joined by operators, too long for one line: a sum
    ending in a call (a table of positions added to a sequence, its rows counted on from a
    cache) with the call's argument on one indented line, one whose arguments go one per
    line, one of three operands, and an `if` of three tests ending in a call."""
    positions = "cached_length(cache) + torch.arange(tokens.size(1), device=tokens.device) + 2"
    arguments = ", ".join(f"argument_{i}=torch.ones(4, dtype=torch.float64)" for i in range(3))
    tests = [
        Call("isinstance", (Arg("module"), Arg("nn.Linear"))),
        "module.bias is not None",
        Call("not name.endswith", (Arg(Call("", (Arg('".dense"'), Arg('".qkv"')), hug=False)),)),
    ]
    return [
        *lay_out(INDENT * 2, "tokens = ", structure(f"tokens + self.wpe({positions})")),
        *lay_out(INDENT * 2, "out = ", structure(f"x * 2 + self.project(x, {arguments})")),
        *lay_out(INDENT * 2, "tokens = ", structure(f"tokens - shift + self.wpe({positions})")),
        *lay_out(INDENT * 2, "if ", Operation(tuple(tests), ("and", "and")), ":"),
        f"{INDENT * 3}pass",
    ]


def test_an_operation_splits_inside_its_last_call_or_one_operand_per_line() -> None:
    lines = [line.strip() for line in operations()]
    assert lines[:3] == ["tokens = tokens + self.wpe(", lines[1], ")"]
    assert lines[3:5] == ["out = x * 2 + self.project(", "x,"] and lines[8] == ")"
    assert lines[9:13] == ["tokens = (", "tokens", "- shift", "+ self.wpe("]
    assert lines[16:19] == ["if (", "isinstance(module, nn.Linear)", "and module.bias is not None"]


@needs_ruff
def test_operations_are_ruff_formatted() -> None:
    source = "class Net:\n    def forward(self) -> None:\n" + "\n".join(operations()) + "\n"
    assert_ruff_formatted(source)
