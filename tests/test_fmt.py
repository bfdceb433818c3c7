"""`archc fmt`: fixture files, random specs, the repository's own specs and the command line.

Fixtures work the sqlglot way: every file in `fmt/identity/` must come back unchanged, and every
`fmt/pairs/<name>.in.arch` must format to `fmt/pairs/<name>.out.arch`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc import cli
from archc.errors import SourceFile
from archc.syntax import ast
from archc.syntax.fmt import format_module, format_source
from archc.syntax.parse import parse
from tests.conftest import ROOT

FIXTURES = Path(__file__).parent / "fmt"
IDENTITY = sorted((FIXTURES / "identity").glob("*.arch"))
PAIRS = sorted((FIXTURES / "pairs").glob("*.in.arch"))


def formatted(text: str) -> str:
    return format_source(SourceFile("test.arch", text))


def assert_canonical(text: str) -> str:
    """Format ``text`` and check the promises of the formatter; returns the formatted text."""
    tree = parse(SourceFile("in.arch", text))
    once = format_module(tree)
    again = parse(SourceFile("out.arch", once))
    assert again == tree
    assert format_module(again) == once
    assert [c.text.rstrip() for c in again.comments] == [c.text.rstrip() for c in tree.comments]
    for line in once.split("\n"):
        assert line == line.rstrip() and "\t" not in line[: len(line) - len(line.lstrip())]
    return once


# --- fixtures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", IDENTITY, ids=lambda p: p.stem)
def test_identity(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert assert_canonical(text) == text


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.name.removesuffix(".in.arch"))
def test_pair(path: Path) -> None:
    expected = path.with_name(path.name.replace(".in.arch", ".out.arch"))
    assert assert_canonical(path.read_text(encoding="utf-8")) == expected.read_text("utf-8")


def test_there_are_enough_fixtures() -> None:
    assert len(IDENTITY) >= 5 and len(PAIRS) >= 12


# --- trees built by hand: the minimal parentheses ------------------------------------------------

a, b, c = ast.Name("a"), ast.Name("b"), ast.Name("c")
one, two = ast.Int(1), ast.Int(2)


def chain(*parts: ast.Expr) -> ast.Chain:
    return ast.Chain(parts[0], parts[1:])


@pytest.mark.parametrize(
    ("tree", "text"),
    [
        (ast.Binary("*", ast.Binary("+", a, b), c), "(a + b) * c"),
        (ast.Binary("-", a, ast.Binary("-", b, c)), "a - (b - c)"),
        (ast.Binary("-", ast.Binary("-", a, b), c), "a - b - c"),
        (ast.Binary("**", two, ast.Binary("**", one, two)), "2 ** 1 ** 2"),
        (ast.Binary("**", ast.Binary("**", two, one), two), "(2 ** 1) ** 2"),
        (ast.Binary("**", ast.Unary("-", two), two), "(-2) ** 2"),
        (ast.Unary("-", ast.Binary("**", two, two)), "-2 ** 2"),
        (ast.Binary("**", two, ast.Unary("-", one)), "2 ** -1"),
        (ast.Unary("-", ast.Unary("-", one)), "--1"),
        (ast.Unary("-", ast.Binary("*", a, b)), "-(a * b)"),
        (ast.Unary("not", ast.Logic("and", a, b)), "not (a and b)"),
        (ast.Logic("and", ast.Logic("or", a, b), c), "(a or b) and c"),
        (ast.Logic("or", a, ast.Logic("and", b, c)), "a or b and c"),
        (ast.Compare("==", ast.Compare("<", a, b), c), "(a < b) == c"),
        (ast.Compare("<", ast.Binary("+", a, one), b), "a + 1 < b"),
        (chain(a, ast.Named(chain(b, c), ast.Ident("l"))), "a -> (b -> c) as l"),
        (chain(a, chain(b, c)), "a -> (b -> c)"),
        (chain(ast.Cond(a, b, c), one), "(if a then b else c) -> 1"),
        (chain(a, ast.Cond(a, b, c)), "a -> (if a then b else c)"),
        (ast.Cond(a, b, chain(c, one)), "if a then b else c -> 1"),
        (ast.Attribute(ast.Named(a, ast.Ident("n")), ast.Ident("w")), "(a as n).w"),
        (ast.Index(ast.Binary("+", a, b), one), "(a + b)[1]"),
        (ast.Call(chain(a, b), (ast.Arg(None, c),)), "(a -> b)(c)"),
        (ast.Call(ast.Call(a, ()), (ast.Arg(ast.Ident("k"), one),)), "a()(k=1)"),
        (ast.Named(ast.Binary("*", a, two), ast.Ident("s")), "a * 2 as s"),
        (ast.TupleExpr((ast.Float(0.5),)), "(0.5,)"),
        (ast.Float(float("inf")), "1e999"),
        (ast.Str('a"b\\c\nd\te'), '"a\\"b\\\\c\\nd\\te"'),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_minimal_parentheses(tree: ast.Expr, text: str) -> None:
    module = ast.Module((ast.Assign((ast.Ident("v"),), tree),))
    assert format_module(module) == f"v = {text}\n"
    assert parse(SourceFile("t.arch", f"v = {text}\n")).items[0] == module.items[0]


def test_number_spelling_takes_no_part_in_equality() -> None:
    parsed = parse(SourceFile("t.arch", "v = [50_257, 1e-5, 3E4]\n")).items[0]
    spelled = ast.ListExpr((ast.Int(50257), ast.Float(1e-05), ast.Float(30000.0)))
    assert parsed == ast.Assign((ast.Ident("v"),), spelled)
    assert format_module(ast.Module((parsed,))) == "v = [50_257, 1e-5, 3E4]\n"
    assert format_module(ast.Module((ast.Assign((ast.Ident("v"),), spelled),))) == (
        "v = [50257, 1e-05, 30000.0]\n"
    )


def test_tree_built_by_hand() -> None:
    body = (
        ast.Input(ast.Ident("x"), None),
        ast.Output(None, chain(ast.Name("x"), ast.Name("relu"))),
    )
    block = ast.Definition("block", ast.Ident("B"), (ast.Param(ast.Ident("c"), one),), ())
    network = ast.Definition("network", ast.Ident("N"), (), body)
    module = ast.Module((ast.Use(ast.Str("a.arch")), network, block))
    expected = 'use "a.arch"\n\nnetwork N {\n    in x\n    out x -> relu\n}\n\nblock B(c=1) {}\n'
    assert format_module(module) == expected


def test_empty_file_stays_empty() -> None:
    assert formatted("") == ""
    assert formatted("\n\n  \n") == ""


# --- random specs --------------------------------------------------------------------------------

NAMES = ["x", "relu", "conv2d", "_b2", "a_rather_long_layer_name_to_force_line_breaks"]
QUOTED_NAMES = st.sampled_from(["block", "0", "block1-0", 'a"b', "x"])
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or"]
CONTINUES_AFTER = {*OPERATORS, "->", "=", ",", ":", "(", "[", ".", "not", "if", "then", "else"}
CONTINUES_BEFORE = {"->", "then", "else", "as"}
Tokens = list[str]


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _wrap(tokens: Tokens) -> Tokens:
    """Parenthesise every compound operand: always valid, and the formatter drops the extras."""
    return tokens if len(tokens) == 1 else ["(", *tokens, ")"]


def _joined(items: list[Tokens], separator: str = ",", trailing: bool = False) -> Tokens:
    out = [token for i, item in enumerate(items) for token in ([separator] if i else []) + item]
    return [*out, separator] if trailing and items else out


ATOMS = st.one_of(
    st.sampled_from(NAMES).map(lambda name: [name]),
    st.sampled_from(["0", "7", "1_000", "0.5", "2.50", "1e-5", "3E2", "true", "none"]).map(
        lambda lit: [lit]
    ),
    st.text(alphabet='a "\\\n\t', max_size=4).map(lambda s: [_string(s)]),
)


def _compound(sub: st.SearchStrategy[Tokens]) -> st.SearchStrategy[Tokens]:
    name = st.sampled_from(NAMES)
    arg = st.tuples(st.none() | name, sub).map(lambda t: [t[0], "=", *t[1]] if t[0] else t[1])
    return st.one_of(
        st.tuples(st.sampled_from(["-", "+", "not"]), sub).map(lambda t: [t[0], *t[1]]),
        st.tuples(sub, st.sampled_from(OPERATORS), sub).map(lambda t: [*t[0], t[1], *t[2]]),
        st.lists(sub, min_size=2, max_size=5).map(lambda items: _joined(items, "->")),
        st.tuples(sub, name).map(lambda t: [*t[0], "as", t[1]]),
        st.tuples(sub, QUOTED_NAMES).map(lambda t: [*t[0], "as", _string(t[1])]),
        st.tuples(sub, sub, sub).map(lambda t: ["if", *t[0], "then", *t[1], "else", *t[2]]),
        st.tuples(name, st.lists(arg, max_size=4), st.booleans()).map(
            lambda t: [t[0], "(", *_joined(t[1], trailing=t[2]), ")"]
        ),
        st.tuples(sub, name).map(lambda t: [*t[0], ".", t[1]]),
        st.tuples(sub, sub).map(lambda t: [*t[0], "[", *t[1], "]"]),
        st.tuples(sub, st.lists(sub, max_size=2), st.booleans()).map(
            lambda t: ["(", *_joined([t[0], *t[1]], trailing=t[2] or not t[1]), ")"]
        ),
        st.tuples(st.lists(sub, max_size=3), st.booleans()).map(
            lambda t: ["[", *_joined(t[0], trailing=t[1]), "]"]
        ),
    )


EXPRESSIONS = st.recursive(ATOMS, lambda sub: _compound(sub.map(_wrap)), max_leaves=10)


def _header(params: list[tuple[str, Tokens | None]], trailing: bool) -> Tokens:
    joined = _joined(
        [[name, "=", *default] if default else [name] for name, default in params],
        trailing=trailing,
    )
    return ["block", "B", *(["(", *joined, ")"] if params else []), "{"]


HEADERS = st.tuples(
    st.lists(st.tuples(st.sampled_from(NAMES), st.none() | EXPRESSIONS), max_size=4), st.booleans()
).map(lambda t: _header(*t))


def _statements(top: bool) -> st.SearchStrategy[Tokens]:
    name, expr = st.sampled_from(NAMES), EXPRESSIONS
    path = st.sampled_from([["conv2d", ".", "weight"], ["layers", ".", "0"], ['"b*.weight"']])
    kwargs = st.lists(st.tuples(name, expr).map(lambda t: [t[0], "=", *t[1]]), min_size=1)
    common = [
        st.tuples(name, expr).map(lambda t: [t[0], "=", *t[1]]),
        st.tuples(name, name, expr).map(lambda t: [t[0], ",", t[1], "=", *t[2]]),
        st.tuples(path, expr).map(lambda t: ["init", *t[0], ":", *t[1]]),
        st.tuples(path, kwargs).map(lambda t: ["init", *t[0], ":", *_joined(t[1])]),
    ]
    if top:
        return st.one_of(*common, st.just(["use", '"lib/std.arch"']))
    dims = st.lists(expr, max_size=3).map(lambda d: [":", "int64", "[", *_joined(d), "]"])
    return st.one_of(
        *common,
        st.tuples(name, st.just([]) | dims).map(lambda t: ["in", t[0], *t[1]]),
        st.tuples(st.just([]) | name.map(lambda n: [n, "="]), expr).map(
            lambda t: ["out", *t[0], *t[1]]
        ),
        st.just(["tie", "head", ".", "weight", "=", "embed", ".", "weight"]),
        st.tuples(expr, st.booleans()).map(
            lambda t: ["assert", *t[0], *([",", '"msg"'] if t[1] else [])]
        ),
    )


class SpecWriter:
    """Joins tokens into a spec with random spacing, line breaks, blank lines and comments."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.count = 0  # comments are numbered, so a reordering shows

    def pick(self, choices: list[str]) -> str:
        """One of ``choices``, its `#` (if any) replaced by a fresh, numbered comment."""
        choice = self.data.draw(st.sampled_from(choices))
        if "#" in choice:
            self.count += 1
            tail = self.data.draw(st.sampled_from(["", "  ", " {x} -> (y"]))
            choice = choice.replace("#", f"# c{self.count}{tail}")
        return choice

    def gap(self, before: str, after: str, depth: int) -> str:
        can_break = depth > 0 or before in CONTINUES_AFTER or after in CONTINUES_BEFORE
        breaks = ["\n  ", "  #\n", "\n#\n "] if can_break else []
        return self.pick([" ", " ", "  ", "\t", *breaks])

    def line(self, tokens: Tokens) -> str:
        depth, out = 0, [tokens[0]]
        for before, after in itertools.pairwise(tokens):
            depth += (before in "([") - (before in ")]")
            out += [self.gap(before, after, depth), after]
        return "".join(out) + self.pick(["\n", "  #\n"])

    def between(self) -> str:
        return self.pick(["", "", "\n", "\n\n \n", "#\n", "\n  #\n"])

    def spec(self) -> str:
        parts = []
        for _ in range(self.data.draw(st.integers(1, 4))):
            parts.append(self.between())
            if self.data.draw(st.booleans()):
                parts.append(self.line(self.data.draw(_statements(top=True))))
                continue
            parts.append(self.line(self.data.draw(HEADERS)))
            for _ in range(self.data.draw(st.integers(0, 3))):
                parts += [self.between(), self.line(self.data.draw(_statements(top=False)))]
            parts += [self.between(), self.line(["}"])]
        return "".join(parts) + self.between()


@given(st.data())
def test_random_specs_format_stably(data: st.DataObject) -> None:
    assert_canonical(SpecWriter(data).spec())


# --- the repository stays canonical --------------------------------------------------------------


def repository_specs() -> list[Path]:
    # NOTE: syntax-error cases, and the fuzzers' broken inputs, cannot be formatted
    skipped = [ROOT / "tests" / "diagnostics", ROOT / "tests" / "fuzz"]
    skipped += [ROOT / ".venv", ROOT / ".git"]
    return sorted(
        path
        for path in ROOT.rglob("*.arch")
        if not any(path.is_relative_to(s) for s in skipped)
        and not (path.parent == FIXTURES / "pairs" and path.name.endswith(".in.arch"))
    )


def test_repository_specs_are_formatted(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(p) for p in repository_specs()]
    assert str(ROOT / "specs" / "resnet18.arch") in paths
    assert cli.main(["fmt", "--check", *paths]) == 0, capsys.readouterr().err


# --- the command line ----------------------------------------------------------------------------

MESSY = "network N{in x\nout  x->relu}\n"
TIDY = "network N {\n    in x\n    out x -> relu\n}\n"


@pytest.fixture
def specs(tmp_path: Path) -> tuple[Path, Path]:
    messy, tidy = tmp_path / "messy.arch", tmp_path / "tidy.arch"
    messy.write_text(MESSY, encoding="utf-8")
    tidy.write_text(TIDY, encoding="utf-8")
    return messy, tidy


def test_cli_check(specs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    messy, tidy = specs
    assert cli.main(["fmt", "--check", str(tidy)]) == 0
    assert capsys.readouterr() == ("", "1 file already formatted\n")
    assert cli.main(["fmt", "--check", str(messy), str(tidy)]) == 1
    out, err = capsys.readouterr()
    assert err == f"would reformat {messy}\n" and out == ""
    assert messy.read_text(encoding="utf-8") == MESSY


def test_cli_diff(specs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    messy, tidy = specs
    assert cli.main(["fmt", "--diff", str(tidy)]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["fmt", "--diff", str(messy)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"--- {messy}\n+++ {messy} (formatted)\n@@")
    assert "-network N{in x\n" in out and "+    out x -> relu\n" in out
    assert messy.read_text(encoding="utf-8") == MESSY


def test_cli_rewrites_in_place(specs: tuple[Path, Path]) -> None:
    messy, tidy = specs
    tidy.chmod(0o640)
    before = tidy.stat().st_mtime_ns
    messy.chmod(0o640)
    assert cli.main(["fmt", str(messy), str(tidy)]) == 0
    assert messy.read_text(encoding="utf-8") == TIDY
    assert messy.stat().st_mode & 0o777 == 0o640
    assert tidy.stat().st_mtime_ns == before
    assert sorted(p.name for p in messy.parent.iterdir()) == ["messy.arch", "tidy.arch"]


def test_cli_fixes_line_ends_and_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "crlf.arch"
    path.write_bytes(b"\xef\xbb\xbfnetwork N {\r\n    in x\r\n    out x\r\n}\r\n")
    assert cli.main(["fmt", "--check", str(path)]) == 1
    assert cli.main(["fmt", str(path)]) == 0
    assert path.read_bytes() == b"network N {\n    in x\n    out x\n}\n"


def test_cli_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.arch"
    broken.write_text("network N {\n    x = (1 +\n}\n", encoding="utf-8")
    assert cli.main(["fmt", str(broken)]) == 1
    assert "error[A1" in capsys.readouterr().err
    assert broken.read_text(encoding="utf-8") == "network N {\n    x = (1 +\n}\n"


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fmt", str(tmp_path / "nope.arch")]) == 2
    assert "no such file" in capsys.readouterr().err
