"""The long explanation behind each diagnostic code: `archc explain CODE` and docs/errors.md.

Every code archc can report has an entry here: a title, a paragraph saying what went wrong and
why archc refuses it, a small spec that triggers it and the same spec fixed. The test suite checks
that every code in the source has an entry, that each runnable example reports its code and each
fix reports no error, and that docs/errors.md is this module's output. Regenerate it with::

    python -m archc.explain > docs/errors.md

>>> EXPLANATIONS["A303"].title
'channel counts differ between connected tensors'
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass

from archc.ops.registry import suggest

WIDTH = 99


@dataclass(frozen=True)
class Explanation:
    """One code's explanation. A spec example and its fix are whole files; examples that need
    several files, bytes that are not text, or a huge input are not ``runnable`` and are shown
    as a sketch (``lang`` "console" for a command line)."""

    code: str
    title: str
    text: str
    example: str
    fix: str
    runnable: bool = True
    lang: str = "arch"


def _entry(
    code: str,
    title: str,
    text: str,
    example: str,
    fix: str,
    runnable: bool = True,
    lang: str = "arch",
) -> Explanation:
    return Explanation(
        code,
        title,
        " ".join(text.split()),
        textwrap.dedent(example).lstrip("\n"),
        textwrap.dedent(fix).lstrip("\n"),
        runnable,
        lang,
    )


_SYNTAX = (
    _entry(
        "A100",
        "unexpected token",
        """The parser met a token that cannot continue the statement, and the mistake is not one
        of the common ones archc recognises by name. The message says, in words, what could have
        come next. Most often two statements share a line, or a statement stops halfway.""",
        """
        network Tiny {
            in image: [3, 32, 32] out image
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image
        }
        """,
    ),
    _entry(
        "A101",
        "unterminated string",
        """A string starts with `"` and must end with `"` on the same line; strings cannot span
        lines. The caret covers the string from its opening quote to the end of the line.""",
        """
        network Tiny(width=16) {
            in image: [3, 32, 32]
            assert width > 0, "the width must be positive
            out image -> conv2d(width, 3)
        }
        """,
        """
        network Tiny(width=16) {
            in image: [3, 32, 32]
            assert width > 0, "the width must be positive"
            out image -> conv2d(width, 3)
        }
        """,
    ),
    _entry(
        "A102",
        "the file is not valid UTF-8",
        """A spec is UTF-8 text. The file holds a byte sequence that is not UTF-8, usually because
        an editor saved it in Latin-1 or UTF-16. The message gives the first invalid byte and its
        offset; save the file as UTF-8 again.""",
        """
        $ archc check resnet_latin1.arch    # `é` in a comment saved as the single byte 0xe9
        """,
        """
        $ iconv -f latin1 -t utf-8 resnet_latin1.arch > resnet.arch
        $ archc check resnet.arch
        """,
        runnable=False,
        lang="console",
    ),
    _entry(
        "A103",
        "the file contains a NUL byte",
        """Text files never contain the byte 0, so a file that does is almost certainly not a
        spec: a checkpoint, an archive or a compiled file passed by mistake.""",
        """
        $ archc check resnet18.pth
        """,
        """
        $ archc check resnet18.arch
        """,
        runnable=False,
        lang="console",
    ),
    _entry(
        "A104",
        "the file is too large",
        """Specs are short: a whole ResNet-50 takes about 40 lines, because repeats and blocks
        describe the structure once. archc refuses files over 4 MiB instead of parsing them
        slowly; such a file is either not a spec or a generated one that should use blocks and
        `* n` repeats.""",
        """
        $ archc check model.onnx
        """,
        """
        $ archc check model.arch
        """,
        runnable=False,
        lang="console",
    ),
    _entry(
        "A105",
        "brackets are nested too deep",
        """Brackets may be nested 64 deep. Deeper nesting only comes from generated text; it would
        make the parser slow and the spec unreadable. Name intermediate values instead.""",
        """
        x = ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))
        """,
        """
        x = 1
        """,
        runnable=False,
    ),
    _entry(
        "A106",
        "expression is nested too deep",
        """An expression may nest 100 levels of operators and calls. A longer chain of operators
        is split into named values, each a readable piece of the computation.""",
        """
        total = 1 + (1 + (1 + (1 + (1 + (1 + ...)))))    # 100 levels and more
        """,
        """
        part = 1 + 1 + 1 + 1
        total = part + part + part
        """,
        runnable=False,
    ),
    _entry(
        "A107",
        "unknown escape sequence in a string",
        r"""Inside a string a backslash starts an escape. The escapes are `\"`, `\\`, `\n` and
        `\t`; any other backslash sequence is refused rather than guessed. Paths in `use` are
        written with `/` on every platform, so they never need a backslash.""",
        r"""
        network Tiny(width=16) {
            in image: [3, 32, 32]
            assert width > 0, "width \> 0 is required"
            out image -> conv2d(width, 3)
        }
        """,
        r"""
        network Tiny(width=16) {
            in image: [3, 32, 32]
            assert width > 0, "width > 0 is required"
            out image -> conv2d(width, 3)
        }
        """,
    ),
    _entry(
        "A108",
        "the file defines nothing",
        """A warning: the file holds no definitions, constants, imports or `init` rules, only
        comments and blank lines, so there is nothing to check or compile.""",
        """
        # ResNet-18, to be written.
        """,
        """
        # ResNet-18, to be written.
        network ResNet18 {
            in image: [3, 224, 224]
            out image -> conv2d(64, 7, stride=2, padding=3)
        }
        """,
    ),
    _entry(
        "A109",
        "unexpected character",
        """The character is not part of the language. Typographic characters pasted from a paper
        or a word processor are the usual cause: `→` for `->`, `×` for `*`, curly quotes for
        `"`. The help names the ASCII replacement when there is one.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image → relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A110",
        "missing `)`",
        """A `(` was opened and the statement ended before its `)`. The caret is where the `)`
        was expected and a secondary mark shows the `(` left open.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> conv2d(16, 3, padding=1
            out x -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> conv2d(16, 3, padding=1)
            out x -> relu
        }
        """,
    ),
    _entry(
        "A111",
        "missing `->` between a tensor and a layer",
        """A tensor followed directly by a layer means the `->` that applies the layer is
        missing. Layers are applied with `x -> layer`, or called on the tensor: `layer(x)`.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image conv2d(16, 3) -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3) -> relu
        }
        """,
    ),
    _entry(
        "A112",
        "missing `]`",
        """A `[` opened a list or a shape and the statement ended before its `]`.""",
        """
        network Tiny {
            in image: [3, 32, 32
            out image -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A113",
        "missing `}`",
        """The body of a block or network was opened with `{` and the file, or the next
        definition, came before its `}`.""",
        """
        block Stem(width) {
            in x
            out x -> conv2d(width, 3) -> relu
        """,
        """
        block Stem(width) {
            in x
            out x -> conv2d(width, 3) -> relu
        }
        """,
    ),
    _entry(
        "A114",
        "unmatched closing bracket",
        """A `)`, `]` or `}` appears with nothing open to close: an extra one, or the opening one
        was deleted.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3)) -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3) -> relu
        }
        """,
    ),
    _entry(
        "A115",
        "closing bracket does not match the opening one",
        """Brackets close in the reverse order they open, each with its own kind: `(` with `)`,
        `[` with `]`, `{` with `}`.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3] -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3) -> relu
        }
        """,
    ),
    _entry(
        "A116",
        "an input's shape follows `:`, not `=`",
        """`in name: [dims]` declares an input and its shape; it is a declaration, not an
        assignment, so it takes `:`.""",
        """
        network Tiny {
            in image = [3, 32, 32]
            out image -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A117",
        "an `init` rule follows `:`, not `=`",
        """`init target: scheme` says how parameters start out. It selects parameters rather than
        assigning a value, so it is written with `:`.""",
        """
        init conv2d.weight = kaiming_normal(mode="fan_out")

        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3)
        }
        """,
        """
        init conv2d.weight: kaiming_normal(mode="fan_out")

        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3)
        }
        """,
    ),
    _entry(
        "A118",
        "a value is named with `=`, not `:`",
        """`name = expr` binds a name. `:` belongs to input shapes and `init` rules; a type
        annotation in the Python style is not part of the language.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            features: image -> conv2d(16, 3)
            out features
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            features = image -> conv2d(16, 3)
            out features
        }
        """,
    ),
    _entry(
        "A119",
        "keyword arguments are given with `=`, not `:`",
        """Arguments are passed by name as `name=value`, as in Python; `:` is the dictionary
        syntax of other languages.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3, stride: 2)
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3, stride=2)
        }
        """,
    ),
    _entry(
        "A120",
        "unknown keyword",
        """A word at the start of a statement or in an `if` expression is close to a keyword
        but is not one, so it is taken for a misspelling. The help names the keyword within two
        edits of it.""",
        """
        netwrok Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A121",
        "a Python keyword is not a keyword in .arch specs",
        """A spec is data, not a Python program: there is no `def`, `class`, `return`, `import`,
        `for` or `lambda`. The help says what replaces the word: `out` for `return`, `block`
        for `def`, `use` for `import`, `* n` for a loop.""",
        """
        block Stem {
            in x
            return x -> relu
        }
        """,
        """
        block Stem {
            in x
            out x -> relu
        }
        """,
    ),
    _entry(
        "A122",
        "strings are written in double quotes",
        """Only `"` delimits strings. A single-quoted string from Python is refused, and the help
        shows it in double quotes.""",
        """
        init conv2d.weight: kaiming_normal(mode='fan_out')

        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3)
        }
        """,
        """
        init conv2d.weight: kaiming_normal(mode="fan_out")

        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3)
        }
        """,
    ),
    _entry(
        "A123",
        "there is no compound assignment",
        """`+=`, `*=` and the like update a value in place, which a spec never does. Bind the
        name again with the whole expression: `x = x + y`.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> conv2d(3, 3, padding=1)
            x += image
            out x
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> conv2d(3, 3, padding=1)
            x = x + image
            out x
        }
        """,
    ),
    _entry(
        "A124",
        "`:=` is not an operator",
        """Names are bound with `=` only; Python's assignment expression has no counterpart.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            x := image -> relu
            out x
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> relu
            out x
        }
        """,
    ),
    _entry(
        "A125",
        "a body starts with `{`, not `:`",
        """Indentation carries no meaning in a spec, so a body is delimited by braces rather than
        introduced with a colon as in Python.""",
        """
        block Stem(width):
            in x
            out x -> conv2d(width, 3)
        }
        """,
        """
        block Stem(width) {
            in x
            out x -> conv2d(width, 3)
        }
        """,
    ),
    _entry(
        "A126",
        "missing name after `block` or `network`",
        """Every definition has a name: it is how a block is used and how a network is chosen
        with `--network`, and it becomes the class name of the generated PyTorch module.""",
        """
        block (width) {
            in x
            out x -> conv2d(width, 3)
        }
        """,
        """
        block Stem(width) {
            in x
            out x -> conv2d(width, 3)
        }
        """,
    ),
    _entry(
        "A127",
        "the body must be wrapped in `{` and `}`",
        """The statements of a definition follow its header between braces; here the header is
        followed by statements without a `{`.""",
        """
        block Stem(width)
            in x
            out x -> conv2d(width, 3)
        }
        """,
        """
        block Stem(width) {
            in x
            out x -> conv2d(width, 3)
        }
        """,
    ),
    _entry(
        "A128",
        "a definition has no body",
        """A `block` or `network` header must be followed by a body in braces, even a short one.
        """,
        """
        network Tiny

        block Stem {
            in x
            out x -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> Stem
        }

        block Stem {
            in x
            out x -> relu
        }
        """,
    ),
    _entry(
        "A129",
        "`out` needs a value",
        """`out` returns a value from a body: `out y`, or `out name = y` to name the output.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> relu
            out
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> relu
            out x
        }
        """,
    ),
    _entry(
        "A130",
        "empty argument",
        """Two commas in a row, or a comma right after an opening bracket, leave out a value. A
        trailing comma before the closing bracket is allowed.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16,, 3)
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3)
        }
        """,
    ),
    _entry(
        "A131",
        "`->` needs a tensor on its left",
        """A chain starts with the value that flows into it. A line starting with `->` continues
        the statement above it, so this error means there was no statement to continue.""",
        """
        -> relu
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A132",
        "the chain ends with `->`",
        """A `->` must be followed by the layer it applies. A chain that goes on over several
        lines ends each line with `->` or starts the next one with it, but the last stage must be
        a layer.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> conv2d(16, 3) ->
            out x
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> conv2d(16, 3) -> relu
            out x
        }
        """,
    ),
    _entry(
        "A133",
        "an operator is missing its right operand",
        """A binary operator at the end of a statement has nothing on its right. An operator at
        the end of a line continues the statement on the next line, so the next statement is
        read as the operand; finish the expression or remove the operator.""",
        """
        network Tiny(width=16) {
            in image: [3, 32, 32]
            half = width // 2 +
            out image -> conv2d(half, 3)
        }
        """,
        """
        network Tiny(width=16) {
            in image: [3, 32, 32]
            half = width // 2
            out image -> conv2d(half, 3)
        }
        """,
    ),
    _entry(
        "A134",
        "an operator is missing its left operand",
        """A binary operator such as `**` or `*` stands where a value was expected, so it has
        nothing on its left.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(** 2, 3)
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(4 ** 2, 3)
        }
        """,
    ),
    _entry(
        "A135",
        "missing `else` in an `if` expression",
        """`if c then a else b` is an expression with a value, so both branches are required:
        without `else` there would be no value when the condition is false.""",
        """
        block Down(stride) {
            in x
            out if stride > 1 then x -> maxpool2d(2)
        }
        """,
        """
        block Down(stride) {
            in x
            out if stride > 1 then x -> maxpool2d(2) else x
        }
        """,
    ),
    _entry(
        "A136",
        "missing `then` in an `if` expression",
        """The condition of an `if` expression is followed by `then` and the value when it
        holds.""",
        """
        block Down(stride) {
            in x
            out if stride > 1 x -> maxpool2d(2) else x
        }
        """,
        """
        block Down(stride) {
            in x
            out if stride > 1 then x -> maxpool2d(2) else x
        }
        """,
    ),
    _entry(
        "A137",
        "a conditional expression starts with `if`",
        """Python's `a if c else b` puts the condition in the middle; a spec writes the
        condition first, `if c then a else b`, so that it reads in order.""",
        """
        block Down(stride) {
            in x
            out x -> maxpool2d(2) if stride > 1 else x
        }
        """,
        """
        block Down(stride) {
            in x
            out if stride > 1 then x -> maxpool2d(2) else x
        }
        """,
    ),
    _entry(
        "A138",
        "`tie` needs `=` between the two parameters",
        """`tie target = source` makes the parameter at `target` the same tensor as the one at
        `source`; the `=` says which way the sharing goes.""",
        """
        network LM {
            in tokens: int64[T]
            out tokens -> embedding(1000, 64) as embed -> linear(1000) as head
            tie head.weight embed.weight
        }
        """,
        """
        network LM {
            in tokens: int64[T]
            out tokens -> embedding(1000, 64) as embed -> linear(1000) as head
            tie head.weight = embed.weight
        }
        """,
    ),
    _entry(
        "A139",
        "`use` needs a path in double quotes",
        """`use` imports another spec file by its path, relative to the importing file. A bare
        name is not a path; a spec never imports Python modules.""",
        """
        use blocks
        """,
        """
        use "blocks.arch"
        """,
        runnable=False,
    ),
    _entry(
        "A140",
        "comparisons cannot be chained",
        """`a < b < c` reads differently in different languages, so a spec refuses it. Combine
        two comparisons with `and`.""",
        """
        block Down(stride) {
            in x
            assert 0 < stride <= 2, "stride is 1 or 2"
            out x
        }
        """,
        """
        block Down(stride) {
            in x
            assert 0 < stride and stride <= 2, "stride is 1 or 2"
            out x
        }
        """,
    ),
    _entry(
        "A141",
        "a number cannot be directly followed by a name",
        """`2width` is not a product: multiplication is always written with `*`, and names cannot
        start with a digit.""",
        """
        network Tiny(width=16) {
            in image: [3, 32, 32]
            out image -> conv2d(2width, 3)
        }
        """,
        """
        network Tiny(width=16) {
            in image: [3, 32, 32]
            out image -> conv2d(2 * width, 3)
        }
        """,
    ),
    _entry(
        "A142",
        "a statement is only allowed inside a body",
        """`in`, `out`, `tie` and `assert` belong to a block or network: they declare its inputs
        and outputs and check its parameters. At the top level of a file only `use`, `init`,
        constants and definitions are allowed.""",
        """
        in image: [3, 32, 32]

        network Tiny {
            out image -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A143",
        "definitions cannot be nested",
        """Blocks and networks are defined at the top level of a file, each on its own; a block
        defined inside another body would have no name outside it. Define it beside the
        definition that uses it.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            block Stem {
                in x
                out x -> relu
            }
            out image -> Stem
        }
        """,
        """
        block Stem {
            in x
            out x -> relu
        }

        network Tiny {
            in image: [3, 32, 32]
            out image -> Stem
        }
        """,
    ),
    _entry(
        "A144",
        "a keyword cannot be used as a name",
        """Keywords such as `in`, `out`, `as` and `if` are reserved everywhere, also as argument
        and parameter names. Ops take PyTorch's argument names, which are never keywords.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(out=16, kernel_size=3)
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(out_channels=16, kernel_size=3)
        }
        """,
    ),
    _entry(
        "A145",
        "missing `,` between items",
        """Two values side by side in an argument list, a list or a shape need a comma between
        them.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16 3)
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3)
        }
        """,
    ),
    _entry(
        "A146",
        "an input's shape is written in square brackets",
        """The shape after `in name:` is a list of dimensions in `[` and `]`; parentheses there
        would read as a tuple expression.""",
        """
        network Tiny {
            in image: (3, 32, 32)
            out image -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A147",
        "statements are not ended with `;`",
        """A newline ends a statement; there are no semicolons.""",
        """
        network Tiny {
            in image: [3, 32, 32];
            out image -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A148",
        "not an operator",
        """C-style logic operators such as `&&`, `||` and `!` are not part of the language; the
        words `and`, `or` and `not` are.""",
        """
        block Down(stride) {
            in x
            assert stride > 0 && stride < 3
            out x
        }
        """,
        """
        block Down(stride) {
            in x
            assert stride > 0 and stride < 3
            out x
        }
        """,
    ),
    _entry(
        "A149",
        "comments start with `#`",
        """`//` is floor division. A line starting with `//`, as a C or JavaScript comment does,
        is not a comment.""",
        """
        // A tiny network.
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
        """
        # A tiny network.
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A150",
        "missing value after `=`",
        """A name or keyword argument is followed by `=` and then nothing. Since a line ending
        with `=` goes on to the next one, the next statement would have been read as the
        value.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            x =
            out image -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> relu
            out x
        }
        """,
    ),
    _entry(
        "A151",
        "the `{` of a body goes on the header's line",
        """A newline ends a statement, so a header on a line of its own is complete without a
        body. The opening brace goes at the end of the header line.""",
        """
        network Tiny
        {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> relu
        }
        """,
    ),
    _entry(
        "A152",
        "the body ends too early",
        """A `}` closes the body while statements of the body follow it, usually a stray brace
        left after an edit.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> relu
            }
            out x
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            x = image -> relu
            out x
        }
        """,
    ),
    _entry(
        "A153",
        "the argument list ends too early",
        """A `)` closes a call's arguments, and more arguments follow it on the line with a spare
        `)` after them: the first `)` is the one too many.""",
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3), padding=1) -> relu
        }
        """,
        """
        network Tiny {
            in image: [3, 32, 32]
            out image -> conv2d(16, 3, padding=1) -> relu
        }
        """,
    ),
    _entry(
        "A154",
        "integer literal too long",
        """An integer literal may have at most 100 digits. No size, count or index needs more,
        and Python converts very long digit strings slowly before refusing them altogether; a
        number this long is almost always text pasted twice.""",
        """
        vocab = 305223052230522305223052230522...  # the five digits repeated, 120 digits long
        """,
        """
        vocab = 30522
        """,
        runnable=False,
    ),
    _entry(
        "A155",
        "a bidirectional control character",
        """Characters such as U+202E RIGHT-TO-LEFT OVERRIDE and U+2066 LEFT-TO-RIGHT ISOLATE
        change the order in which an editor or a code review displays the text after them, so
        a comment or a string can appear to close early and code can look like something else
        than what archc reads ("Trojan Source"). A spec never needs them; archc warns at each
        one, wherever it is, and shows it as its code point. Delete it.""",
        """
        network Gate {
            in x: [16]
            out x -> linear(16)  # <U+202E> the override reorders this comment
        }
        """,
        """
        network Gate {
            in x: [16]
            out x -> linear(16)  # a plain comment
        }
        """,
        runnable=False,
    ),
    _entry(
        "A170",
        "an acknowledgement silences nothing",
        """A warning: `# archc: allow CODE` at the end of a statement silences the CODE warnings
        of that statement, and this one silenced none. The warning it was written for is gone
        (the spec changed) or was never there (another code, or another statement), so the
        comment now only misleads; remove it. Only warnings are silenced, never errors, and
        this is reported only when every network of the file was checked as written (not with
        `--network` or `-D`, which may remove a warning for their own reasons).""",
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(64, 7, stride=2, padding=3)  # archc: allow A302
        }
        """,
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(64, 7, stride=2, padding=3)
        }
        """,
    ),
    _entry(
        "A171",
        "an `archc:` comment archc cannot read",
        """A warning: a comment that starts `archc:` is addressed to archc, and the only thing
        it can say is `# archc: allow A302` (several codes separated by commas, then perhaps a
        reason after a colon), at the end of a statement or on one of its lines. This one says
        something else, often a misspelt `allow`, or stands on a line of no statement.""",
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(96, 7, stride=2)  # archc: alow A302
        }
        """,
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(96, 7, stride=2)  # archc: allow A302: as in the paper
        }
        """,
    ),
    _entry(
        "A180",
        "the copy index hides another `i`",
        """In `layer * n`, a layer that reads `i` is built once per copy with `i` set to the
        copy's index, 0 to n - 1: `Block(p=0.1 * i) * 4` gives each copy its own argument. Here
        `i` already names a parameter, a local, a constant of the file or the index of an
        enclosing repeat, so the layer could mean either. Rename the other `i`.""",
        """
        block Layer(width, p=0.0) {
            in x
            out x + (x -> conv2d(width, 3, padding=1) -> stochastic_depth(p))
        }

        network Stage(width=64, i=3) {
            in x: [width, 56, 56]
            out x -> Layer(width, p=0.1 * i) * 4 as blocks
        }
        """,
        """
        block Layer(width, p=0.0) {
            in x
            out x + (x -> conv2d(width, 3, padding=1) -> stochastic_depth(p))
        }

        network Stage(width=64, first=3) {
            in x: [width, 56, 56]
            out x -> Layer(width, p=0.1 * (first + i)) * 4 as blocks
        }
        """,
    ),
    _entry(
        "A181",
        "the copy index where there is no copy",
        """`i` is the index of a copy of a repeated layer: in `layer * n` the layer may read it,
        and each copy is built with its own value, 0 to n - 1. The count cannot read it (it is
        known before any copy is), and neither can anything outside the repeated layer: a
        number, or a layer that is not repeated.""",
        """
        network Stem(width=64) {
            in image: [3, 224, 224]
            out image -> conv2d(width * i, 7, stride=2, padding=3)
        }
        """,
        """
        network Stem(width=64) {
            in image: [3, 224, 224]
            out image -> conv2d(width, 7, stride=2, padding=3)
        }
        """,
    ),
    _entry(
        "A160",
        "a keyword after `as`",
        """A layer's name after `as` is an identifier, or any text in quotes. Keywords of the
        language (`block`, `in`, `out`, `network`, ...) cannot be identifiers, but reference
        implementations use some of them as module names (torchvision's EfficientNet holds
        each block's layers in `block`), so write such a name quoted: `as "block"` names the
        layer `block`, and its state_dict keys start with `block.`.""",
        """
        network Stage {
            in x: [16, 32, 32]
            out x -> (conv2d(16, 3, padding=1) -> relu) as block
        }
        """,
        """
        network Stage {
            in x: [16, 32, 32]
            out x -> (conv2d(16, 3, padding=1) -> relu) as "block"
        }
        """,
    ),
    _entry(
        "A156",
        "a naming pattern that is not one word, or computes from more than `i`",
        """A naming pattern (`layer * 6 as denselayer{i + 1}`) names each copy of a repeat: the
        stem, the braces and any suffix are written together, as the name they make, and the
        braces compute the copy's number from `i` (0 for the first copy) with integer literals,
        `+`, `-` and `*`. A parameter or a call inside the braces is refused, so that the names
        of a network's modules, its state_dict keys, can be read off the spec.""",
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 4 as layer {i + 1}
        }
        """,
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 4 as layer{i + 1}
        }
        """,
    ),
    _entry(
        "A157",
        "a naming pattern without `i`",
        """The braces of a naming pattern give each copy of a repeat its number from `i`, which
        counts the copies from 0. Without `i` every copy would get the same name. Write `{i}`
        to count from 0, `{i + 1}` to count from 1, as torchvision's `denselayer1`.""",
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 4 as layer{1}
        }
        """,
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 4 as layer{i + 1}
        }
        """,
    ),
)

_NAMES = (
    _entry(
        "A201",
        "import cycle",
        """Files imported with `use` must form a tree: a file cannot import, directly or through
        others, a file that imports it. The error is reported at the `use` that closes the cycle.
        Move the blocks both files need into a third file that both import.""",
        """
        # blocks.arch
        use "layers.arch"

        # layers.arch
        use "blocks.arch"
        """,
        """
        # common.arch holds what both need; blocks.arch and layers.arch import it
        use "common.arch"
        """,
        runnable=False,
    ),
    _entry(
        "A202",
        "`use` chain too deep",
        """Imports may nest 32 files deep. A longer chain of files each importing the next is
        almost certainly generated by mistake; import the files from one place instead.""",
        """
        # file01.arch: use "file02.arch", file02.arch: use "file03.arch", ... up to file40.arch
        """,
        """
        # model.arch imports what it needs directly
        use "file01.arch"
        use "file02.arch"
        """,
        runnable=False,
    ),
    _entry(
        "A203",
        "cannot import the file",
        """`use` takes the path of another .arch file, relative to the file holding the `use`.
        The file does not exist there, or it is not a spec: PyTorch modules and other files
        cannot be imported.""",
        """
        use "blocks/resnet.arch"    # the blocks are in ../blocks/resnet.arch
        """,
        """
        use "../blocks/resnet.arch"
        """,
        runnable=False,
    ),
    _entry(
        "A204",
        "defined twice",
        """Each block, network and top-level constant has one definition in a file, counting the
        definitions imported with `use`. The note points at the first one.""",
        """
        block ConvBN(channels) {
            in x
            out x -> conv2d(channels, 3, padding=1) -> batchnorm2d -> relu
        }

        block ConvBN(channels, kernel=3) {
            in x
            out x -> conv2d(channels, kernel, padding=kernel // 2) -> batchnorm2d -> relu
        }
        """,
        """
        block ConvBN(channels, kernel=3) {
            in x
            out x -> conv2d(channels, kernel, padding=kernel // 2) -> batchnorm2d -> relu
        }
        """,
    ),
    _entry(
        "A205",
        "unknown name",
        """The name is not a variable, parameter or constant in scope, not a block or network of
        the file or its imports, and not an op. The help lists close names (a variable, a block
        or an op such as `maxpool2d` for `maxpool`).""",
        """
        network Stage {
            in image: [64, 56, 56]
            out image -> maxpool(2)
        }
        """,
        """
        network Stage {
            in image: [64, 56, 56]
            out image -> maxpool2d(2)
        }
        """,
    ),
    _entry(
        "A206",
        "an operator cannot apply to these values",
        """Operators mean what their operands are: numbers compute, tensors combine elementwise
        with tensors, a layer times a count repeats, and conditions need true or false. The
        message names the kinds of values it got. A tensor cannot be scaled by a number, and a
        number is not a condition; compare it (`stride != 1`).""",
        """
        block Down(planes, stride=1) {
            in x
            y = x -> conv2d(planes, 3, stride=stride, padding=1)
            skip = if stride then x -> conv2d(planes, 1, stride=stride) else x
            out y + skip
        }

        network Net {
            in image: [64, 32, 32]
            out image -> Down(128, stride=2)
        }
        """,
        """
        block Down(planes, stride=1) {
            in x
            y = x -> conv2d(planes, 3, stride=stride, padding=1)
            skip = if stride != 1 then x -> conv2d(planes, 1, stride=stride) else x
            out y + skip
        }

        network Net {
            in image: [64, 32, 32]
            out image -> Down(128, stride=2)
        }
        """,
    ),
    _entry(
        "A207",
        "too many positional arguments",
        """An op or block was given more positional arguments than it has positional slots. The
        help lists the positional arguments in order; pass the others by name.""",
        """
        network Features {
            in image: [64, 112, 112]
            out image -> maxpool2d(3, 2, 1, 1, false)
        }
        """,
        """
        network Features {
            in image: [64, 112, 112]
            out image -> maxpool2d(3, 2, 1, ceil_mode=false)
        }
        """,
    ),
    _entry(
        "A208",
        "unknown argument",
        """The op or block has no argument of this name. Ops use PyTorch's argument names
        (`stride`, `padding`, `dim`); the help suggests a close one, or lists them all.""",
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(64, 7, strides=2, padding=3)
        }
        """,
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(64, 7, stride=2, padding=3)
        }
        """,
    ),
    _entry(
        "A209",
        "argument given twice",
        """The same argument was given both positionally and by name, or twice by name.""",
        """
        network Down {
            in x: [64, 56, 56]
            out x -> conv2d(128, 3, 2, stride=2, padding=1)
        }
        """,
        """
        network Down {
            in x: [64, 56, 56]
            out x -> conv2d(128, 3, stride=2, padding=1)
        }
        """,
    ),
    _entry(
        "A210",
        "invalid argument value",
        """The value does not fit the argument: a float where a whole number is needed (`/` is
        true division; use `//`), a number out of range (a dropout probability above 1, a
        negative kernel size), a string that is not one of the accepted choices, or a tensor or
        layer where a plain value is needed.""",
        """
        network MobileNetStem(width_mult=0.5) {
            in image: [3, 224, 224]
            out image -> conv2d(64 * width_mult, 3, stride=2, padding=1)
        }
        """,
        """
        network MobileNetStem(width=32) {
            in image: [3, 224, 224]
            out image -> conv2d(width, 3, stride=2, padding=1)
        }
        """,
    ),
    _entry(
        "A211",
        "missing required argument",
        """The op or block has an argument without a default, and the call does not give it. The
        help shows the required arguments.""",
        """
        network Projection {
            in x: [256, 14, 14]
            out x -> conv2d(512, stride=2)
        }
        """,
        """
        network Projection {
            in x: [256, 14, 14]
            out x -> conv2d(512, 1, stride=2)
        }
        """,
    ),
    _entry(
        "A212",
        "name already used in this scope",
        """`as` names become module attributes and `state_dict` prefixes, so they must be unique
        within a block or network; two layers named `conv1` would overwrite each other.""",
        """
        network DoubleConv {
            in x: [3, 64, 64]
            out x -> conv2d(64, 3, padding=1) as conv1 -> relu
                  -> conv2d(64, 3, padding=1) as conv1 -> relu
        }
        """,
        """
        network DoubleConv {
            in x: [3, 64, 64]
            out x -> conv2d(64, 3, padding=1) as conv1 -> relu
                  -> conv2d(64, 3, padding=1) as conv2 -> relu
        }
        """,
    ),
    _entry(
        "A213",
        "recursive or too deeply nested block",
        """A block instantiates itself, directly or through other blocks. A spec describes a
        fixed network, so recursion has no meaning; spell the levels out, or repeat a block with
        `* n`. Blocks that are not recursive may nest 64 deep (one block using another that uses
        a third, and so on); deeper hierarchies are refused the same way.""",
        """
        block Tower(width) {
            in x
            out x -> conv2d(width, 3, padding=1) -> relu -> Tower(width)
        }

        network Net {
            in image: [3, 32, 32]
            out image -> Tower(16)
        }
        """,
        """
        block Layer(width) {
            in x
            out x -> conv2d(width, 3, padding=1) -> relu
        }

        network Net {
            in image: [3, 32, 32]
            out image -> Layer(16) * 4 as tower
        }
        """,
    ),
    _entry(
        "A214",
        "an input or output declared twice",
        """Each `in` and each `out` of a block or network has its own name. A second `out` with
        a name already used would replace the first in the generated `forward` (while its
        layers were still counted), and a second `in` would hide the first, so archc refuses
        both. An `out` written as a bare variable (`out y`) is named after it.""",
        """
        network TwoHeads {
            in x: [64]
            out logits = x -> linear(10)
            out logits = x -> linear(1)
        }
        """,
        """
        network TwoHeads {
            in x: [64]
            out logits = x -> linear(10)
            out score = x -> linear(1)
        }
        """,
    ),
    _entry(
        "A215",
        "unknown element type",
        """An input's element type is one of float32, float64, float16, bfloat16, int64, int32
        and bool; integer ids (tokens, labels) are int64.""",
        """
        network Tagger {
            in tokens: int[T]
            out tokens -> embedding(20000, 128) -> linear(17)
        }
        """,
        """
        network Tagger {
            in tokens: int64[T]
            out tokens -> embedding(20000, 128) -> linear(17)
        }
        """,
    ),
    _entry(
        "A216",
        "wrong number of names to unpack",
        """`a, b = expr` unpacks a value with exactly as many parts as there are names, such as
        the outputs of `chunk` or `split`.""",
        """
        network Attention(width=512) {
            in x: [T, width]
            q, k, v = x -> linear(3 * width) -> chunk(2, dim=-1)
            out q + k + v
        }
        """,
        """
        network Attention(width=512) {
            in x: [T, width]
            q, k, v = x -> linear(3 * width) -> chunk(3, dim=-1)
            out q + k + v
        }
        """,
    ),
    _entry(
        "A217",
        "unused tensor",
        """A warning: a tensor is computed and bound to a name that nothing reads, so its layers
        add parameters that never affect an output. Remove it, use it, or start its name with
        `_` to keep it deliberately. It is not reported in a block or network where an error was
        reported, since the statement that failed may be the one that used the name.""",
        """
        network Inception(classes=10) {
            in image: [3, 32, 32]
            x = image -> conv2d(64, 3, padding=1) -> relu
            aux = x -> adaptive_avgpool2d(1) -> flatten -> linear(classes) as aux_head
            out logits = x -> adaptive_avgpool2d(1) -> flatten -> linear(classes) as fc
        }
        """,
        """
        network Inception(classes=10) {
            in image: [3, 32, 32]
            x = image -> conv2d(64, 3, padding=1) -> relu
            out logits = x -> adaptive_avgpool2d(1) -> flatten -> linear(classes) as fc
        }
        """,
    ),
    _entry(
        "A218",
        "no `out`",
        """A block or network gives its results with `out`; without one it computes nothing
        anyone can use.""",
        """
        network Classifier(classes=10) {
            in image: [3, 32, 32]
            logits = image -> adaptive_avgpool2d(1) -> flatten -> linear(classes)
        }
        """,
        """
        network Classifier(classes=10) {
            in image: [3, 32, 32]
            out logits = image -> adaptive_avgpool2d(1) -> flatten -> linear(classes)
        }
        """,
    ),
    _entry(
        "A219",
        "`tie` names something that is not a parameter",
        """Both sides of a `tie` are parameter paths as they appear in the `state_dict`, relative
        to the definition: layer names from `as`, then the parameter name (`weight`,
        `bias`).""",
        """
        network LM(vocab=1000) {
            in tokens: int64[T]
            x = tokens -> embedding(vocab, 64) as wte
            out x -> linear(vocab, bias=false) as lm_head
            tie lm_head.weight = wte.weights
        }
        """,
        """
        network LM(vocab=1000) {
            in tokens: int64[T]
            x = tokens -> embedding(vocab, 64) as wte
            out x -> linear(vocab, bias=false) as lm_head
            tie lm_head.weight = wte.weight
        }
        """,
    ),
    _entry(
        "A220",
        "tied parameters differ in shape",
        """A tie makes two parameters one tensor, so their shapes must be equal. An output
        projection tied to an embedding needs the model width to equal the embedding width.""",
        """
        network LM(vocab=1000) {
            in tokens: int64[T]
            x = tokens -> embedding(vocab, 64) as wte -> linear(128)
            out x -> linear(vocab, bias=false) as lm_head
            tie lm_head.weight = wte.weight
        }
        """,
        """
        network LM(vocab=1000) {
            in tokens: int64[T]
            x = tokens -> embedding(vocab, 64) as wte -> linear(64)
            out x -> linear(vocab, bias=false) as lm_head
            tie lm_head.weight = wte.weight
        }
        """,
    ),
    _entry(
        "A221",
        "assertion failed",
        """An `assert` in the definition is false for the parameters it was built with. The
        message is "assertion failed:" and the assertion's own message, or the condition as
        written when it has none; the values of the names the condition reads follow.""",
        """
        network GPT(width=1024, heads=10) {
            in x: [T, width]
            assert width % heads == 0, "width must be a multiple of heads"
            out x -> attention(heads)
        }
        """,
        """
        network GPT(width=1024, heads=16) {
            in x: [T, width]
            assert width % heads == 0, "width must be a multiple of heads"
            out x -> attention(heads)
        }
        """,
    ),
    _entry(
        "A222",
        "network too large",
        """A network may have 250,000 layers after blocks and repeats are expanded, and
        1,000,000 connections (tensor inputs of its layers: a dense block of n layers makes
        about n**2 / 2 of them). Larger graphs come from a repeat count, a nesting of repeats or
        a dense block far beyond any real network, or from blocks that each apply the next
        several times, and are refused instead of built. The diagnostic points at what
        multiplies, with the product: a repeat whose instances keep their input's shape is
        refused as soon as the first one shows how large the whole would be, a dense block by
        its length, and a block call before it starts when its body alone certainly makes too
        many layers.""",
        """
        network Deep {
            in x: [512]
            out x -> (linear(512) -> relu) * 10000 * 100
        }
        """,
        """
        network Deep {
            in x: [512]
            out x -> (linear(512) -> relu) * 100
        }
        """,
        runnable=False,
    ),
    _entry(
        "A223",
        "invalid repeat count",
        """`layer * n` repeats a layer n times, so n is a whole number from 0 to 10,000; `layer *
        0` is no layer, and the input passes through.""",
        """
        network Deep(width=512) {
            in x: [T, width]
            out x -> (linear(width) -> gelu) * 1000000000
        }
        """,
        """
        network Deep(width=512) {
            in x: [T, width]
            out x -> (linear(width) -> gelu) * 12
        }
        """,
    ),
    _entry(
        "A224",
        "arithmetic error",
        """A computation on numbers has no result: a division or remainder by zero, a power with
        an exponent beyond 64, an overflow, a whole number beyond 2**1024 (where floats end too),
        or a string joined to more than 65,536 characters. Those limits keep a few doublings of
        a constant from filling the memory. `with` shows the operation with its values.""",
        """
        block SqueezeExcite(reduction=16) {
            in x
            gate = x -> adaptive_avgpool2d(1) -> conv2d(x.channels // reduction, 1) -> relu
                     -> conv2d(x.channels, 1) -> sigmoid
            out x * gate
        }

        network SENet {
            in image: [64, 56, 56]
            out image -> SqueezeExcite(0)
        }
        """,
        """
        block SqueezeExcite(reduction=16) {
            in x
            gate = x -> adaptive_avgpool2d(1) -> conv2d(x.channels // reduction, 1) -> relu
                     -> conv2d(x.channels, 1) -> sigmoid
            out x * gate
        }

        network SENet {
            in image: [64, 56, 56]
            out image -> SqueezeExcite(16)
        }
        """,
    ),
    _entry(
        "A225",
        "comparison depends on symbolic sizes",
        """A comparison involves a symbolic size such as `T` and its answer depends on the value
        `T` takes at run time, but the structure of a network is fixed when it is built. Compare
        fixed sizes, or declare the input with numbers.""",
        """
        network Pooler(width=256) {
            in x: [T, width]
            out if x.shape[1] > 512 then x -> mean(1) else x -> amax(1)
        }
        """,
        """
        network Pooler(width=256) {
            in x: [T, width]
            out x -> mean(1)
        }
        """,
    ),
    _entry(
        "A226",
        "invalid shape query",
        """Shape queries (`.shape`, `.rank`, `.channels`, `.features`) ask a tensor about its
        shape. This one is asked of something that is not a tensor, names an attribute tensors do
        not have, or asks for channels of a tensor without a channel axis.""",
        """
        block Transition {
            in x
            out x -> conv2d(x.channel // 2, 1)
        }

        network Net {
            in image: [256, 56, 56]
            out image -> Transition
        }
        """,
        """
        block Transition {
            in x
            out x -> conv2d(x.channels // 2, 1)
        }

        network Net {
            in image: [256, 56, 56]
            out image -> Transition
        }
        """,
    ),
    _entry(
        "A227",
        "index out of range",
        """Indices count from 0, or from -1 at the end. A shape includes the batch axis, so an
        image's shape has four entries, 0 to 3.""",
        """
        network Head {
            in x: [512, 7, 7]
            out x -> avgpool2d(x.shape[4])
        }
        """,
        """
        network Head {
            in x: [512, 7, 7]
            out x -> avgpool2d(x.shape[3])
        }
        """,
    ),
    _entry(
        "A228",
        "`as` names a layer",
        """`as` names the layer it follows, which becomes a module of the generated model. A
        number, a size computed by a builtin or a tensor is not a module and cannot be named
        with `as`; bind a value to a name with `=`.""",
        """
        network Head(classes=10) {
            in x: [512]
            out x -> linear(max(classes, 2) as out_features)
        }
        """,
        """
        network Head(classes=10) {
            in x: [512]
            out_features = max(classes, 2)
            out x -> linear(out_features)
        }
        """,
    ),
    _entry(
        "A229",
        "`->` between values that are not a tensor and a layer",
        """`x -> layer` feeds a tensor into a layer. Something on the right of `->` is not a
        layer (a number where `dropout(p)` was meant), or the value on the left is not a
        tensor.""",
        """
        network Head(p_drop=0.1) {
            in features: [768]
            out features -> p_drop -> linear(10)
        }
        """,
        """
        network Head(p_drop=0.1) {
            in features: [768]
            out features -> dropout(p_drop) -> linear(10)
        }
        """,
    ),
    _entry(
        "A230",
        "this value cannot be called",
        """Only ops, blocks and builtin functions are called, once, with their arguments. A layer
        already given its arguments is applied to a tensor with `->`, not by calling it again
        as in Keras.""",
        """
        network Stem {
            in image: [3, 224, 224]
            out conv2d(64, 7, stride=2, padding=3)(image)
        }
        """,
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(64, 7, stride=2, padding=3)
        }
        """,
    ),
    _entry(
        "A231",
        "invalid call of a builtin",
        """The builtin functions (`min`, `max`, `abs`, `sqrt`, `floor`, `ceil`, `round`, `int`,
        `len`; docs/language.md tabulates them) take numbers; the combinators `residual` and
        `dense` take exactly one layer, usually a chain.""",
        """
        network PreNorm(width=512) {
            in x: [T, width]
            out x -> residual(layernorm, linear(width))
        }
        """,
        """
        network PreNorm(width=512) {
            in x: [T, width]
            out x -> residual(layernorm -> linear(width))
        }
        """,
    ),
    _entry(
        "A232",
        "invalid top-level constant",
        """A constant at the top level of a file is computed once from literals and the
        constants above it. It cannot be defined in terms of itself, and it cannot be a tensor:
        tensors exist only inside a block or network.""",
        """
        width = 768
        hidden = 4 * hidden

        network MLP {
            in x: [T, width]
            out x -> linear(hidden) -> gelu -> linear(width)
        }
        """,
        """
        width = 768
        hidden = 4 * width

        network MLP {
            in x: [T, width]
            out x -> linear(hidden) -> gelu -> linear(width)
        }
        """,
    ),
    _entry(
        "A233",
        "`out` gives a tensor",
        """The outputs of a block or network are tensors, the results of its layers. A number, a
        layer or a shape cannot be an output.""",
        """
        network Probe(width=256) {
            in x: [width]
            out width * width
        }
        """,
        """
        network Probe(width=256) {
            in x: [width]
            out x -> linear(width)
        }
        """,
    ),
    _entry(
        "A234",
        "a network input needs a shape",
        """A block's inputs take their shapes from where the block is used, but a network's
        inputs are where shapes start, so each declares its shape without the batch
        dimension.""",
        """
        network Classifier {
            in image
            out image -> conv2d(32, 3)
        }
        """,
        """
        network Classifier {
            in image: [3, 32, 32]
            out image -> conv2d(32, 3)
        }
        """,
    ),
    _entry(
        "A235",
        "positional argument after a keyword argument",
        """Positional arguments bind to an op's or block's parameters in order, so they come
        before any argument given by name. After a keyword argument, which slot a positional
        one fills would be a guess; move it before the keywords, or give its name.""",
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(64, kernel_size=7, 2, padding=3)
        }
        """,
        """
        network Stem {
            in image: [3, 224, 224]
            out image -> conv2d(64, 7, stride=2, padding=3)
        }
        """,
    ),
    _entry(
        "A236",
        "a network used as a layer",
        """Only blocks (and ops) are applied as layers. A network is a finished model whose
        inputs declare their shapes; a block takes its input shapes from where it is used. To
        reuse a network inside another one, write it as a block, and keep a small network that
        applies it if it is also built on its own.""",
        """
        network Backbone {
            in image: [3, 224, 224]
            out image -> conv2d(64, 7, stride=2, padding=3) -> relu
        }

        network Detector {
            in image: [3, 224, 224]
            out image -> Backbone -> conv2d(80, 1)
        }
        """,
        """
        block Backbone {
            in image
            out image -> conv2d(64, 7, stride=2, padding=3) -> relu
        }

        network Detector {
            in image: [3, 224, 224]
            out image -> Backbone -> conv2d(80, 1)
        }
        """,
    ),
    _entry(
        "A237",
        "`use` leads outside the project root",
        """A spec is data that may come from anywhere, so `use` reads only below the project
        root: the folder of the file being checked, unless `--root DIR` (or `root=` in
        `archc.api.analyse`) names a wider one, and the zoo (`zoo:` paths). A path that climbs
        out with `..`, an absolute path, or a symbolic link that points elsewhere is refused
        without being read; the message shows where the path leads. Move the file into the
        project, or pass the folder that holds both files as the root.""",
        """
        # project/model.arch, checked with `archc check project/model.arch`
        use "../shared/blocks.arch"
        """,
        """
        # the same file, checked with `archc check --root . project/model.arch`
        use "../shared/blocks.arch"
        """,
        runnable=False,
    ),
    _entry(
        "A238",
        "`N` in a network input's shape",
        """Every network input has a batch axis in front of the shape it declares, named `N`
        in shapes and summaries: `in image: [3, 224, 224]` is (N, 3, 224, 224). Writing `N`
        in the declared shape adds a second axis tied to the batch size, (N, N, ...), which is
        never what a classifier or a sequence model wants, so archc refuses it. Leave the
        batch out, or name the axis something else (`T` for a length).""",
        """
        network Tagger {
            in x: [N, 32]
            out x -> linear(10)
        }
        """,
        """
        network Tagger {
            in x: [T, 32]
            out x -> linear(10)
        }
        """,
    ),
    _entry(
        "A239",
        "a tie that cannot be one shared tensor",
        """A `tie` makes its target the very tensor its source is, and archc counts the pair
        once, at the source. That holds only when the two sides differ, the target is tied
        once, and the source is not itself tied: a parameter tied to itself, tied twice, or
        tied along a chain or a cycle of ties would be counted differently from what torch
        builds (which applies the assignments in order). Tie every target straight to the one
        parameter that holds the shared tensor.""",
        """
        network Stack {
            in x: [16]
            y = x -> linear(16) as a -> linear(16) as b -> linear(16) as c
            tie a.weight = b.weight
            tie b.weight = c.weight
            out y
        }
        """,
        """
        network Stack {
            in x: [16]
            y = x -> linear(16) as a -> linear(16) as b -> linear(16) as c
            tie a.weight = c.weight
            tie b.weight = c.weight
            out y
        }
        """,
    ),
    _entry(
        "A240",
        "a constant named like a layer",
        """A top-level constant may take any name, but one named like a layer kind makes the
        name mean two things: written alone it is the constant, while a call such as
        `conv2d(64, 3)` still applies the layer. This warning asks for another name before a
        reader (or a later edit) confuses the two.""",
        """
        conv2d = 64

        network Stem {
            in image: [3, 32, 32]
            out image -> conv2d(conv2d, 3)
        }
        """,
        """
        width = 64

        network Stem {
            in image: [3, 32, 32]
            out image -> conv2d(width, 3)
        }
        """,
    ),
    _entry(
        "A245",
        "an empty layer name",
        """A quoted name (`as "block1-0"`) is a state_dict key as written, and a key has no
        empty parts: `add_module` refuses an empty name. Write the name between the quotes.""",
        """
        network Net {
            in x: [3, 32, 32]
            out x -> conv2d(16, 3) as ""
        }
        """,
        """
        network Net {
            in x: [3, 32, 32]
            out x -> conv2d(16, 3) as "0"
        }
        """,
    ),
    _entry(
        "A246",
        "a layer name with `.`, a blank or a control character",
        """A quoted name is one part of its layers' state_dict keys, and `.` separates the parts:
        `as "layer1.0"` would make keys that read as a module `layer1` holding a child `0`, which
        no module tree can give back, so torch refuses it. Name each level with its own `as`
        (a named chain holds its children as `0`, `1`, ...), or join the parts with another
        character. Blanks and control characters are refused too: a key must read the same on
        the screen as in the file.""",
        """
        network Net {
            in x: [3, 32, 32]
            out x -> conv2d(16, 3) as "layer1.0"
        }
        """,
        """
        network Net {
            in x: [3, 32, 32]
            out x -> (conv2d(16, 3) as "0") as layer1
        }
        """,
    ),
    _entry(
        "A247",
        "a numbered name that is not the child's position",
        """The children of a named chain are numbered by their position (`features.0`,
        `features.1`, ...), as nn.Sequential numbers them. A child may be named with its own
        number (`as "0"` for the first), which makes a nested chain one numbered child, but a
        number that is not its position would be the name of another child, or (with a
        leading zero) a key nn.Sequential never makes.""",
        """
        network Net {
            in x: [3, 32, 32]
            out x -> (conv2d(16, 3) -> (batchnorm2d -> relu) as "2") as features
        }
        """,
        """
        network Net {
            in x: [3, 32, 32]
            out x -> (conv2d(16, 3) -> (batchnorm2d -> relu) as "1") as features
        }
        """,
    ),
    _entry(
        "A248",
        "brackets around more than one layer",
        """A chain in brackets, `[conv2d(32, 3) -> batchnorm2d -> relu]`, is one child of the
        chain around it (an nn.Sequential inside the nn.Sequential, numbered by its position),
        where the same chain in parentheses adds its layers one by one. Brackets hold one
        chain, so layers listed with commas are joined with `->`; and a list of values
        (`[3, 32, 32]`) cannot hold a layer.""",
        """
        network Stem {
            in image: [3, 32, 32]
            out image -> ([conv2d(16, 3), batchnorm2d, relu] -> relu) as features
        }
        """,
        """
        network Stem {
            in image: [3, 32, 32]
            out image -> ([conv2d(16, 3) -> batchnorm2d -> relu] -> relu) as features
        }
        """,
    ),
    _entry(
        "A249",
        "`branches` needs layers that each give one tensor",
        """`x -> branches(a, b, c)` applies each layer to `x` and gives their outputs as a
        tuple, one tensor per branch, which `concat` or an elementwise op can join. Named, the
        branches are an nn.ModuleList (torchvision's ASPP `convs`). So each argument is a
        layer or a chain of layers, written by position, and each branch gives one tensor: a
        branch ending in `chunk` or an LSTM giving its state would make the tuple ambiguous.""",
        """
        network Heads {
            in x: [16, 8, 8]
            out x -> branches(conv2d(8, 1), 3) as convs -> concat(dim=1)
        }
        """,
        """
        network Heads {
            in x: [16, 8, 8]
            out x -> branches(conv2d(8, 1), conv2d(8, 3, padding=1)) as convs -> concat(dim=1)
        }
        """,
    ),
    _entry(
        "A241",
        "a naming pattern on something that is not a repeat",
        """A naming pattern (`as layer{i}`) names the copies of a repeat, each directly in the
        enclosing block, chain or dense block. A single layer, a sequence or a repeat already
        named with `as` has no copies to number: repeat the layer with `* n` first, or give it a
        plain name.""",
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) as layer{i}
        }
        """,
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 3 as layer{i}
        }
        """,
    ),
    _entry(
        "A242",
        "a naming pattern that gives two copies the same name",
        """Each copy of a repeat becomes a module under its own name, so the numbers a pattern
        computes must all differ: `{i}`, `{i + 1}` or `{2 * i}` count the copies one by one,
        but `{(i - 1) * (i - 1)}` gives the first and the third copy the same number. The
        diagnostic names the two copies and the number.""",
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 3 as layer{(i - 1) * (i - 1)}
        }
        """,
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 3 as layer{i}
        }
        """,
    ),
    _entry(
        "A243",
        "a copy named by a pattern clashes with a layer beside it",
        """The copies a naming pattern names go directly into the enclosing block, chain or
        dense block, beside the layers already there, so a copy may not take a name one of
        them has (an `as` name, or an automatic one such as `linear1`). Change the pattern's
        stem, or rename the other layer.""",
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> (Layer(64) as layer2 -> Layer(64) * 3 as layer{i + 1}) as stack
        }
        """,
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> (Layer(64) as layer0 -> Layer(64) * 3 as layer{i + 1}) as stack
        }
        """,
    ),
    _entry(
        "A244",
        "a naming pattern that gives a negative or huge number",
        """A naming pattern's number becomes part of a Python attribute name and a state_dict
        key, which cannot hold a minus sign, so every copy's number must be 0 or more: `i`
        counts the copies from 0, and `{i - 1}` would name the first one `layer-1`. Numbers
        stop below a billion, so that no pattern makes names of unbounded length.""",
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 3 as layer{i - 1}
        }
        """,
        """
        block Layer(width) {
            in x
            out x -> linear(width) -> relu
        }

        network Stack {
            in x: [64]
            out x -> Layer(64) * 3 as layer{i}
        }
        """,
    ),
    _entry(
        "A250",
        "an init rule names an unknown scheme or argument",
        """An `init` rule's right-hand side is a scheme (`kaiming_normal(mode="fan_out")`,
        `zeros`, `normal(std=0.02)`), a number (a constant), or one of those per parameter
        (`weight=1, bias=0`). The scheme's name and its arguments are checked against the
        scheme's definition, with a did-you-mean for near misses; `archc` lists the schemes
        in docs/language.md. An argument is a number or a word: a layer (`log(10.0)` applies
        the layer `log`), a block or a function there is refused at the argument.""",
        """
        init conv2d.weight: kaiming_norml(mode="fan_out")

        network N {
            in x: [3, 32, 32]
            out x -> conv2d(16, 3)
        }
        """,
        """
        init conv2d.weight: kaiming_normal(mode="fan_out")

        network N {
            in x: [3, 32, 32]
            out x -> conv2d(16, 3)
        }
        """,
    ),
    _entry(
        "A251",
        "an init rule names a parameter the layer does not have",
        """The part after the layer or op kind names a parameter as the layer's state_dict
        does: `weight`, `bias`, an LSTM's `weight_ih_l0`, attention's `in_proj_weight`. A
        rule over a kind of layer passes over the layers built without that parameter (a
        `linear(..., bias=false)`); a rule that names one layer must name a parameter it has.""",
        """
        network N {
            in x: [16]
            init fc.weights: zeros
            out x -> linear(4) as fc
        }
        """,
        """
        network N {
            in x: [16]
            init fc.weight: zeros
            out x -> linear(4) as fc
        }
        """,
    ),
    _entry(
        "A252",
        "an init scheme does not fit the tensor",
        """Schemes that compute fans (xavier, kaiming, variance_scaling, lecun) and
        `orthogonal` need a tensor of at least two dimensions; `dirac` needs a convolution
        weight and `eye` a matrix. A bias has one dimension: initialise it with a constant,
        `zeros`, `uniform` or `normal`.""",
        """
        init linear.bias: orthogonal

        network N {
            in x: [16]
            out x -> linear(4)
        }
        """,
        """
        init linear.bias: zeros

        network N {
            in x: [16]
            out x -> linear(4)
        }
        """,
    ),
    _entry(
        "A253",
        "an init rule matches no layer",
        """A warning: the rule names an op kind that no layer of the network uses, a layer
        path that does not exist (within the rule's scope, when it is written in a block), or a
        glob that matches no parameter path. The help suggests the nearest layer path.""",
        """
        network N {
            in x: [16]
            init fc9.weight: zeros
            out x -> linear(4) as fc
        }
        """,
        """
        network N {
            in x: [16]
            init fc.weight: zeros
            out x -> linear(4) as fc
        }
        """,
    ),
    _entry(
        "A254",
        "an init scheme assumes another nonlinearity than the one that follows",
        """A warning: xavier and orthogonal keep the variance of a linear layer (gain 1);
        kaiming keeps it for the nonlinearity it names. When the activation right after the
        layer has another gain (xavier feeding relu halves the variance at every layer), deep
        stacks shrink or blow up their activations. Use the scheme for the activation that
        follows, or say `gain=` explicitly.""",
        """
        init linear.weight: xavier_uniform

        network N {
            in x: [16]
            out x -> linear(16) -> relu
        }
        """,
        """
        init linear.weight: kaiming_uniform(nonlinearity="relu")

        network N {
            in x: [16]
            out x -> linear(16) -> relu
        }
        """,
    ),
    _entry(
        "A275",
        "the input sizes must follow a rule the spec does not state",
        """A warning: a network with symbolic input sizes joins tensors whose sizes agree only
        for some values of those sizes. A U-Net pools H four times and upsamples it back, and
        its skips join `H//8` with `2*(H//16)`: equal only when H is a multiple of 16. archc
        works out the rule from every such join (the remainders that make each pair agree, and
        the least size that keeps every tensor non-empty) and says it once, at the inputs; the
        notes list the joins it comes from. A reshape whose `-1` is whole rows for some sizes
        alone (`reshape(-1, 16)` of `(N, T, 8)`, for even T) adds to the rule the same way.
        State it with an `assert` (`assert H % 16 == 0`), which the checker then takes as
        given, or declare the input with numbers. `archc summary` and `archc check` print the
        rule, and `-D H=...` is checked against it.""",
        """
        network Hourglass {
            in x: [8, H, W]
            down = x -> maxpool2d(2)
            out concat(x, down -> upsample(scale_factor=2), dim=1)
        }
        """,
        """
        network Hourglass {
            in x: [8, H, W]
            assert H % 2 == 0 and W % 2 == 0
            down = x -> maxpool2d(2)
            out concat(x, down -> upsample(scale_factor=2), dim=1)
        }
        """,
    ),
    _entry(
        "A276",
        "joined sizes never agree",
        """Two tensors joined by `concat` or an elementwise operation have symbolic sizes that
        agree for no input size the network allows: either for none at all, or for none that
        the spec's `assert`s and the network's other joins leave. The label says for which sizes
        the two would agree; usually the strides of one path and the upsampling of the other
        do not match, or an `assert` states another rule than the network needs. A reshape
        whose `-1` is whole rows only for sizes the `assert`s rule out is refused the same
        way.""",
        """
        network Hourglass {
            in x: [8, H]
            assert H % 2 == 1
            down = x -> maxpool1d(2)
            out concat(x, down -> upsample(scale_factor=2), dim=1)
        }
        """,
        """
        network Hourglass {
            in x: [8, H]
            assert H % 2 == 0
            down = x -> maxpool1d(2)
            out concat(x, down -> upsample(scale_factor=2), dim=1)
        }
        """,
    ),
    _entry(
        "A277",
        "a size set with -D does not fit the network",
        """`-D H=256` sets a symbolic input size for one run of `check`, `summary`, `compile` or
        `render`. The value must be a positive whole number, and it must follow the rule the
        network puts on that size (A275): a U-Net that pools four times needs a multiple of 16.
        The help names the nearest sizes that do. The error points at the size's declaration,
        since `-D` itself has no place in the spec.""",
        """
        $ archc summary unet.arch -D H=250    # four poolings: H must be a multiple of 16
        """,
        """
        $ archc summary unet.arch -D H=256
        """,
        runnable=False,
        lang="console",
    ),
    _entry(
        "A255",
        "a function calls itself",
        """A `fn` is evaluated where it is called, by putting its arguments in for its
        parameters, so a function that calls itself, directly or through other functions,
        would never finish. The message shows the chain of calls. Compute the result with the
        built-in functions and `if` instead.""",
        """
        fn halve(v) = if v > 8 then halve(v // 2) else v

        network N {
            in x: [3, 32, 32]
            out x -> conv2d(halve(64), 3)
        }
        """,
        """
        fn halve(v) = max(8, v // 8)

        network N {
            in x: [3, 32, 32]
            out x -> conv2d(halve(64), 3)
        }
        """,
    ),
    _entry(
        "A256",
        "a function called with the wrong arguments",
        """A call of a `fn` gives each parameter without a default exactly one argument, by
        position or by name, and names only the function's parameters. The help shows how the
        function is declared.""",
        """
        fn make_divisible(v, divisor=8) = max(divisor, int(v + divisor / 2) // divisor * divisor)

        network N {
            in x: [3, 32, 32]
            out x -> conv2d(make_divisible(36, divsor=16), 3)
        }
        """,
        """
        fn make_divisible(v, divisor=8) = max(divisor, int(v + divisor / 2) // divisor * divisor)

        network N {
            in x: [3, 32, 32]
            out x -> conv2d(make_divisible(36, divisor=16), 3)
        }
        """,
    ),
    _entry(
        "A257",
        "a function given or giving a tensor or a layer",
        """A `fn` computes with plain values: numbers, strings, booleans, none and tuples of
        them. It cannot take a tensor (pass its size instead, `x.channels`) and cannot give a
        tensor or a layer: a piece of network is a `block`.""",
        """
        fn widen(x) = x.channels * 2

        network N {
            in x: [3, 32, 32]
            out x -> conv2d(widen(x), 3)
        }
        """,
        """
        fn widen(channels) = channels * 2

        network N {
            in x: [3, 32, 32]
            out x -> conv2d(widen(x.channels), 3)
        }
        """,
    ),
    _entry(
        "A258",
        "a buffer whose value is not a build-time constant",
        """A `buffer` holds a value its module computes once, when it is built, from sizes
        alone: `arange(...)` and the ops applied to it. Its input may not depend on an input
        of the network, whose values exist only when the network runs. A tensor learned for
        every sample is a `parameter`; a value computed from the input belongs in the
        network's body.""",
        """
        network N(window=4) {
            in x: [16]
            out x + (x -> scale(2.0) -> buffer as table)
        }
        """,
        """
        network N(window=4) {
            in x: [16]
            out x + (arange(window * window) -> buffer as table)
        }
        """,
    ),
    _entry(
        "A259",
        "a buffer computed outside its block",
        """A block's `buffer` is computed in the block's `__init__`, from the block's
        parameters, so its value is made in the same block's body: a constant passed in as a
        tensor comes from another module, which the block cannot compute from. Pass the sizes
        the value needs as parameters and compute it inside.""",
        """
        block Holder {
            in x
            in table
            out x + (table -> buffer as held)
        }
        network N(window=4) {
            in x: [16]
            out Holder(x, arange(window * window)) as holder
        }
        """,
        """
        block Holder(window) {
            in x
            out x + (arange(window * window) -> buffer as held)
        }
        network N(window=4) {
            in x: [16]
            out x -> Holder(window) as holder
        }
        """,
    ),
    _entry(
        "A260",
        "a lookup position out of range",
        """`lookup(table, positions=(...))` picks rows of a table of V rows by the positions
        written in the spec, each of which lies in -V to V-1, as Python's indices do (a
        negative one counts from the end). archc checks them where the table's length is a
        number, so a wrong position is reported here rather than as an IndexError when the
        network runs.""",
        """
        network N {
            in x: [4]
            table = x -> parameter(5, 4, exact=true) as table
            out x + (lookup(table, positions=(0, 5)) -> sum(1))
        }
        """,
        """
        network N {
            in x: [4]
            table = x -> parameter(5, 4, exact=true) as table
            out x + (lookup(table, positions=(0, 4)) -> sum(1))
        }
        """,
    ),
    _entry(
        "A261",
        "`scan` given something other than a cell, sequences and its named arguments",
        """`scan(Cell(...), x, state=h0, dim=1, reverse=false)` applies the block `Cell` once
        per step along axis `dim` of the sequence `x`. Its first argument is that block (an op
        or a chain is not a cell: write a block that applies it), with its own arguments but
        no tensors, since the scan gives it one step at a time. Then come the sequences,
        tensors; `state=` names the initial states (one tensor, or a tuple of them), `dim=` is
        a whole number and `reverse=` a truth value, both written as values rather than
        computed from parameters, since the generated loop runs along one axis in one
        direction for every instance of its class.""",
        """
        network Encoder {
            in x: [T, 8]
            in h0: [16]
            y, h = scan(linear(16), x, state=h0)
            out y
            out h
        }
        """,
        """
        block Elman(hidden) {
            in x
            in h
            h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
            out y = h2
            out h_next = h2
        }

        network Encoder {
            in x: [T, 8]
            in h0: [16]
            y, h = scan(Elman(16), x, state=h0) as rnn
            out y
            out h
        }
        """,
    ),
    _entry(
        "A262",
        "a cell that takes other than one tensor per sequence and per state",
        """At each step `scan` gives its cell that step of each sequence, then the current
        value of each carried state, in that order: a scan of one sequence with `state=(h0,
        c0)` needs a cell with three `in` tensors. The message counts both sides. A state the
        cell does not need is not given; a state it needs is given with `state=`.""",
        """
        block Step(hidden) {
            in x
            out y = x -> linear(hidden) -> tanh
        }

        network Encoder {
            in x: [T, 8]
            in h0: [16]
            y, h = scan(Step(16), x, state=h0) as rnn
            out y
            out h
        }
        """,
        """
        block Elman(hidden) {
            in x
            in h
            h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
            out y = h2
            out h_next = h2
        }

        network Encoder {
            in x: [T, 8]
            in h0: [16]
            y, h = scan(Elman(16), x, state=h0) as rnn
            out y
            out h
        }
        """,
    ),
    _entry(
        "A263",
        "a cell that gives back no output besides its states",
        """A cell gives the step's outputs first, then one new tensor per carried state, so it
        has at least one more `out` than the scan carries states. The outputs are stacked
        along the scan's axis; the new states are given to the next step, and the last ones
        are the scan's final states. When the step's output is the new state itself, as in
        a GRU, give it twice under two names.""",
        """
        block Elman(hidden) {
            in x
            in h
            out h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
        }

        network Encoder {
            in x: [T, 8]
            in h0: [16]
            h = scan(Elman(16), x, state=h0) as rnn
            out h
        }
        """,
        """
        block Elman(hidden) {
            in x
            in h
            h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
            out y = h2
            out h_next = h2
        }

        network Encoder {
            in x: [T, 8]
            in h0: [16]
            y, h = scan(Elman(16), x, state=h0) as rnn
            out y
            out h
        }
        """,
    ),
    _entry(
        "A264",
        "`moe` given a layer other than a block for its experts, or tensors beside it",
        """Written with a layer as its first argument, `moe(Expert(...), experts, top_k)`
        makes its experts copies of that layer, which must be a block (an op or a chain is
        not: write a block that applies it), with its own arguments but no tensors, since the
        moe gives each expert the tokens routed to it. The moe itself takes its input with
        `->`; after the block come the routing's arguments, `experts`, `top_k`, `softmax=` and
        `norm_topk=`.""",
        """
        network Sparse {
            in x: [T, 16]
            out x -> moe(linear(16), experts=4, top_k=2) as mlp
        }
        """,
        """
        block Expert(d) {
            in x
            out x -> linear(d) as fc
        }

        network Sparse {
            in x: [T, 16]
            out x -> moe(Expert(16), experts=4, top_k=2) as mlp
        }
        """,
    ),
)

_SHAPES = (
    _entry(
        "A301",
        "a size is not a positive whole number",
        """A dimension must be at least 1. A window (convolution or pooling) larger than its
        padded input, an upsampling factor that rounds a size down to 0, or an input declared
        with a size that is not a positive integer gives an empty or fractional axis. Chained
        downsampling is the usual cause: AlexNet's layers shrink a 32x32 image to 1x1 before
        its last pool. `with` shows the size rule with the numbers.""",
        """
        network AlexNetCifar {
            in image: [3, 32, 32]
            out image -> conv2d(64, 11, stride=4, padding=2) -> maxpool2d(3, stride=2)
                      -> conv2d(192, 5, padding=2) -> maxpool2d(3, stride=2)
                      -> maxpool2d(3, stride=2)
        }
        """,
        """
        network AlexNetCifar {
            in image: [3, 32, 32]
            out image -> conv2d(64, 3, padding=1) -> maxpool2d(2)
                      -> conv2d(192, 3, padding=1) -> maxpool2d(2)
                      -> maxpool2d(2)
        }
        """,
    ),
    _entry(
        "A302",
        "a window does not tile its input",
        """`(W - F + 2P) / S + 1` is not a whole number: the last window would run past the
        input, and torch silently drops the positions it would have covered. When real input is
        lost this is a warning; when only padding is dropped it is reported with `--strict`
        alone, as an error. The help lists nearby kernel sizes, paddings or strides that tile
        evenly.""",
        """
        network Down {
            in x: [32, 16, 16]
            out x -> conv2d(64, 5, stride=2)
        }
        """,
        """
        network Down {
            in x: [32, 16, 16]
            out x -> conv2d(64, 5, stride=2, padding=2)
        }
        """,
    ),
    _entry(
        "A303",
        "channel counts differ between connected tensors",
        """Two tensors that must agree on their channel or feature count do not: a residual sum
        whose shortcut was not projected after the branch changed the width, a layer given an
        explicit input size that differs from what reaches it, or a block input declared with
        another size. The help proposes the projection that fixes a shortcut. Axis 1 is named
        by what it holds: the features of (N, F), the channels of an image; in a rank-3 tensor,
        the time steps of a sequence (N, T, E) or the channels of a signal (N, C, L), which a
        shape alone cannot tell apart.""",
        """
        block Bottleneck(planes) {
            in x
            y = x -> conv2d(planes, 1) -> relu -> conv2d(planes * 4, 1)
            out relu(y + x)
        }

        network Net {
            in image: [64, 56, 56]
            out image -> Bottleneck(64)
        }
        """,
        """
        block Bottleneck(planes) {
            in x
            y = x -> conv2d(planes, 1) -> relu -> conv2d(planes * 4, 1)
            skip = if x.channels != planes * 4 then x -> conv2d(planes * 4, 1) else x
            out relu(y + skip)
        }

        network Net {
            in image: [64, 56, 56]
            out image -> Bottleneck(64)
        }
        """,
    ),
    _entry(
        "A304",
        "wrong number of dimensions",
        """The op expects a tensor of another rank: `batchnorm2d` takes (N, C, H, W) images
        and `batchnorm1d` (N, C) features or (N, C, L) sequences, recurrent layers and attention
        take (N, T, E) sequences, and `linear` at least (N, features). An axis argument beyond
        the tensor's rank is reported here too.""",
        """
        network Tagger {
            in features: [64, 100]
            out features -> conv1d(32, 3) -> batchnorm2d
        }
        """,
        """
        network Tagger {
            in features: [64, 100]
            out features -> conv1d(32, 3) -> batchnorm1d
        }
        """,
    ),
    _entry(
        "A305",
        "a count does not divide another",
        """A hyperparameter must divide a size: attention heads the embedding width (the help
        lists head counts that do), key/value heads the query heads, convolution groups the input
        and output channels, group norm's groups the channels, a pixel shuffle's r² the
        channels. `with` shows the remainder.""",
        """
        network Encoder {
            in tokens: [T, 512]
            out tokens -> attention(heads=12)
        }
        """,
        """
        network Encoder {
            in tokens: [T, 512]
            out tokens -> attention(heads=8)
        }
        """,
    ),
    _entry(
        "A306",
        "concatenated tensors differ off the concatenation axis",
        """`concat` joins tensors along one axis, so they must agree on every other. A U-Net
        skip connection from unpadded convolutions is larger than the upsampled path, and an
        Inception branch without padding is smaller than the others.""",
        """
        network UNetStep {
            in up: [512, 56, 56]
            in skip: [512, 64, 64]
            out concat(skip, up, dim=1)
        }
        """,
        """
        network UNetStep {
            in up: [512, 56, 56]
            in skip: [512, 64, 64]
            out concat(skip -> adaptive_avgpool2d(56), up, dim=1)
        }
        """,
    ),
    _entry(
        "A307",
        "shapes cannot broadcast",
        """Elementwise operations follow torch's broadcasting: sizes are compared from the last
        axis and fit when equal or when one of them is 1. A residual block that downsamples
        without projecting its shortcut adds a 28x28 branch to a 56x56 skip; a gate computed at
        another resolution cannot multiply the feature map. Operands of different ranks are
        refused as well, since every tensor carries the batch axis. The help proposes a 1x1
        convolution with the stride that shrinks the skip of a sum, or upsampling the smaller
        operand of a product.""",
        """
        network SpatialAttention {
            in x: [64, 56, 56]
            mask = x -> conv2d(1, 7, stride=2, padding=3) -> sigmoid
            out x * mask
        }
        """,
        """
        network SpatialAttention {
            in x: [64, 56, 56]
            mask = x -> conv2d(1, 7, padding=3) -> sigmoid
            out x * mask
        }
        """,
    ),
    _entry(
        "A308",
        "wrong element type",
        """The op needs another element type: an embedding looks up integer ids, so its input is
        declared `int64[...]`, not the default float32; a linear layer multiplies floating-point
        features, so integer ids reach it through an embedding. Booleans (a comparison's result,
        a `bool[...]` input) are masks: arithmetic and `exp` refuse them, `where(mask, x, y)`
        and `masked_fill(x, mask, value)` turn them into numbers; and the condition of `where`
        and the mask of `masked_fill` must be boolean.""",
        """
        network TextClassifier {
            in tokens: [T]
            out tokens -> embedding(30000, 256) -> mean(1) -> linear(4)
        }
        """,
        """
        network TextClassifier {
            in tokens: int64[T]
            out tokens -> embedding(30000, 256) -> mean(1) -> linear(4)
        }
        """,
    ),
    _entry(
        "A309",
        "arguments the op cannot honour",
        """Each argument is valid alone, but together, or with this input, they do not work: a
        reshape whose sizes do not multiply to the element count, `upsample` given both `size`
        and `scale_factor`, `padding="same"` with a stride, a tuple with the wrong number of
        entries, an axis argument naming the batch, pool padding over half the kernel.""",
        """
        network Generator(latent=100) {
            in z: [latent]
            out z -> linear(4 * 4 * 512) -> reshape(1024, 4, 4)
        }
        """,
        """
        network Generator(latent=100) {
            in z: [latent]
            out z -> linear(4 * 4 * 512) -> reshape(512, 4, 4)
        }
        """,
    ),
    _entry(
        "A310",
        "a size that must be fixed is symbolic",
        """A size decides a parameter's shape (a linear layer's input features, a convolution's
        input channels) or a number of outputs, so it must be a number, but it depends on a
        symbolic size such as `T`. A spectrogram declared as `[80, T]` has time last; transpose
        it before a linear layer.""",
        """
        network SpeechEncoder {
            in mel: [80, T]
            out mel -> linear(512)
        }
        """,
        """
        network SpeechEncoder {
            in mel: [80, T]
            out mel -> transpose(1, 2) -> linear(512)
        }
        """,
    ),
    _entry(
        "A311",
        "wrong number of tensor inputs",
        """An op or block received more or fewer tensors than it takes: a block with two `in`
        statements takes two tensors, in their order; `add` takes at least two. Tensors are
        passed first in a call, or from the left of `->`.""",
        """
        block Up(channels) {
            in x
            in skip
            y = x -> conv_transpose2d(channels, 2, stride=2)
            out concat(skip, y, dim=1)
        }

        network UNetTail {
            in bottom: [1024, 28, 28]
            in skip4: [512, 56, 56]
            out bottom -> Up(512)
        }
        """,
        """
        block Up(channels) {
            in x
            in skip
            y = x -> conv_transpose2d(channels, 2, stride=2)
            out concat(skip, y, dim=1)
        }

        network UNetTail {
            in bottom: [1024, 28, 28]
            in skip4: [512, 56, 56]
            out bottom -> Up(skip4, 512)
        }
        """,
    ),
    _entry(
        "A312",
        "a size is larger than 2**40",
        """No tensor axis, and no size or count given to a layer, may exceed 2**40 (about
        1.1e12): nothing real comes near it, and numbers past it make archc's own arithmetic
        and PyTorch's allocations explode. A symbolic size holding a larger constant, such as
        `H * 2**50`, is refused too, since it is that large for every H. The usual cause is a
        number typed with too many digits, or layers that grow a size without end.""",
        """
        network Wide {
            in x: [512]
            out x -> linear(2 ** 41)
        }
        """,
        """
        network Wide {
            in x: [512]
            out x -> linear(2 ** 12)
        }
        """,
    ),
    _entry(
        "A313",
        "a symbolic size is nested too deeply",
        """Each layer that divides a symbolic size (a stride, a pooling window) wraps it in one
        more floor division: `H // 2`, then `(H // 2) // 2`. sympy's work on such a size grows
        steeply with the nesting, and no real network halves an axis more than a handful of
        times, so more than 32 nested divisions are refused. Give the input numbers, or
        downsample fewer times.""",
        """
        network Shrink {
            in image: [3, H, W]
            out image -> maxpool2d(2) * 33
        }
        """,
        """
        network Shrink {
            in image: [3, H, W]
            out image -> maxpool2d(2) * 5
        }
        """,
    ),
    _entry(
        "A314",
        "a shared layer applied to inputs its weights cannot serve",
        """Every application of a layer made with `shared(...)` runs one module with one set of
        weights, the set its first application made. A later application whose inputs would
        need weights of other shapes, say a convolution given 64 channels where the first
        application gave it 3, cannot use them. The message gives both inputs and the first
        parameter that differs, with its two shapes. Give the application inputs of the first
        one's shape, or give it a layer of its own, without `shared`. Sizes the weights do not
        depend on, such as a sequence length or an image size, may differ freely.""",
        """
        network Twins {
            in a: [3, 32, 32]
            in b: [1, 32, 32]
            encoder = shared(conv2d(16, 3, padding=1))
            out (a -> encoder) + (b -> encoder)
        }
        """,
        """
        network Twins {
            in a: [3, 32, 32]
            in b: [3, 64, 64]
            encoder = shared(conv2d(16, 3, padding=1))
            out (a -> encoder -> adaptive_avgpool2d(1)) + (b -> encoder -> adaptive_avgpool2d(1))
        }
        """,
    ),
    _entry(
        "A315",
        "a shared layer applied where its module cannot be reached",
        """A shared layer is one submodule of the class whose body applies it first, and every
        later application is a call of that submodule in the same class's forward. So every
        application is in that body, outside named chains (whose layers are the children of a
        container), and a block instance cannot apply a shared layer that another body made
        and passed in. Apply the layer side by side in one body, and name the chains around
        it with `=` rather than `as`.""",
        """
        block Twice(layer) {
            in x
            out x -> layer
        }

        network Siamese {
            in a: [16]
            in b: [16]
            encoder = shared(linear(8))
            h = a -> encoder
            out h + (b -> Twice(encoder))
        }
        """,
        """
        network Siamese {
            in a: [16]
            in b: [16]
            encoder = shared(linear(8))
            out (a -> encoder) + (b -> encoder)
        }
        """,
    ),
    _entry(
        "A316",
        "`shared` of something that is not one layer",
        """`shared(layer)` makes one module that every application calls, so it takes exactly
        one layer: an op, a block, or a chain that is one module because it has a name (`as`,
        or the variable it is bound to, `head = shared(a -> b)`) or is grouped with `[...]`. An
        unnamed chain of several layers would be several modules side by side; a tensor or a
        number is no layer at all.""",
        """
        network Tower {
            in x: [16]
            out x -> shared(linear(16) -> relu) * 4
        }
        """,
        """
        network Tower {
            in x: [16]
            out x -> shared([linear(16) -> relu]) * 4
        }
        """,
    ),
    _entry(
        "A345",
        "per-projection biases in the torch attention layout",
        """`layout="torch"` holds nn.MultiheadAttention's parameters, whose q, k and v biases
        are one tensor, `in_proj_bias`: they are all there or none is. The output projection's
        bias is its own, so `bias=(true, true, true, false)` is fine. A model with a bias on
        some of q, k and v only (Whisper's k_proj has none) needs `layout="linears"`, one
        nn.Linear per projection.""",
        """
        network Whisperish {
            in x: [T, 64]
            out x -> attention(4, bias=(true, false, true, true))
        }
        """,
        """
        network Whisperish {
            in x: [T, 64]
            out x -> attention(4, bias=(true, false, true, true), layout="linears")
        }
        """,
    ),
    _entry(
        "A346",
        "attention projection names a module cannot hold",
        """With `layout="linears"` the projections are submodules named by `names`, which become
        attributes of the generated module and parts of its state_dict keys. Each must be a
        Python identifier that is not a keyword, does not start with an underscore and is not
        an attribute the attention module holds itself (`heads`, `scale`, `rotary`, ...), and
        the four must differ.""",
        """
        network Tiny {
            in x: [T, 64]
            out x -> attention(4, layout="linears", names=("q", "k", "v", "q"))
        }
        """,
        """
        network Tiny {
            in x: [T, 64]
            out x -> attention(4, layout="linears", names=("q", "k", "v", "o"))
        }
        """,
    ),
    _entry(
        "A347",
        "a sliding window or ALiBi without a causal mask",
        """`window=w` lets each query see the last w keys up to itself (Mistral, Qwen2's sliding
        window): key j is visible from query i when j <= i and i - j < w. `alibi=true` adds
        slope · (j - i) to the scores, a penalty growing with how far back key j lies. Without
        `causal=true` there is no "up to itself" and keys ahead of the query would be favoured,
        so either is refused rather than read some other way.""",
        """
        network Local {
            in x: [T, 64]
            out x -> attention(4, window=128)
        }
        """,
        """
        network Local {
            in x: [T, 64]
            out x -> attention(4, window=128, causal=true)
        }
        """,
    ),
    _entry(
        "A348",
        "an attention option without the option it refines",
        """Some attention arguments only refine another: `names` the `layout="linears"` layout,
        `qk_norm_eps` the `qk_norm=true` normalisation, `rotary_base`, `rotary_fraction`,
        `rotary_interleaved` and `rotary_offset` the `rotary=true` positions. Given alone they
        would change nothing, which is most likely a forgotten switch.""",
        """
        network Rope {
            in x: [T, 64]
            out x -> attention(4, rotary_base=500000.0)
        }
        """,
        """
        network Rope {
            in x: [T, 64]
            out x -> attention(4, rotary=true, rotary_base=500000.0)
        }
        """,
    ),
    _entry(
        "A349",
        "a rotary fraction that rotates no features",
        """Partial rotary positions rotate the first R = int(D * fraction) features of each head
        (or of the input, for the `rotary` op) and pass the rest. R is rounded down as Hugging
        Face rounds it, and must leave at least one pair of features to rotate; it must also
        be even (A305).""",
        """
        network Rope {
            in x: [T, 64]
            out x -> attention(4, rotary=true, rotary_fraction=0.05)
        }
        """,
        """
        network Rope {
            in x: [T, 64]
            out x -> attention(4, rotary=true, rotary_fraction=0.25)
        }
        """,
    ),
    _entry(
        "A350",
        "an attention mask that does not fit the scores",
        """An attention mask is (N, S), which of the S keys each sample attends to, or a tensor
        broadcastable to the scores (N, heads, T, S), with 1 on any axis it is shared along. The
        key axis is always S: the memory's length for cross-attention, the sequence's own
        otherwise. A boolean or integer mask keeps the keys where it is true or nonzero, a
        floating one is added to the scores.""",
        """
        network Padded {
            in x: [T, 64]
            in memory: [S, 64]
            in keep: bool[T]
            out attention(x, memory, heads=4, mask=keep)
        }
        """,
        """
        network Padded {
            in x: [T, 64]
            in memory: [S, 64]
            in keep: bool[S]
            out attention(x, memory, heads=4, mask=keep)
        }
        """,
    ),
    _entry(
        "A351",
        "attention projection names that do not fit the layout",
        """`names` names the projections of the layout, in order, the output projection last:
        `layout="linears"` has q, k, v and output (`("q_proj", "k_proj", "v_proj", "o_proj")`),
        `layout="fused"` one projection for q, k and v and the output
        (`("query_key_value", "dense")`). Leaving the last name out leaves the output
        projection out, for a model that keeps it in a module of its own (BERT's
        `attention.output.dense`); the output is then heads · head_dim wide. Any other count is
        refused rather than guessed at.""",
        """
        network Bloomish {
            in x: [T, 64]
            out x -> attention(4, causal=true, layout="fused", names=("q", "k", "v", "o"))
        }
        """,
        """
        network Bloomish {
            in x: [T, 64]
            out x -> attention(4, causal=true, layout="fused", names=("qkv", "o"))
        }
        """,
    ),
    _entry(
        "A352",
        "the fused attention layout for cross-attention or grouped-query heads",
        """`layout="fused"` holds BLOOM's `query_key_value`: one nn.Linear whose rows hold,
        head by head, that head's query, key and value rows. It projects one input, so it
        cannot attend over a memory, and every query head has its own key and value head, so
        `kv_heads` must equal `heads`. Use `layout="linears"` for either.""",
        """
        network Grouped {
            in x: [T, 64]
            out x -> attention(8, kv_heads=2, causal=true, layout="fused")
        }
        """,
        """
        network Grouped {
            in x: [T, 64]
            out x -> attention(8, kv_heads=2, causal=true, layout="linears")
        }
        """,
    ),
    _entry(
        "A353",
        "too few relative-position buckets, or a max_distance they already reach",
        """attention's `relative_buckets` adds T5's relative position bias: each (query, key)
        pair falls in a bucket of the key's offset from the query, and a learned table gives each
        bucket a value per head. Bidirectional (without `causal`), half the buckets hold keys
        before the query and half those after it; causal, all of them hold keys before it. In
        each direction the first half of the buckets count distances one by one and the rest
        are log-spaced from there up to `relative_max_distance`. So each direction needs two
        buckets at least (4 in all bidirectional, 2 causal), and `relative_max_distance` must
        reach past the exact buckets, half of a direction's buckets; otherwise the log-spaced
        buckets have nothing to spread over. T5 has 32 buckets reaching 128.""",
        """
        network Encoder {
            in x: [T, 64]
            out x -> attention(8, scale=1.0, relative_buckets=3)
        }
        """,
        """
        network Encoder {
            in x: [T, 64]
            out x -> attention(8, scale=1.0, relative_buckets=32)
        }
        """,
    ),
    _entry(
        "A380",
        "a recurrent state of the wrong shape",
        """An initial state `h0` (or an LSTM's `c0`) given to `rnn`, `lstm` or `gru` must have
        the shape of the layer's state: batch first like every tensor, then one row per layer
        and direction, then the state's width, (N, num_layers * directions, H_out), where H_out
        is `proj_size` for a projected LSTM (its `c0` keeps `hidden_size`). It also has the
        input's element type (A308 otherwise). The final states `return_state=true` gives have
        exactly this shape, so a state carried from one call to the next always fits.""",
        """
        network Decoder {
            in x: [T, 32]
            in h0: [64]
            out x -> gru(64, num_layers=2, h0=h0)
        }
        """,
        """
        network Decoder {
            in x: [T, 32]
            in h0: [2, 64]
            out x -> gru(64, num_layers=2, h0=h0)
        }
        """,
    ),
    _entry(
        "A381",
        "an LSTM given one initial state without the other",
        """An LSTM's state is two tensors, the hidden state `h0` and the cell state `c0`, and
        torch starts it from both or from zeros for both. Give `c0=` with `h0=`, or neither.""",
        """
        network Tagger {
            in x: [T, 32]
            in h0: [1, 64]
            out x -> lstm(64, h0=h0)
        }
        """,
        """
        network Tagger {
            in x: [T, 32]
            in h0: [1, 64]
            in c0: [1, 64]
            out x -> lstm(64, h0=h0, c0=c0)
        }
        """,
    ),
    _entry(
        "A382",
        "final states asked for with only the last step",
        """`return_state=true` adds the final states to the layer's outputs, and
        `output="last"` gives the last layer's final hidden state, which those states already
        hold: its rows are the last `directions` rows of `h_n`. Keep the sequence and take the
        final states, or take the last step alone.""",
        """
        network Encoder {
            in x: [T, 32]
            last, h = x -> gru(64, output="last", return_state=true)
            out last
            out h
        }
        """,
        """
        network Encoder {
            in x: [T, 32]
            steps, h = x -> gru(64, return_state=true)
            out steps
            out h
        }
        """,
    ),
    _entry(
        "A385",
        "a scan along an axis its sequences do not share",
        """`dim=` counts axes with the batch as 0, so `dim=1` steps along the first axis a
        network input declares. The axis must exist in every sequence, must not be the batch,
        and every sequence must be as long along it as the first, since one step takes one
        slice of each; each step's outputs must have the axis's place to be stacked back
        into.""",
        """
        block Elman(hidden) {
            in x
            in h
            h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
            out y = h2
            out h_next = h2
        }

        network Encoder {
            in x: [T, 8]
            in h0: [16]
            y, h = scan(Elman(16), x, state=h0, dim=3) as rnn
            out y
            out h
        }
        """,
        """
        block Elman(hidden) {
            in x
            in h
            h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
            out y = h2
            out h_next = h2
        }

        network Encoder {
            in x: [T, 8]
            in h0: [16]
            y, h = scan(Elman(16), x, state=h0, dim=1) as rnn
            out y
            out h
        }
        """,
    ),
    _entry(
        "A386",
        "a cell whose new state differs from its state",
        """The state a cell gives back is the state the next step receives, so it must have
        exactly the shape and element type of the state it replaces; the loop could not carry
        it otherwise. The message names the state, its shape going in and coming out, and
        where the new state is made. Start the state with the shape the cell makes, or make
        the cell give back the state's shape.""",
        """
        block Elman(hidden) {
            in x
            in h
            h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
            out y = h2
            out h_next = h2
        }

        network Encoder {
            in x: [T, 8]
            in h0: [32]
            y, h = scan(Elman(16), x, state=h0) as rnn
            out y
            out h
        }
        """,
        """
        block Elman(hidden) {
            in x
            in h
            h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
            out y = h2
            out h_next = h2
        }

        network Encoder {
            in x: [T, 8]
            in h0: [16]
            y, h = scan(Elman(16), x, state=h0) as rnn
            out y
            out h
        }
        """,
    ),
    _entry(
        "A387",
        "an expert of a `moe` that does not give back its tokens' shape",
        """`moe(Expert(...), experts=8, top_k=2)` gives each expert the tokens routed to it,
        (tokens, d), and sums the experts' outputs, weighted by the router, in the tokens'
        place. So the block must give back one tensor of exactly that shape and element type:
        the same number of features `d` as the moe's input has on its last axis. An expert that
        widens the features must project them back, as an MLP's second linear layer does.""",
        """
        block Expert(hidden) {
            in x
            out x -> linear(hidden) as fc1 -> gelu
        }

        network Sparse {
            in x: [T, 16]
            out x -> moe(Expert(64), experts=4, top_k=2) as mlp
        }
        """,
        """
        block Expert(d, hidden) {
            in x
            out x -> linear(hidden) as fc1 -> gelu -> linear(d) as fc2
        }

        network Sparse {
            in x: [T, 16]
            out x -> moe(Expert(16, 64), experts=4, top_k=2) as mlp
        }
        """,
    ),
    _entry(
        "A388",
        "an expert of a `moe` that normalises over the batch",
        """Each expert of `moe(Expert(...), experts, top_k)` runs on the tokens routed to it
        alone, so its batch is those tokens, however many there are in a given run. A batch
        norm in training normalises with statistics over its batch: the expert's output for one
        token would depend on which other tokens the router sent it. An expert computes each
        token on its own; a layer norm or an RMS norm normalises a token's features and is the
        norm experts use.""",
        """
        block Expert(d) {
            in x
            out x -> linear(d) as fc -> batchnorm1d as norm -> relu
        }

        network Sparse {
            in x: [T, 16]
            out x -> moe(Expert(16), experts=4, top_k=2) as mlp
        }
        """,
        """
        block Expert(d) {
            in x
            out x -> linear(d) as fc -> layernorm as norm -> relu
        }

        network Sparse {
            in x: [T, 16]
            out x -> moe(Expert(16), experts=4, top_k=2) as mlp
        }
        """,
    ),
    _entry(
        "A365",
        "more experts chosen per token than there are",
        """A mixture of experts sends each token to its `top_k` highest-scoring experts, so
        `top_k` can be at most `experts`. Sending every token to every expert (`top_k` equal to
        `experts`) is a dense mixture; sparse models choose a few of many (OLMoE: 8 of 64).""",
        """
        network Sparse {
            in x: [T, 512]
            out x -> moe(1024, experts=8, top_k=16)
        }
        """,
        """
        network Sparse {
            in x: [T, 512]
            out x -> moe(1024, experts=16, top_k=8)
        }
        """,
    ),
    _entry(
        "A366",
        "top-k weights normalised twice",
        """With `softmax="after"` the router's softmax runs over the chosen experts' scores
        alone (Mixtral's formulation), so their weights already sum to one and `norm_topk=true`
        would change nothing. Renormalising is for `softmax="before"`, where the softmax runs
        over all experts and the chosen probabilities sum to less than one (OLMoE keeps them
        as they are, Qwen-MoE renormalises).""",
        """
        network Sparse {
            in x: [T, 512]
            out x -> moe(1024, experts=8, top_k=2, softmax="after", norm_topk=true)
        }
        """,
        """
        network Sparse {
            in x: [T, 512]
            out x -> moe(1024, experts=8, top_k=2, softmax="before", norm_topk=true)
        }
        """,
    ),
    _entry(
        "A367",
        "topk takes more values than its axis holds",
        """`topk(k, dim)` returns the k largest values along one axis and their indices, so k
        can be at most that axis's length. The axis is the last one unless `dim` says
        otherwise; a k meant for another axis needs `dim`.""",
        """
        network Router {
            in x: [T, 512]
            scores = x -> linear(8, bias=false) as gate
            top, chosen = scores -> topk(16)
            out top
        }
        """,
        """
        network Router {
            in x: [T, 512]
            scores = x -> linear(8, bias=false) as gate
            top, chosen = scores -> topk(2)
            out top
        }
        """,
    ),
    _entry(
        "A368",
        "an index longer than the tensor it indexes",
        """`gather(x, index, dim)` reads x at each position of `index`, and
        `scatter_add(x, index, src, dim)` adds src's entries at the positions of `index`; torch
        requires the index to be no longer than x on every axis but `dim`, and no longer than
        src on any axis. A symbolic size must be the same size in both.""",
        """
        network Picked {
            in x: [8, 4]
            in index: int64[2, 6]
            out gather(x, index, 1)
        }
        """,
        """
        network Picked {
            in x: [8, 4]
            in index: int64[2, 4]
            out gather(x, index, 1)
        }
        """,
    ),
)

_BACKENDS = (
    _entry(
        "A330",
        "two floating-point element types meet",
        """An op combines tensors of two floating-point types: float32 with float64 in a sum, a
        comparison or a matrix product, or a float64 input into a layer whose parameters are
        float32, as every generated module builds them. torch would promote some of these
        silently and fail on others when the network runs; archc refuses them where they are
        written. Declare the inputs with one element type. To compute in float64 or bfloat16,
        keep the spec in float32 and build the whole network in the other type with
        `archc.build(path, dtype=torch.float64)`.""",
        """
        network Gram {
            in a: [4, 8]
            in b: float64[8, 4]
            out matmul(a, b)
        }
        """,
        """
        network Gram {
            in a: [4, 8]
            in b: [8, 4]
            out matmul(a, b)
        }
        """,
    ),
    _entry(
        "A401",
        "the name cannot name a layer in generated PyTorch code",
        """A layer's `as` name becomes both an attribute of the generated `nn.Module`
        (`self.conv1`) and its state_dict key, so archc cannot rename it. A name that the module
        already uses is refused: an attribute or method of every `nn.Module` (`forward`,
        `parameters`, `compile`, `_modules`, taken from torch itself), of the `nn.Sequential`,
        `nn.ModuleList` and `nn.ModuleDict` that hold named chains (`append`, `keys`), a method
        the generated class defines (`reset_parameters`), a Python keyword, or a name with two
        leading underscores, which Python renames inside a class. `archc check` reports it,
        since the spec names a state_dict key no PyTorch module can have.""",
        """
        network Net {
            in x: [512]
            out x -> linear(10) as parameters
        }
        """,
        """
        network Net {
            in x: [512]
            out x -> linear(10) as head
        }
        """,
    ),
    _entry(
        "A402",
        "a learned tensor inside a named chain or repeat",
        """A named chain (`(...) as body`) and a repeat (`block * n`) become an `nn.Sequential`
        or `nn.ModuleList`, which hold layers; a `parameter` is a tensor that its module holds
        directly, so it cannot be one of their members. Bind it outside the chain and use the
        variable inside.""",
        """
        network Net {
            in x: [16, 64]
            out x -> (layernorm -> parameter(16, 64) as table) as body
        }
        """,
        """
        network Net {
            in x: [16, 64]
            x = x + (x -> parameter(16, 64) as table)
            out x -> (layernorm -> linear(64)) as body
        }
        """,
        runnable=False,
    ),
)

_IMPORT = (
    _entry(
        "A501",
        "a forward that torch.fx cannot trace",
        """`archc import` records a model by running its forward on symbolic tensors (torch.fx).
        A forward that decides what to compute from the values in a tensor (`if x.mean() > 0`,
        a loop until a norm is small) has no single graph: another input would take another
        path, and a spec describes one graph for every input. The module is written as a
        `TODO_<path>` placeholder, which `archc check` rejects, and the rest of the model is
        imported. Make the choice from the module's configuration rather than its input, or
        write that part of the spec by hand.""",
        """
        class Gate(nn.Module):
            def forward(self, x):
                if x.mean() > 0:
                    return self.conv(x)
                return x
        """,
        """
        class Gate(nn.Module):
            def forward(self, x):
                return self.conv(x) if self.enabled else x
        """,
        runnable=False,
        lang="python",
    ),
    _entry(
        "A502",
        "a layer archc has no op for",
        """Each `torch.nn` layer of an imported model becomes the archc op that builds the same
        module: same class, same hyperparameters, same state_dict shapes. A layer no op builds
        (`nn.ChannelShuffle`, a layer from another library) is written as a `TODO_<path>`
        placeholder, which `archc check` rejects. Replace it with ops that compute the same
        thing, or add an op to archc's registry.""",
        """
        self.shuffle = nn.ChannelShuffle(2)
        """,
        """
        # in the spec: the same shuffle from shape ops
        x = x -> unflatten(1, (2, 4)) -> transpose(1, 2) -> flatten(1, 2)
        """,
        runnable=False,
        lang="python",
    ),
    _entry(
        "A503",
        "a function archc has no op for",
        """A torch function or tensor method called in a forward becomes the op of the same
        name (`torch.flatten` is `flatten`, `F.adaptive_avg_pool2d` is `adaptive_avgpool2d`),
        and `+`, `-`, `*` and `/` stay operators. Sizes read off a tensor's shape are
        known before the model runs (`x.view(x.size(0), -1)` is `reshape(-1)`), but a function
        without an op, or one given a size that changes with the batch other than as its first
        axis (`x.view(x.size(0) * 2, -1)`), is written as a `TODO_<path>` placeholder, which
        `archc check` rejects. A library's function that `torch.fx.wrap` keeps whole is
        recorded as a call, not its body: archc writes the body of those it holds a
        definition of (torchvision's `shifted_window_attention`), and reports any other, or
        a call its definition does not cover, naming the module's tensors it takes.""",
        """
        return torch.cumsum(self.conv(x), dim=1)
        """,
        """
        return torch.flatten(self.conv(x), 1)
        """,
        runnable=False,
        lang="python",
    ),
    _entry(
        "A504",
        "a custom autograd function",
        """A `torch.autograd.Function` defines its own backward, which need not be the
        derivative of its forward (a clipped or straight-through gradient). torch.fx would
        trace its forward and silently drop the backward, so `archc import` refuses it: the
        module that calls it is written as a `TODO_<path>` placeholder, which `archc check`
        rejects.""",
        """
        return ClipGradient.apply(x)
        """,
        """
        return x.clamp(-1, 1)
        """,
        runnable=False,
        lang="python",
    ),
    _entry(
        "A505",
        "a module structure a spec cannot express",
        """A spec's blocks return one tensor, and its learned tensors belong to layers. A
        submodule that returns a tuple, a container whose layers do not run one after another,
        or a forward that reads a parameter directly (other than a learned tensor shared by
        every sample, `parameter`) cannot be written that way; a block that reads several
        tensors can (`x -> Up(skip) as up1`), unless it sits in a container that is never
        called itself; `archc import` writes a `TODO_<path>` placeholder there, which `archc check`
        rejects. A model whose own forward returns several tensors (a tuple, or a dict of
        outputs as Hugging Face's models return) gives no spec: import a module that returns
        the one tensor wanted.""",
        """
        def forward(self, x):
            return self.a(x), self.b(x)
        """,
        """
        def forward(self, x):
            return self.a(x) + self.b(x)
        """,
        runnable=False,
        lang="python",
    ),
    _entry(
        "A506",
        "an imported model that is itself a container",
        """An `nn.Sequential` (or a list or dict of layers) names its layers by position, so its
        state_dict keys are `0.weight`, `2.bias`. A network's own layers are named with `as`,
        and a name cannot be a number, so the spec `archc import` writes for such a model
        computes the same function but its keys differ. Import a module that holds the
        container as an attribute instead (its keys are then `body.0.weight`, a named chain),
        or rename the keys when loading a state_dict; `archc diff` lists them.""",
        """
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

            def forward(self, x):
                return self.body(x)
        """,
        runnable=False,
        lang="python",
    ),
    _entry(
        "A507",
        "a value changed in place",
        """A spec's values never change once made: every op makes a new tensor. A forward that
        changes a tensor in place (`y.mul_(2)`, `y += 1`, `x[:, 0] = 0`) and reads it again
        afterwards, or assigns into any value torch.fx traces (a dict of keyword arguments),
        relies on the change reaching every later read, which a spec's graph cannot
        say, so `archc import` writes the module that does it as a `TODO_<path>` placeholder,
        which `archc check` rejects. An in-place change whose input nothing reads again (`out
        += identity` as the last use of `out`) is imported as the new value it makes.""",
        """
        y = self.conv(x)
        y.mul_(2.0)
        return y
        """,
        """
        return self.conv(x) * 2.0
        """,
        runnable=False,
        lang="python",
    ),
    _entry(
        "A508",
        "a model that fails on the example inputs",
        """`archc import` runs the traced model on random inputs of the shapes `--input` gives,
        one sample's shape without the batch, to learn every tensor's shape; it runs it again on
        a batch twice as large to tell the batch size from other sizes. A model that raises on
        the first run cannot be imported: the diagnostic shows the line that failed and torch's
        message. A model that fixes its own batch size (`x.view(1, -1)`) runs on the first
        batch only, and the size it fixes is reported where it is used (A503).""",
        """
        archc import models.py:Net --input 5      # Net's first layer is nn.Linear(12, 4)
        """,
        """
        archc import models.py:Net --input 12
        """,
        runnable=False,
        lang="sh",
    ),
    _entry(
        "A509",
        "a module applied where a spec cannot share it",
        """A module that a forward calls more than once (one encoder for both inputs, ALBERT's
        one layer applied twelve times) is imported as one shared instance: `encoder =
        shared(Encoder)`, then `a = left -> encoder` and `b = right -> encoder`, so its weights
        are held and loaded once. A spec applies a shared instance only in the body that binds
        it, by its name, and binds a block's other tensors once: a module applied from the
        forwards of two different modules, more than once inside a container, under a path
        that is not an attribute name, or with other tensors besides its input at each call,
        cannot be written that way, so `archc import` writes its later applications as
        `TODO_<path>_call<n>` placeholders, which `archc check` rejects.""",
        """
        def forward(self, x):  # Refine's forward calls the model's own `conv`
            return self.refine(self.conv(x))
        """,
        """
        def forward(self, x):  # the model applies `conv` both times
            return torch.relu(self.conv(self.conv(x)))
        """,
        runnable=False,
        lang="python",
    ),
)

EXPLANATIONS: dict[str, Explanation] = {
    e.code: e for e in (*_SYNTAX, *_NAMES, *_SHAPES, *_BACKENDS, *_IMPORT)
}

_GROUPS = (
    ("A1", "A1xx: syntax", "The text cannot be read as a spec."),
    (
        "A2",
        "A2xx: names, arguments and elaboration",
        "The spec reads, but names, arguments, imports or expressions do not make sense.",
    ),
    (
        "A3",
        "A3xx: shapes and counts",
        "Everything is well formed, but the tensors that flow through the network do not fit "
        "the layers they reach.",
    ),
    ("A4", "A4xx: backends", "The network is valid but cannot be emitted."),
    ("A5", "A5xx: importing", "A PyTorch model has a part `archc import` cannot write as a spec."),
)


def unknown_code(code: str) -> str:
    """The message for a code without an explanation, with the nearest codes.

    >>> unknown_code("A3O3")
    'unknown diagnostic code `A3O3`; did you mean `A303` or `A313` or `A353`?'
    """
    close = suggest(code.upper(), EXPLANATIONS)[:3]
    hint = "; did you mean " + " or ".join(f"`{c}`" for c in close) + "?" if close else ""
    return f"unknown diagnostic code `{code}`{hint}"


def render_text(entry: Explanation) -> str:
    """The explanation as `archc explain` prints it."""
    indent = textwrap.indent
    return (
        f"{entry.code}: {entry.title}\n\n"
        f"{textwrap.fill(entry.text, WIDTH)}\n\n"
        f"For example:\n\n{indent(entry.example, '    ')}\n"
        f"Fixed:\n\n{indent(entry.fix, '    ')}"
    )


def render_markdown() -> str:
    """docs/errors.md: every explanation, grouped by the first digit of its code."""
    parts = [
        "# Diagnostic codes\n",
        "<!-- Generated from archc/explain.py by `python -m archc.explain > docs/errors.md`; "
        "do not edit. -->\n",
        textwrap.fill(
            "Every diagnostic archc reports carries a stable code, and a retired code is never "
            "reused. This page explains each code with a failing example and its fix; "
            "`archc explain CODE` prints the same text in a terminal.",
            WIDTH,
        )
        + "\n",
    ]
    for prefix, heading, summary in _GROUPS:
        entries = [e for e in EXPLANATIONS.values() if e.code.startswith(prefix)]
        if not entries:
            continue
        parts.append(f"## {heading}\n\n{summary}\n")
        for entry in sorted(entries, key=lambda e: e.code):
            parts.append(
                f"### {entry.code}: {entry.title}\n\n"
                f"{textwrap.fill(entry.text, WIDTH)}\n\n"
                f"```{entry.lang}\n{entry.example}```\n\n"
                f"Fixed:\n\n```{entry.lang}\n{entry.fix}```\n"
            )
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
