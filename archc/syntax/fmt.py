"""The canonical layout of a spec (`archc fmt`): AST and comments back to text.

The output depends only on the tree, the spelling of its numbers, the comments and where the
user left blank lines, so formatting twice changes nothing more, and the formatted text parses to
the same tree.

Layout
    4 spaces of indentation per `{ }` level, one statement per line, LF line ends, one final
    newline (none for a file with nothing in it), no trailing whitespace.
Blank lines
    Between statements of a body, and between top-level items other than definitions, a blank
    line stays where the user put one (several count as one). A definition always has exactly one
    blank line before and after it; own-line comments directly above it (no blank line between)
    count as part of it. There is never a blank line at the start of the file, after `{` or before
    `}`. Items keep their order: `use` lines are not sorted or moved.
Spacing
    One space around binary operators, comparisons, `and`, `or`, `->`, `as` and the `=` of an
    assignment, `out name =` and `tie`; none around the `=` of a keyword argument, a parameter
    default or a per-parameter init (`conv2d(64, 3, stride=2)`, `init bn: weight=1, bias=0`);
    none after a sign (`-x`); one space after each comma and after the `:` of `in` and `init`.
    No trailing commas, except in a 1-tuple `(x,)` and after each parameter of a broken
    definition header. A definition reads `block Name(a, b=1) {` (no parentheses without
    parameters) and `block Name {}` when its body is empty.
Parentheses
    Only where the grammar's precedence needs them (see :mod:`archc.syntax.fmt_expr`), so
    `x -> (a -> b) as layer1` keeps its parentheses and `((a + b)) * c` becomes `(a + b) * c`.
Literals
    Numbers are written as the source wrote them (`50_257`, `1e-5`, `3E4`, `0.50`): digit
    separators and exponents carry meaning for the reader. Strings use the escapes `\\"`,
    `\\\\`, `\\n` and `\\t` and nothing else.
Line breaks
    A statement that fits in 99 columns stays on one line. Otherwise its outermost expression is
    broken, and each part is then laid out by the same rule:

    - a chain puts its head on the first line and every stage on a line of its own that starts
      with `->`; a conditional breaks before `then` and before `else`;
    - a call, list, tuple or parenthesised group breaks after its opening bracket, with one
      item per line 4 columns deeper and the closing bracket on a line of its own;
    - inside brackets, and only there, arithmetic, a comparison or `and` / `or` breaks before
      each operator of its loosest run (`a + b - c` breaks before `+` and `-`); elsewhere a
      line may not start with an operator, and no parentheses are added to make it so.

    The continuation lines (`->`, `then`, `else`, an operator) go 4 columns deeper than the
    line the expression starts on, unless the expression starts that line itself: then it is
    inside brackets, whose indentation sets it apart already, and they are level with it. So a
    chain breaks the same way at statement level, as a call argument (`residual(...)`) and in
    parentheses:

        x = x
            -> residual(
                layernorm as ln_1
                -> attention(heads) as attn
            )

    A definition header longer than 99 columns puts one parameter per line, each followed by a
    comma, and `) {` on a line of its own. `use`, `in`, `tie` and per-parameter `init` lines
    are never broken.
Comments
    A comment on a line of its own stays on a line of its own, indented like the code after it
    (one step deeper than a closing `}`, `)` or `]` after it); a comment after code stays after
    code, two spaces after it. Inside a statement or definition header, anything that can break
    (above) holding a comment before its last line is broken as if it were too long. Each
    comment then follows the output line whose code starts last before it in the source: at the
    end of that line if it came after code there and the line has no comment yet, otherwise on a
    line of its own below. So a comment inside kept parentheses stays inside them, and a comment
    inside code that is not broken (`a + b` outside brackets, an `in` line) moves to the end of
    that line. Comments are never dropped, duplicated or reordered; whitespace at their end is
    removed.

>>> from archc.errors import SourceFile
>>> print(format_source(SourceFile("t.arch", "network N{in x\\nout  x->relu}")), end="")
network N {
    in x
    out x -> relu
}
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from archc.errors import SourceFile
from archc.syntax import ast
from archc.syntax.fmt_expr import arg_text, find_code, flat, quote, skip_blank
from archc.syntax.fmt_lines import INDENT, WIDTH, Breaker, Line
from archc.syntax.parse import parse

Node = ast.Item | ast.Stmt


def format_source(source: SourceFile) -> str:
    """Parse ``source`` and return it in canonical layout; raises :class:`ArchError` if invalid."""
    return format_module(parse(source))


def format_module(module: ast.Module) -> str:
    """``module`` as canonical text, comments included (see the module docstring)."""
    comments = sorted(module.comments, key=lambda c: c.span.start)
    printer = _Printer(Breaker([c.span for c in comments]))
    lines = printer.block(module.items, comments, 0, top=True)
    return "\n".join(lines) + "\n" if lines else ""


def _comment(comment: ast.Comment, indent: int = 0) -> str:
    return " " * indent + comment.text.rstrip()


def _is_trailing(comment: ast.Comment) -> bool:
    """Whether code comes before ``comment`` on its line."""
    text = comment.span.source.text
    line_start = text.rfind("\n", 0, comment.span.start) + 1
    return bool(text[line_start : comment.span.start].strip(" \t\f"))


def _attach(lines: Sequence[Line], comments: Sequence[ast.Comment], after: int) -> list[str]:
    """The lines of one statement as text, each comment put back between the right lines.

    Comments between the anchors of lines k and k+1 follow line k: the first at its end if it
    came after code in the source, the others on lines of their own. ``after`` is the
    indentation of own-line comments that follow the last line.
    """
    anchors = [line.anchor for line in lines]
    groups: list[list[ast.Comment]] = [[] for _ in lines]
    for comment in comments:
        groups[max(0, bisect.bisect_right(anchors, comment.span.start) - 1)].append(comment)
    out = []
    for k, (line, group) in enumerate(zip(lines, groups, strict=True)):
        text = " " * line.indent + line.text
        if group and _is_trailing(group[0]):
            text += "  " + _comment(group[0])
            group = group[1:]
        out.append(text)
        indent = lines[k + 1].comment_indent if k + 1 < len(lines) else after
        out.extend(_comment(c, indent) for c in group)
    return out


def _distribute(
    spans: Sequence[tuple[int, int]], comments: Sequence[ast.Comment]
) -> tuple[list[list[ast.Comment]], list[ast.Comment]]:
    """Split ``comments`` into those owned by each span and those standing alone.

    A span owns the comments inside it, and a comment after code belongs to the code before it.
    """
    starts = [start for start, _ in spans]
    owned: list[list[ast.Comment]] = [[] for _ in spans]
    alone: list[ast.Comment] = []
    for comment in comments:
        where = comment.span.start
        i = bisect.bisect_right(starts, where) - 1
        if i >= 0 and (where < spans[i][1] or _is_trailing(comment)):
            owned[i].append(comment)
        else:
            alone.append(comment)
    return owned, alone


def _braces(node: ast.Definition) -> tuple[int, int]:
    """The offsets of the `{` and `}` around the body of ``node``."""
    text = node.span.source.text
    last = node.params[-1] if node.params else None
    header_end = (last.default or last.name) if last else node.name
    opening = find_code(text, header_end.span.end, "{")
    body_end = _code_end(node.body[-1]) if node.body else opening + 1
    return opening, find_code(text, body_end, "}")


def _code_end(node: Node) -> int:
    """The offset just past the last code of ``node`` (its span may run on over a comment)."""
    if isinstance(node, ast.Definition):
        return _braces(node)[1] + 1
    last: ast.Expr | ast.Ident | ast.Path | ast.Arg | ast.TensorType
    if isinstance(node, ast.Use):
        last = node.path
    elif isinstance(node, ast.Input):
        last = node.type or node.name
    elif isinstance(node, ast.Output | ast.Assign):
        last = node.value
    elif isinstance(node, ast.Function):
        last = node.body
    elif isinstance(node, ast.Tie):
        last = node.condition or node.source
    elif isinstance(node, ast.InitRule):
        last = node.scheme if node.scheme is not None else node.per_param[-1]
    else:
        last = node.message or node.test
    # Parentheses around the last expression are not part of its span.
    text, end = node.span.source.text, last.span.end
    after = skip_blank(text, end)
    while text[after : after + 1] == ")":
        end = after + 1
        after = skip_blank(text, end)
    return end


Element = tuple[int, int, Node | ast.Comment]  # start, end of code, what is there


def _blank_lines(elements: Sequence[Element], top: bool) -> list[bool]:
    """For each element, whether a blank line goes before it."""
    source = elements[0][2].span.source
    lines = [(source.line_col(s)[0], source.line_col(max(s, e - 1))[0]) for s, e, _ in elements]
    blank = [i > 0 and lines[i][0] - lines[i - 1][1] > 1 for i in range(len(elements))]
    if not top:
        return blank
    # A definition together with the comments right above it is set off by blank lines.
    unit = [False] * len(elements)
    for i in reversed(range(len(elements))):
        node = elements[i][2]
        next_unit = i + 1 < len(elements) and unit[i + 1] and not blank[i + 1]
        unit[i] = isinstance(node, ast.Definition) or (isinstance(node, ast.Comment) and next_unit)
    for i in range(1, len(elements)):
        after_definition = isinstance(elements[i - 1][2], ast.Definition)
        blank[i] = blank[i] or after_definition or (unit[i] and not unit[i - 1])
    return blank


class _Printer:
    def __init__(self, breaker: Breaker) -> None:
        self._breaker = breaker

    def block(
        self, nodes: Sequence[Node], comments: Sequence[ast.Comment], indent: int, top: bool
    ) -> list[str]:
        """The items of a file (``top``) or the statements of a body, with their comments."""
        spans = [(node.span.start, _code_end(node)) for node in nodes]
        owned, alone = _distribute(spans, comments)
        elements: list[Element] = [(s, e, n) for (s, e), n in zip(spans, nodes, strict=True)]
        elements += [(c.span.start, c.span.end, c) for c in alone]
        elements.sort(key=lambda element: element[0])
        if not elements:
            return []
        owner = {id(node): own for node, own in zip(nodes, owned, strict=True)}
        out: list[str] = []
        for (_, _, node), blank in zip(elements, _blank_lines(elements, top), strict=True):
            if blank:
                out.append("")
            if isinstance(node, ast.Comment):
                out.append(_comment(node, indent))
            elif isinstance(node, ast.Definition):
                out += self.definition(node, owner[id(node)], indent)
            else:
                out += _attach(self.statement(node, indent), owner[id(node)], indent)
        return out

    def definition(
        self, node: ast.Definition, comments: Sequence[ast.Comment], indent: int
    ) -> list[str]:
        opening, closing = _braces(node)
        first = node.body[0].span.start if node.body else closing
        head: list[ast.Comment] = []
        inside: list[ast.Comment] = []
        tail: list[ast.Comment] = []
        for c in comments:
            where = c.span.start
            if where < opening or (where < first and _is_trailing(c)):
                head.append(c)
            else:
                (tail if where > closing else inside).append(c)
        if not node.body and not head and not inside:
            return _attach(self.header(node, opening, indent, " {}"), tail, indent)
        inner = indent + INDENT
        return [
            *_attach(self.header(node, opening, indent, " {"), head, inner),
            *self.block(node.body, inside, inner, top=False),
            *_attach([Line(indent, "}", closing, inner)], tail, indent),
        ]

    def header(self, node: ast.Definition, opening: int, indent: int, brace: str) -> list[Line]:
        """`block Name(a, b=1)` and ``brace``: one line, or one parameter a line like a call.

        ``opening`` is the offset of the `{` after the header in the source.
        """
        name = f"{node.kind} {node.name.name}"
        inner = indent + INDENT
        if not node.params:
            return [Line(indent, name + brace, node.span.start, inner)]
        one = f"{name}({', '.join(_param(p) for p in node.params)}){brace}"
        closing = self._breaker.code_before(node.span.source.text, opening)
        # As in a call, a comment inside the parameter list breaks it.
        if indent + len(one) <= WIDTH and not self._breaker.commented(node.span.start, closing):
            return [Line(indent, one, node.span.start, inner)]
        lines = [Line(indent, name + "(", node.span.start, inner)]
        for param in node.params:
            start = param.span.start
            if param.default is None:
                lines.append(Line(inner, param.name.name + ",", start, inner))
            else:
                label = param.name.name + "="
                lines += self._breaker.lines(param.default, inner, label, ",", start, nested=True)
        return [*lines, Line(indent, ")" + brace, closing, inner)]

    def statement(self, node: Node, indent: int) -> list[Line]:
        start = node.span.start

        def one(text: str) -> list[Line]:
            return [Line(indent, text, start, indent)]

        def laid(value: ast.Expr, prefix: str, suffix: str = "") -> list[Line]:
            return self._breaker.lines(value, indent, prefix, suffix, start)

        if isinstance(node, ast.Use):
            return one(f"use {quote(node.path.value)}")
        if isinstance(node, ast.Input):
            declared = f": {_tensor_type(node.type)}" if node.type else ""
            return one(f"in {node.name.name}{declared}")
        if isinstance(node, ast.Output):
            return laid(node.value, "out " + (f"{node.name.name} = " if node.name else ""))
        if isinstance(node, ast.Assign):
            return laid(node.value, ", ".join(t.name for t in node.targets) + " = ")
        if isinstance(node, ast.Function):
            params = ", ".join(_param(p) for p in node.params)
            return laid(node.body, f"fn {node.name.name}({params}) = ")
        if isinstance(node, ast.Tie):
            tie = f"tie {_path(node.target)} = {_path(node.source)}"
            return one(tie) if node.condition is None else laid(node.condition, f"{tie} if ")
        if isinstance(node, ast.InitRule):
            target = node.target
            label = _path(target) if isinstance(target, ast.Path) else quote(target.glob)
            prefix = f"init {label}: "
            if node.scheme is not None:
                return laid(node.scheme, prefix)
            return one(prefix + ", ".join(arg_text(a) for a in node.per_param))
        assert isinstance(node, ast.Assert)
        message = f", {quote(node.message.value)}" if node.message else ""
        return laid(node.test, "assert ", message)


def _param(param: ast.Param) -> str:
    default = f"={flat(param.default)}" if param.default is not None else ""
    return param.name.name + default


def _path(path: ast.Path) -> str:
    quoted = path.quoted or (False,) * len(path.parts)
    return ".".join(quote(p) if q else p for p, q in zip(path.parts, quoted, strict=True))


def _tensor_type(tensor: ast.TensorType) -> str:
    dtype = tensor.dtype.name if tensor.dtype else ""
    return f"{dtype}[{', '.join(flat(d) for d in tensor.dims)}]"
