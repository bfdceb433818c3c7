"""The parser: every construct of the language becomes the AST node it should."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from archc.errors import ArchError, SourceFile, Span
from archc.syntax import ast
from archc.syntax import parse as parse_module
from archc.syntax.fast_lalr import NotParsed
from archc.syntax.grammar import comments
from archc.syntax.layout import NestingTooDeep
from archc.syntax.parse import parse
from benchmarks import parse_speed


def parse_text(text: str) -> ast.Module:
    return parse(SourceFile("test.arch", text))


def expr(text: str) -> ast.Expr:
    item = parse_text(f"v = {text}\n").items[0]
    assert isinstance(item, ast.Assign)
    return item.value


def test_chain_is_flat_and_names_bind_to_stages() -> None:
    node = expr("x -> conv2d(64, 3) as conv1 -> relu -> Block(2) * 3 as stage")
    assert isinstance(node, ast.Chain)
    assert node.head == ast.Name("x")
    first, second, third = node.stages
    assert isinstance(first, ast.Named) and first.name.name == "conv1"
    assert second == ast.Name("relu")
    assert isinstance(third, ast.Named) and isinstance(third.value, ast.Binary)
    assert third.value.op == "*"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", ast.Binary("+", ast.Int(1), ast.Binary("*", ast.Int(2), ast.Int(3)))),
        ("-2 ** 2", ast.Unary("-", ast.Binary("**", ast.Int(2), ast.Int(2)))),
        ("2 ** 3 ** 2", ast.Binary("**", ast.Int(2), ast.Binary("**", ast.Int(3), ast.Int(2)))),
        (
            "a // b % c",
            ast.Binary("%", ast.Binary("//", ast.Name("a"), ast.Name("b")), ast.Name("c")),
        ),
        ("not a and b", ast.Logic("and", ast.Unary("not", ast.Name("a")), ast.Name("b"))),
        (
            "a or b and c",
            ast.Logic("or", ast.Name("a"), ast.Logic("and", ast.Name("b"), ast.Name("c"))),
        ),
        (
            "a + 1 <= b",
            ast.Compare("<=", ast.Binary("+", ast.Name("a"), ast.Int(1)), ast.Name("b")),
        ),
        (
            "x.shape[-1]",
            ast.Index(
                ast.Attribute(ast.Name("x"), ast.Ident("shape")), ast.Unary("-", ast.Int(1))
            ),
        ),
        ("(3, 5)", ast.TupleExpr((ast.Int(3), ast.Int(5)))),
        ("(3,)", ast.TupleExpr((ast.Int(3),))),
        (
            '[1, 2.5, "s", true, none]',
            ast.ListExpr(
                (ast.Int(1), ast.Float(2.5), ast.Str("s"), ast.Bool(True), ast.NoneLit())
            ),
        ),
        ("50_257", ast.Int(50257)),
        ("1e-5", ast.Float(1e-5)),
        ("if a then b else c", ast.Cond(ast.Name("a"), ast.Name("b"), ast.Name("c"))),
    ],
)
def test_expressions(text: str, expected: ast.Expr) -> None:
    assert expr(text) == expected


def test_if_else_branch_extends_right() -> None:
    node = expr("if s != 1 then x -> conv2d(8, 1) else x -> relu")
    assert isinstance(node, ast.Cond)
    assert isinstance(node.orelse, ast.Chain)


def test_call_arguments_keep_order_and_names() -> None:
    node = expr('conv2d(64, 3, stride=2, padding="same")')
    assert isinstance(node, ast.Call)
    assert [a.name.name if a.name else None for a in node.args] == [
        None,
        None,
        "stride",
        "padding",
    ]
    assert node.args[3].value == ast.Str("same")


def test_statements_and_definitions() -> None:
    module = parse_text(
        'use "blocks/std.arch"\n'
        'init conv2d.weight: kaiming_normal(mode="fan_out")\n'
        "init batchnorm2d: weight=1, bias=0\n"
        'init "layer*.bn2.weight": zeros\n'
        "width = 64\n"
        "block B(c, s=1) {\n"
        "  in x\n"
        "  a, b = chunk(x, 2)\n"
        '  assert c > 0, "c must be positive"\n'
        "  out a + b\n"
        "}\n"
        "network N(classes=10) {\n"
        "  in tokens: int64[T]\n"
        "  in image: [3, H, W]\n"
        "  tie head.weight = embed.weight\n"
        "  out logits = image -> B(8)\n"
        "}\n"
    )
    use, init1, init2, init3, const, block, network = module.items
    assert use == ast.Use(ast.Str("blocks/std.arch"))
    assert isinstance(init1, ast.InitRule) and init1.target == ast.Path(("conv2d", "weight"))
    assert isinstance(init2, ast.InitRule) and init2.scheme is None and len(init2.per_param) == 2
    assert isinstance(init3, ast.InitRule) and init3.target == ast.Pattern("layer*.bn2.weight")
    assert const == ast.Assign((ast.Ident("width"),), ast.Int(64))
    assert isinstance(block, ast.Definition) and block.kind == "block"
    assert [p.name.name for p in block.params] == ["c", "s"]
    assert isinstance(block.body[1], ast.Assign) and len(block.body[1].targets) == 2
    assert isinstance(block.body[2], ast.Assert)
    assert isinstance(network, ast.Definition) and network.kind == "network"
    tokens, image, tie, out = network.body
    assert isinstance(tokens, ast.Input) and tokens.type is not None
    assert tokens.type.dtype == ast.Ident("int64") and tokens.type.dims == (ast.Name("T"),)
    assert isinstance(image, ast.Input) and image.type is not None and len(image.type.dims) == 3
    assert tie == ast.Tie(ast.Path(("head", "weight")), ast.Path(("embed", "weight")))
    assert isinstance(out, ast.Output) and out.name == ast.Ident("logits")


def test_chains_continue_over_lines_and_brackets() -> None:
    one_line = parse_text("network N {\n  in x\n  y = x -> a -> b(1, 2)\n  out y\n}\n")
    spread = parse_text(
        "network N {\n\n  in x   # the input\n  y = x\n    -> a ->\n    b(1,\n      2)\n  out y\n}\n"
    )
    assert one_line == spread


def test_spans_are_exact() -> None:
    module = parse_text("network N {\n\tin x\n  out x -> relu\n}\n")
    definition = module.items[0]
    assert isinstance(definition, ast.Definition)
    out = definition.body[1]
    assert isinstance(out, ast.Output) and isinstance(out.value, ast.Chain)
    stage = out.value.stages[0]
    assert (stage.span.line, stage.span.col, stage.span.end_line, stage.span.end_col) == (
        3,
        12,
        3,
        16,
    )
    tab_input = definition.body[0]
    assert (tab_input.span.line, tab_input.span.col) == (2, 2)


def test_comments_are_kept_beside_the_tree() -> None:
    module = parse_text("# header\nx = 1  # one\n")
    assert [c.text for c in module.comments] == ["# header", "# one"]
    assert [c.span.line for c in module.comments] == [1, 2]


def test_keywords_are_not_names() -> None:
    with pytest.raises(ArchError):
        parse_text("x = in\n")


def test_several_errors_are_reported_in_one_run() -> None:
    with pytest.raises(ArchError) as caught:
        parse_text("network N {\n  x = a b\n  y = 1 + * 2\n  out y\n  z = ) \n}\n")
    lines = [d.span.line for d in caught.value.diagnostics if d.span]
    assert lines == [2, 3, 5]


def codes_and_lines(text: str) -> list[tuple[str, int]]:
    with pytest.raises(ArchError) as caught:
        parse_text(text)
    return [(d.code, d.span.line) for d in caught.value.diagnostics if d.span]


def test_dangling_operator_is_one_error_on_its_own_line() -> None:
    assert codes_and_lines("network N {\n  in x\n  y = 1 +\n  out y\n}\n") == [("A133", 3)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The statement after an unclosed `(` is parsed again, and its own mistake found.
        (
            "network N {\n  x = f(1, 2\n  y = x x\n  out y\n}\n",
            [("A110", 2), ("A111", 3)],
        ),
        # A broken header takes its body with it, but not the next definition.
        (
            "block B(c):\n  in x\n  out x\n}\nnetwork N {\n  in x\n  out x x\n}\n",
            [("A125", 1), ("A111", 7)],
        ),
        # A body left open before the next definition.
        (
            "block B {\n  in x\n  out x\n\nnetwork N {\n  in x\n  out x x\n}\n",
            [("A113", 3), ("A111", 7)],
        ),
        # Lines that continue a broken statement go with it.
        ("x = a a ->\n  relu\ny = b b\n", [("A111", 1), ("A111", 3)]),
        # A dangling `=` and a dangling `*`, one after the other.
        ("x =\ny = 2 *\nz = 3\n", [("A150", 1), ("A133", 2)]),
        # An unterminated string ends at its line.
        ("x = \"abc\ny = 'd'\n", [("A101", 1), ("A122", 2)]),
    ],
)
def test_recovery_reports_each_mistake_once(text: str, expected: list[tuple[str, int]]) -> None:
    assert codes_and_lines(text) == expected


# --- the quick parser (archc/syntax/fast_lalr.py) against Lark's own -----------------------------

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(p for d in ("specs", "examples", "tests") for p in (ROOT / d).rglob("*.arch"))


def everything(value: object) -> object:
    """``value`` with the spans that AST equality leaves out, for comparing two trees exactly."""
    if isinstance(value, Span):
        return (value.start, value.end, value.line, value.col, value.end_line, value.end_col)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return type(value), tuple(everything(getattr(value, f.name)) for f in fields)
    if isinstance(value, tuple):
        return tuple(everything(v) for v in value)
    return type(value), value


def outcome(run: Callable[[str], object], source: SourceFile) -> object:
    """What a parser makes of ``source``: its tree, or its error, with the builder's findings."""
    found: list[Token] = []
    state = parse_module._State(source)
    reset = comments.set(found), parse_module._state.set(state)
    try:
        result: object = everything(run(source.text))
    except UnexpectedToken as exc:
        token = exc.token
        positions = (token.start_pos, token.line, token.column, token.end_line, token.end_column)
        stack = exc.state.state_stack if exc.state is not None else None
        result = (token.type, str(token), positions, exc.expected, exc.accepts, stack)
    except (UnexpectedCharacters, NotParsed):
        result = "does not lex"
    except NestingTooDeep as exc:
        result = ("too deep", exc.token.start_pos)
    finally:
        comments.reset(reset[0])
        parse_module._state.reset(reset[1])
    kept = [(str(t), t.start_pos, t.end_pos) for t in found]
    return result, kept, [everything(d) for d in state.diagnostics]


def quick_and_lark(text: str) -> tuple[object, object]:
    source = SourceFile("t.arch", text)
    fast = parse_module.fast_parser()
    assert fast is not None, "this version of Lark is not supported by fast_lalr.py"
    return outcome(fast.parse, source), outcome(parse_module.ast_parser().parse, source)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_quick_parser_agrees_with_lark(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    quick, lark = quick_and_lark(text)
    assert quick == lark


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x = 1",
        "x = 1  # no newline at the end",
        "x = (((((1)))))\ny = layers.0.1.weight\ntie a.0.1 = b.2.3\n",
        "x = " + "(" * 70 + "1" + ")" * 70 + "\n",  # nesting beyond the layout's limit
        "x = " + "-" * 120 + "1\n",  # expressions beyond the builder's limit
        'x = "a\\q"\ny = ' + "9" * 150 + "\n",  # the builder's own diagnostics
        "x = 1 +\n",  # the end of the file where an operand should be
        "network N {\n  in x\n  out x -> relu",  # ... and where a `}` should be
        "x = a; y = b\n",  # a character no token starts with
    ],
)
def test_the_quick_parser_agrees_with_lark_at_the_edges(text: str) -> None:
    quick, lark = quick_and_lark(text)
    assert quick == lark


def test_the_quick_parser_agrees_with_lark_on_a_large_spec() -> None:
    spec, _ = parse_speed.generate("", parse_speed.ARCH_ROUND, 1_000)
    quick, lark = quick_and_lark(spec)
    assert quick == lark
