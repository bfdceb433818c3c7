"""Damaged real specs, and raw bytes.

The mutator starts from a spec of the repository (every `.arch` under `specs/` and
`tests/golden/`), or one the valid writer has just written, and deletes, duplicates or swaps tokens, turns numbers into 0, -1 or huge
values, renames, truncates anywhere and inserts random bytes: inputs that are almost right,
which reach much deeper into the compiler than noise does.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from tests.fuzz.choices import Choices, pick

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIRECTORIES = (ROOT / "specs", ROOT / "tests" / "golden")

# A token is anything the lexer would see as one piece; together they spell the text exactly.
TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z_]\w*'
    r"|[ \t]+|\n|->|//|\*\*|==|!=|<=|>=|.",
    re.DOTALL,
)
NUMBER = re.compile(r"\d")
NAME = re.compile(r"[A-Za-z_]")
STRANGE_NUMBERS = ("0", "-1", "1", "10 ** 12", "1000000000000", "2 ** 40 + 1", "9" * 400, "1.5")
# Words and symbols that make a token soup look like a spec to the parser.
VOCABULARY = (
    "network", "block", "in", "out", "use", "init", "tie", "assert", "if", "then", "else",
    "as", "and", "or", "not", "true", "false", "none", "x", "y", "N", "T", "H", "W",
    "conv2d", "linear", "relu", "dense", "residual", "concat", "attention", "lstm",
    "embedding", "flatten", "maxpool2d", "batchnorm2d", "int64", "(", ")", "[", "]", "{", "}",
    ",", ":", ".", "=", "->", "+", "-", "*", "/", "//", "%", "**", "==", "<", "\n", " ", "0",
    "1", "3", "64", "2.5", "1e-5", '"a"', '"blocks/mlp.arch"', "#",
    "fn", "shared", "buffer", "arange", "lookup", "positions", "parameter", "topk", "gather",
    "scatter_add", "one_hot", "moe", "where", "masked_fill", "tril", "cumsum", "exp", "log",
    "clamp", "i", "{i}", "-inf", "exact=true", "frozen=true", "kv_heads=", "causal=true",
    "window=", "alibi=true", "rotary=true", "layout=", '"fused"', '"linears"', "h0=", "c0=",
    "return_state=true", "mask=", "dim=", "bool", "unflatten", "split", "<=", ">",
)  # fmt: skip


@cache
def corpus() -> tuple[Path, ...]:
    """The real specs the mutator starts from."""
    return tuple(sorted(p for d in CORPUS_DIRECTORIES for p in d.rglob("*.arch")))


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def mutate(text: str, choices: Choices) -> bytes:
    """``text`` with one to four mutations applied."""
    pieces = tokens(text)
    for _ in range(choices.integer(1, 4)):
        if not pieces:
            break
        kind = choices.integer(0, 6)
        at = choices.integer(0, len(pieces) - 1)
        if kind == 0:
            del pieces[at]
        elif kind == 1:
            pieces.insert(at, pieces[at])
        elif kind == 2:
            other = choices.integer(0, len(pieces) - 1)
            pieces[at], pieces[other] = pieces[other], pieces[at]
        elif kind == 3:
            numbers = [i for i, p in enumerate(pieces) if NUMBER.match(p)] or [at]
            pieces[pick(choices, numbers)] = pick(choices, STRANGE_NUMBERS)
        elif kind == 4:
            names = [p for p in pieces if NAME.match(p)] or ["x"]
            pieces[at] = pick(choices, names)
        elif kind == 5:
            pieces.insert(at, pick(choices, VOCABULARY))
        else:
            del pieces[at : at + choices.integer(1, 20)]
    data = "".join(pieces).encode("utf-8")
    # the byte-level damage comes last, so that it can split a character or a token
    if choices.integer(0, 3) == 0:
        data = data[: choices.integer(0, len(data))]
    if choices.integer(0, 3) == 0:
        at = choices.integer(0, len(data))
        data = data[:at] + choices.raw(choices.integer(1, 8)) + data[at:]
    return data


def raw_input(choices: Choices) -> bytes:
    """Random bytes, or a random soup of the language's tokens."""
    if choices.integer(0, 1) == 0:
        return choices.raw(choices.integer(0, 512))
    return "".join(pick(choices, VOCABULARY) for _ in range(choices.integer(0, 200))).encode()
