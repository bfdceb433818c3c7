"""Finds `arch.lark` and builds its LALR parsers, the plain one once per process."""

from __future__ import annotations

import functools
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lark is imported where a parser is built: a cached parse needs none
    from lark import Lark, Token
    from lark.visitors import Transformer

GRAMMAR_NAME = "arch.lark"


def grammar_text() -> str:
    """The grammar: package data in an installed wheel, `grammars/` in a source checkout."""
    packaged = resources.files("archc").joinpath(GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "grammars" / GRAMMAR_NAME
    return checkout.read_text(encoding="utf-8")


# The comments met by the lexer during the current parse (the formatter keeps them).
comments: ContextVar[list[Token]] = ContextVar("comments")


def collect_comment(token: Token) -> Token:
    comments.get().append(token)
    return token


def lalr_parser(transformer: Transformer | None = None) -> Lark:
    """A new LALR parser for the grammar, running ``transformer`` as it reduces each rule
    where one is given. The parser that builds the AST and the plain one the syntax-error
    catalogue reads states from are both made here, so their tables are the same."""
    # NOTE: the basic lexer (not the contextual one) keeps keywords keywords everywhere, so
    # `x = in` is a syntax error rather than a reference to a variable called `in`.
    from lark import Lark

    from archc.syntax.layout import Layout

    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="basic",
        postlex=Layout(),
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": collect_comment},
        transformer=transformer,
        cache=True,
    )


@functools.cache
def parser() -> Lark:
    """The plain parser, which builds parse trees."""
    return lalr_parser()


@functools.cache
def keywords() -> frozenset[str]:
    """The reserved words of the grammar, read from its terminals."""
    from lark.lexer import PatternStr

    words = (t.pattern.value for t in parser().terminals if isinstance(t.pattern, PatternStr))
    return frozenset(w for w in words if w.isalpha())


def is_name(word: str) -> bool:
    """Whether the grammar reads ``word`` as a name (`NAME` in arch.lark), not a keyword."""
    return word.isidentifier() and word.isascii() and word not in keywords()
