"""The catalogue of common syntax mistakes, as data.

Each :class:`Mistake` has a stable code, a message, a caret label and a help line. Messages are
``string.Template`` texts: ``$word``, ``$op``, ``$name`` and the like are filled in from what the
parser found (see archc/syntax/catalogue.py, which decides which mistake an error is). A mistake
with ``examples`` is recognised by parser state, the way Lark's ``match_examples`` does it: an
error that leaves the parser in the same state as one of the snippets, on the same kind of token,
is that mistake. The others are recognised by rules that look at the tokens around the error
(archc/syntax/mistake_rules.py).

Codes are never reused: a retired mistake keeps its code out of circulation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    """A common syntax mistake and its wording.

    ``other`` labels the secondary span, where a rule supplies one (the `(` that is never
    closed). With ``any_token`` a parser state match is enough; otherwise the unexpected token
    must also be of the same kind as in the example.
    """

    code: str
    message: str
    label: str
    help: str
    examples: tuple[str, ...] = ()
    other: str = ""
    any_token: bool = False


# Brackets and bodies.
_BRACKETS = (
    Mistake(
        "A110",
        "missing `)` to close the `(` on line $line",
        "expected `)` here",
        "end the argument list or bracketed expression with `)`",
        other="unclosed `(`",
    ),
    Mistake(
        "A112",
        "missing `]` to close the `[` on line $line",
        "expected `]` here",
        "end the list or shape with `]`",
        other="unclosed `[`",
    ),
    Mistake(
        "A113",
        "missing `}` to close the body of $name",
        "expected `}` here",
        "end the body with `}` on a line of its own",
        other="body opened here",
    ),
    Mistake(
        "A114",
        "unmatched `$found`",
        "nothing to close here",
        "remove it, or add the `$opener` it was meant to close",
    ),
    Mistake(
        "A115",
        "`$found` does not match the `$opener` on line $line",
        "expected `$closer`",
        "close `$opener` with `$closer`",
        other="opened here",
    ),
    Mistake(
        "A152",
        "the body of $name ends too early",
        "this `}` ends the body",
        "remove this `}`, or move the statements after it into a body",
    ),
    Mistake(
        "A153",
        "the argument list ends too early",
        "this `)` ends it",
        "remove this `)`; the arguments go on after it",
    ),
    Mistake(
        "A145",
        "missing `,` between $items",
        "expected `,` before this",
        "separate the $items with `,`",
    ),
)

# `=` and `:` mixed up.
_PUNCTUATION = (
    Mistake(
        "A116",
        "the shape of an input follows `:`, not `=`",
        "expected `:`",
        "write `in image: [3, 224, 224]`",
        examples=("network N {\n  in x = [3]\n}\n",),
    ),
    Mistake(
        "A117",
        "an `init` rule follows `:`, not `=`",
        "expected `:`",
        "write `init conv2d.weight: kaiming_normal()`",
        examples=("init conv2d.weight = kaiming_normal()\n", 'init "fc*" = zeros\n'),
    ),
    Mistake(
        "A118",
        "a value is named with `=`, not `:`",
        "expected `=`",
        "write `$previous = ...`",
        examples=("x: f(1)\n", "network N {\n  x: f(1)\n}\n"),
    ),
    Mistake(
        "A119",
        "keyword arguments are given with `=`, not `:`",
        "expected `=`",
        "write `$previous=...`",
        examples=("x = f(a: 1)\n",),
    ),
    Mistake(
        "A124",
        "`:=` is not an operator",
        "expected `=`",
        "name a value with `=`, as in `$previous = ...`",
    ),
    Mistake(
        "A123",
        "there is no `$op=` operator",
        "values cannot be updated in place",
        "write `$previous = $previous $op ...`",
    ),
    Mistake(
        "A125",
        "a body starts with `{`, not `:`",
        "expected `{`",
        "put `{` at the end of the header and `}` after the body",
    ),
    Mistake(
        "A146",
        "the shape of an input is written in square brackets",
        "expected `[`",
        "write `in image: [3, 224, 224]`",
        examples=("network N {\n  in x: (3, 32)\n}\n",),
    ),
    Mistake(
        "A130",
        "empty argument",
        "expected a value before this `,`",
        "remove the extra `,` or write the missing value",
        examples=("x = f(1,,2)\n", "x = f(,2)\n", "x = [1,,2]\n", "x = [,2]\n", "x = (1,,2)\n"),
    ),
)

# Definitions and statements.
_STATEMENTS = (
    Mistake(
        "A126",
        "missing name after `$previous`",
        "expected a name here",
        "name the definition, as in `block Stem {`",
        examples=(
            "block {\n}\n",
            "block (c) {\n}\n",
            "network {\n}\n",
            "network (c) {\n}\n",
        ),
    ),
    Mistake(
        "A127",
        "the body of $name must be wrapped in `{` and `}`",
        "expected `{` here",
        "put `{` at the end of the header and `}` after the body",
    ),
    Mistake(
        "A151",
        "the `{` of $name must be on the same line as its header",
        "expected `{` here",
        "move the `{` up to the end of this line",
    ),
    Mistake(
        "A128",
        "$name has no body",
        "expected `{` here",
        "give it a body in braces: `{ ... }`",
    ),
    Mistake(
        "A143",
        "`$word` definitions cannot be nested",
        "inside the body of $name",
        "move this definition to the top level of the file",
    ),
    Mistake(
        "A142",
        "`$word` is only allowed inside the body of a `network` or `block`",
        "outside any body",
        "move it into the body of a `network` or `block`",
    ),
    Mistake(
        "A129",
        "`out` needs a value",
        "expected a value after `out`",
        "write `out y`, or `out name = y` to name the output",
        examples=("network N {\n  out\n}\n", "network N {\n  out }\n"),
        any_token=True,
    ),
    Mistake(
        "A138",
        "`tie` needs `=` between the two parameters",
        "expected `=` before this",
        "write `tie head.weight = embed.weight`",
        examples=("network N {\n  tie a.w b.w\n}\n",),
        any_token=True,
    ),
    Mistake(
        "A139",
        "`use` needs the path of a file, in double quotes",
        "expected a string",
        'write `use "blocks.arch"`',
        examples=("use blocks\n",),
        any_token=True,
    ),
    Mistake(
        "A150",
        "missing value after `=`",
        "nothing after this `=`",
        "write the value after `=`",
    ),
)

# Expressions.
_EXPRESSIONS = (
    Mistake(
        "A111",
        "missing `->` between a tensor and the layer applied to it",
        "expected `->` before this",
        "chain layers with `->`, as in `x -> relu`",
    ),
    Mistake(
        "A131",
        "`->` needs a tensor on its left",
        "nothing before this `->`",
        "start the chain with a value, as in `x -> relu`",
    ),
    Mistake(
        "A132",
        "the chain ends with `->`",
        "expected a layer after this",
        "add the layer that comes next, or remove the `->`",
    ),
    Mistake(
        "A133",
        "`$op` is missing its right operand",
        "nothing after this `$op`",
        "write the value that follows `$op`, or remove it",
    ),
    Mistake(
        "A134",
        "`$op` is missing its left operand",
        "nothing before this `$op`",
        "write the value that comes before `$op`, or remove it",
    ),
    Mistake(
        "A135",
        "missing `else` in an `if` expression",
        "expected `else` here",
        "both branches are required: `if c then a else b`",
        examples=("x = if a then b\n", "x = f(if a then b)\n", "x = [if a then b, 1]\n"),
        any_token=True,
    ),
    Mistake(
        "A136",
        "missing `then` in an `if` expression",
        "expected `then` before this",
        "write `if c then a else b`",
    ),
    Mistake(
        "A137",
        "a conditional expression starts with `if`",
        "unexpected `if`",
        "write `if c then a else b`, not `a if c else b`",
    ),
    Mistake(
        "A140",
        "comparisons cannot be chained",
        "second comparison",
        "combine them with `and`, as in `a < b and b < c`",
        examples=tuple(f"x = a {op} b {op} c\n" for op in ("<", ">", "<=", ">=", "==", "!=")),
    ),
    Mistake(
        "A141",
        "a number cannot be directly followed by a name",
        "expected an operator between `$number` and `$word`",
        "write `$number * $word` to multiply",
    ),
    Mistake(
        "A144",
        "`$word` is a keyword and cannot be used as a name",
        "keyword",
        "choose a name that is not a keyword",
    ),
    Mistake(
        "A160",
        '`$word` is a keyword; write it quoted: `as "$word"`',
        "a keyword, not a name",
        'a quoted name is the layer\'s name as written, and its state_dict key: `as "$word"`',
    ),
)

# Words and characters from other languages.
_FOREIGN = (
    Mistake(
        "A120",
        "unknown keyword `$word`",
        "not a keyword",
        "did you mean `$suggestion`?",
    ),
    Mistake(
        "A121",
        "`$word` is not a keyword in .arch specs",
        "a Python keyword",
        "$advice",
    ),
    Mistake(
        "A122",
        "strings are written in double quotes",
        "single quotes",
        "write `$fixed`",
    ),
    Mistake(
        "A147",
        "statements are not ended with `;`",
        "unexpected `;`",
        "end each statement with a newline instead",
    ),
    Mistake(
        "A148",
        "`$op` is not an operator",
        "not an operator",
        "write `$word`",
    ),
    Mistake(
        "A149",
        "comments start with `#`, not `//`",
        "`//` divides numbers",
        "write `# ...` for a comment",
    ),
)

MISTAKES: tuple[Mistake, ...] = _BRACKETS + _PUNCTUATION + _STATEMENTS + _EXPRESSIONS + _FOREIGN
BY_CODE = {mistake.code: mistake for mistake in MISTAKES}

# What to write instead of a Python keyword.
PYTHON_WORDS = {
    "def": "define a block with `block Name(params) { ... }`",
    "class": "define a network with `network Name { ... }`",
    "return": "give the result of a body with `out`, as in `out y`",
    "lambda": "define a reusable piece with `block Name(params) { ... }`",
    "import": 'include another spec with `use "file.arch"`',
    "from": 'include another spec with `use "file.arch"`',
    "elif": "write `if a then x else if b then y else z`",
    "for": "repeat a layer with `*`, as in `Block(64) * 3`",
    "while": "repeat a layer with `*`, as in `Block(64) * 3`",
    "pass": "an empty body is written `{}`",
}

# C-style operators and the word that replaces them.
C_OPERATORS = {"&&": "and", "&": "and", "||": "or", "|": "or", "!": "not"}
