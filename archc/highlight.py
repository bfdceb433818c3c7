"""A Pygments lexer for `.arch` specs, registered as `arch` (``pygmentize -l arch spec.arch``).

Op names come from the op registry, so a new layer kind is highlighted as soon as it exists;
the built-in functions of layers (`residual`, `shared`, ...) look like ops.
Pygments is an optional dependency: only this module imports it.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, this, using, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from archc.ops.registry import names
from archc.semantics.expressions import LAYER_FUNCTIONS

# The element types an input may name before its shape (`int64[T]`).
DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "bool")
# The number grammar of grammars/arch.lark: single underscores between digits.
_DIGITS = r"[0-9](?:_?[0-9])*"


class ArchLexer(RegexLexer):
    """Lexer for archc's `.arch` neural-network architecture specs."""

    name = "archc"
    aliases: ClassVar[list[str]] = ["arch"]
    filenames: ClassVar[list[str]] = ["*.arch"]
    mimetypes: ClassVar[list[str]] = ["text/x-arch"]

    tokens: ClassVar[dict[str, list]] = {  # type: ignore[type-arg]
        "root": [
            (r"[ \t\f]+|\n", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"', String.Double, "string"),
            (
                r"(block|network)([ \t]+)([A-Za-z_][A-Za-z_0-9]*)",
                bygroups(Keyword.Declaration, Whitespace, Name.Class),
            ),
            # a naming pattern, `as layer{i + 1}`: a name (even a CamelCase one) around braces
            # whose inside is lexed as code
            (
                r"(as)([ \t]+)([A-Za-z_][A-Za-z_0-9]*)(\{)([^}\n]*)(\})([A-Za-z_0-9]*)",
                bygroups(
                    Keyword.Reserved,
                    Whitespace,
                    Name,
                    Punctuation,
                    using(this),
                    Punctuation,
                    Name,
                ),
            ),
            (
                r"(fn)([ \t]+)([A-Za-z_][A-Za-z_0-9]*)",
                bygroups(Keyword.Declaration, Whitespace, Name.Function),
            ),
            (words(("true", "false", "none"), suffix=r"\b"), Keyword.Constant),
            (words(("and", "or", "not"), suffix=r"\b"), Operator.Word),
            (words(("if", "then", "else", "assert"), suffix=r"\b"), Keyword),
            (words(("use", "in", "out", "init", "tie", "as"), suffix=r"\b"), Keyword.Reserved),
            (words(DTYPES, suffix=r"\b(?=[ \t]*\[)"), Keyword.Type),
            (words(tuple(names()), prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (words(LAYER_FUNCTIONS, prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (r"[A-Za-z_][A-Za-z_0-9]*(?=[ \t]*=(?!=))", Name.Variable),
            (r"[A-Z][A-Za-z_0-9]*[a-z][A-Za-z_0-9]*", Name.Class),  # CamelCase: a block
            (r"[A-Za-z_][A-Za-z_0-9]*", Name),
            (rf"{_DIGITS}(?:\.{_DIGITS}(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)", Number.Float),
            (_DIGITS, Number.Integer),
            (r"->|\*\*|//|==|!=|<=|>=|[-+*/%<>=]", Operator),
            (r"[()\[\]{},:.]", Punctuation),
        ],
        "string": [
            (r'\\["\\nt]', String.Escape),
            (r'[^"\\\n]+', String.Double),
            (r'"', String.Double, "#pop"),
        ],
    }
