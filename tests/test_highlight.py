"""Syntax highlighting: the Pygments lexer and the VS Code (TextMate) grammar, on every spec.

The TextMate grammar is checked with a small matcher that applies its patterns the way an
editor does (per line, the earliest match wins, ties to the first pattern listed), and its
tokens are compared with the Pygments lexer's: both must see the same keywords, ops, numbers,
strings and comments.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from typing import Any

import pytest

pytest.importorskip("pygments")

from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    _TokenType,
)

from archc.highlight import ArchLexer
from archc.ops.registry import names
from tests.conftest import ROOT

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "arch.tmLanguage.json"
# Deliberately broken specs: unterminated strings, stray characters.
# Specs broken on purpose: syntax errors, and a used file that is not text.
BROKEN = ("tests/diagnostics/syntax/", "tests/diagnostics/semantic/use_binary_file/")
# Oniguruma syntax Python's `re` lacks; a pattern using it is left to the editor.
ONIGURUMA_ONLY = (r"\G", r"\h", r"\H", r"\K", "(?~", r"\p{")
# Which TextMate scope each kind of Pygments token must get.
SCOPES: list[tuple[_TokenType, str]] = [
    (Comment, "comment."),
    (String, "string."),
    (Number, "constant.numeric."),
    (Keyword.Constant, "constant.language."),
    (Keyword.Declaration, "storage.type.definition."),
    (Keyword.Type, "storage.type.dtype."),
    (Keyword, "keyword."),
    (Operator.Word, "keyword.operator.logical."),
    (Name.Builtin, "support.function.op."),
]


def specs() -> list[str]:
    """Every spec in the repository, tracked or not yet tracked."""
    found = set()
    for extra in ([], ["--others", "--exclude-standard"]):
        command = ["git", "ls-files", *extra, "*.arch"]
        listed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        found |= set(listed.stdout.split())
    return sorted(path for path in found if not path.startswith(BROKEN))


def read(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8").replace("\r\n", "\n")


# --- Pygments ------------------------------------------------------------------------------------


def test_every_spec_lexes_without_errors() -> None:
    lexer = ArchLexer()
    failures = {
        path: [value for token, value in lexer.get_tokens(read(path)) if token in Error][:5]
        for path in specs()
    }
    assert len(failures) > 20, "the specs were not found"
    assert {path: bad for path, bad in failures.items() if bad} == {}


def test_tokens_of_a_spec() -> None:
    text = 'network Net(p=0.1) {\n    in t: int64[T]  # ids\n    out t -> embedding(10, 1_000) as e if not true else "a\\n"\n}\n'
    tokens = [(token, value) for token, value in ArchLexer().get_tokens(text) if value.strip()]
    expected = {
        "network": Keyword.Declaration,
        "Net": Name.Class,
        "p": Name.Variable,
        "0.1": Number.Float,
        "in": Keyword.Reserved,
        "int64": Keyword.Type,
        "T": Name,
        "# ids": Comment.Single,
        "->": Operator,
        "embedding": Name.Builtin,
        "1_000": Number.Integer,
        "not": Operator.Word,
        "true": Keyword.Constant,
        "\\n": String.Escape,
    }
    assert {value: token for token, value in tokens if value in expected} == expected


def test_tokens_of_a_naming_pattern() -> None:
    text = "x = y -> Stage(2) * 3 as Stage{2 * i + 1}_out\n"
    tokens = [(token, value) for token, value in ArchLexer().get_tokens(text) if value.strip()]
    assert tokens[-10:] == [
        (Keyword.Reserved, "as"),
        (Name, "Stage"),  # a name, though CamelCase like a block
        (Punctuation, "{"),
        (Number.Integer, "2"),
        (Operator, "*"),
        (Name, "i"),
        (Operator, "+"),
        (Number.Integer, "1"),
        (Punctuation, "}"),
        (Name, "_out"),
    ]


def test_the_lexer_is_registered_as_arch() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entry = project["project"]["entry-points"]["pygments.lexers"]["arch"]
    assert entry == f"{ArchLexer.__module__}:{ArchLexer.__name__}"
    installed = [e for e in metadata.entry_points(group="pygments.lexers") if e.name == "arch"]
    if not installed:
        pytest.skip("archc is installed without its entry points; reinstall it")
    from pygments.lexers import get_lexer_by_name

    assert isinstance(get_lexer_by_name("arch"), ArchLexer)


# --- TextMate ------------------------------------------------------------------------------------


@cache
def grammar() -> dict[str, Any]:
    return json.loads(GRAMMAR.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def flatten(pattern: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The `match` patterns a pattern stands for, includes and nested lists resolved, in order."""
    if "include" in pattern:
        yield from flatten(grammar()["repository"][pattern["include"].lstrip("#")])
    elif "match" in pattern:
        yield pattern
    else:
        for inner in pattern.get("patterns", []):
            yield from flatten(inner)


@cache
def compiled() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    patterns = [p for top in grammar()["patterns"] for p in flatten(top)]
    return [
        (re.compile(p["match"]), p)
        for p in patterns
        if not any(o in p["match"] for o in ONIGURUMA_ONLY)
    ]


def scopes(line: str) -> list[tuple[int, int, str]]:
    """The scopes the grammar gives a line: (start, end, scope) for each match and capture."""
    found = []
    position = 0
    while position < len(line):
        matches = [(regex.search(line, position), p) for regex, p in compiled()]
        hits = [(m, p) for m, p in matches if m is not None and m.end() > m.start()]
        if not hits:
            break
        match, pattern = min(hits, key=lambda hit: hit[0].start())  # the first listed on ties
        for group, capture in pattern.get("captures", {}).items():
            if match.group(int(group)) is not None:
                found.append((match.start(int(group)), match.end(int(group)), capture["name"]))
        if "name" in pattern:
            found.append((match.start(), match.end(), pattern["name"]))
        position = match.end()
    return found


def test_the_grammar_is_json_whose_patterns_compile() -> None:
    patterns = [p for top in grammar()["patterns"] for p in flatten(top)]
    assert grammar()["scopeName"] == "source.arch" and len(patterns) > 10
    assert len(compiled()) == len(patterns)  # none needs Oniguruma


def test_the_grammar_knows_every_op() -> None:
    op = grammar()["repository"]["op"]["match"]
    expected = r"\b(?:" + "|".join(names()) + r")\b"
    assert op == expected, f"update the `op` pattern of {GRAMMAR.name} to {json.dumps(expected)}"


def test_the_grammar_knows_every_function_of_layers() -> None:
    from archc.semantics.expressions import LAYER_FUNCTIONS

    match = grammar()["repository"]["layer-function"]["match"]
    assert match == r"\b(?:" + "|".join(LAYER_FUNCTIONS) + r")\b"
    tokens = list(ArchLexer().get_tokens("encoder = shared(Encoder(64))\n"))
    assert (Name.Builtin, "shared") in tokens


def test_the_grammar_agrees_with_the_lexer_on_every_spec() -> None:
    lexer = ArchLexer()
    disagreements = []
    for path in specs():
        text = read(path)
        lines = [scopes(line) for line in text.split("\n")]
        starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        for offset, token, value in lexer.get_tokens_unprocessed(text):
            wanted = next((scope for kind, scope in SCOPES if token in kind), None)
            if wanted is None or not value.strip():
                continue
            line = next(i for i in range(len(starts) - 1, -1, -1) if starts[i] <= offset)
            column = offset - starts[line]
            # the grammar's token must cover the lexer's whole token
            got = [
                s for start, end, s in lines[line] if start <= column < column + len(value) <= end
            ]
            if not any(s.startswith(wanted) for s in got):
                disagreements.append(
                    f"{path}:{line + 1}:{column + 1}: {value!r} {got} != {wanted}"
                )
    assert disagreements == []


def test_the_vscode_extension_declares_the_language_and_starts_the_server() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    assert language["id"] == "arch" and language["extensions"] == [".arch"]
    (contributed,) = manifest["contributes"]["grammars"]
    assert (VSCODE / contributed["path"]).resolve() == GRAMMAR.resolve()
    assert contributed["scopeName"] == grammar()["scopeName"]
    configuration = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert configuration["comments"] == {"lineComment": "#"}
    assert {tuple(pair) for pair in configuration["brackets"]} == {
        ("{", "}"),
        ("[", "]"),
        ("(", ")"),
    }
    command = manifest["contributes"]["configuration"]["properties"]["archc.server.command"]
    assert command["default"] == ["archc", "lsp"]
    assert "vscode-languageclient" in manifest["dependencies"]
    # `main` is the bundle `npm run bundle` makes of extension.js (tests/test_editors.py)
    assert (VSCODE / "extension.js").is_file()
