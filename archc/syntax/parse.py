"""Text to AST: run the LALR parser with the AST builder inside it, and report syntax errors.

The builder's methods run as the parser reduces each rule, so no parse tree is ever built;
each node's span runs from its first token to its last. Lark builds the parser and
fast_lalr.py runs it (Lark's own loop reads only text that does not lex, to say where).
Parsing never stops at the first mistake: after an error the statement holding it is blanked
out (offsets kept) and the text is parsed again, so one run reports every broken statement.

>>> from archc.errors import SourceFile
>>> module = parse(SourceFile("t.arch", "network N {\\n  in x: [3]\\n  out x -> relu\\n}\\n"))
>>> module.items[0].name.name
'N'
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedInput
from lark.visitors import Transformer

from archc import collector
from archc.errors import MAX_REPORTED, ArchError, Diagnostic, SourceFile, Span
from archc.syntax import ast
from archc.syntax.catalogue import syntax_problem
from archc.syntax.fast_lalr import FastLALR, NotParsed, Unsupported
from archc.syntax.fmt_expr import flat
from archc.syntax.grammar import comments, lalr_parser
from archc.syntax.layout import NestingTooDeep
from archc.syntax.recovery import blank
from archc.syntax.source import bidi_warnings

# Expressions nested deeper than this are refused (later passes recurse over expressions).
MAX_EXPR_DEPTH = 100
# Longer integer literals are refused: no size needs them, and Python's conversion of very long
# ones is slow, then refused (int_max_str_digits).
MAX_INT_DIGITS = 100


def parse(source: SourceFile) -> ast.Module:
    """Parse a whole file; raises :class:`ArchError` with every syntax error found."""
    diagnostics: list[Diagnostic] = []
    text = source.text
    module: ast.Module | None = None
    found: list[Token] = []
    while module is None and len(diagnostics) < MAX_REPORTED:
        found = []
        state = _State(source)
        tokens = comments.set(found), _state.set(state)
        try:
            module = _parse_quickly(text)
        except (UnexpectedInput, NestingTooDeep) as exc:
            problem = syntax_problem(exc, source, text)
            diagnostics.append(problem.diagnostic)
            blanked = blank(text, *problem.skip)
            if blanked == text:
                break
            text = blanked
        finally:
            comments.reset(tokens[0])
            _state.reset(tokens[1])
    if module is None:
        raise ArchError(diagnostics + bidi_warnings(source))
    diagnostics += state.diagnostics
    if diagnostics:
        raise ArchError(diagnostics + bidi_warnings(source))
    kept = tuple(ast.Comment(str(t), source.span(t.start_pos, t.end_pos)) for t in found)
    return ast.Module(module.items, kept, module.span)


def _parse_quickly(text: str) -> ast.Module:
    with collector.paused():
        fast = fast_parser()
        if fast is not None:
            try:
                return fast.parse(text)  # type: ignore[no-any-return]
            except NotParsed:
                # The text does not lex: Lark reads it again to raise the error the catalogue
                # reads, with the builder started afresh.
                comments.get().clear()
                _state.get().reset()
        return ast_parser().parse(text)  # type: ignore[no-any-return]


@functools.cache
def ast_parser() -> Lark:
    """The parser with the AST builder inside it (see grammar.parser for the plain one)."""
    return lalr_parser(AstBuilder())


@functools.cache
def fast_parser() -> FastLALR | None:
    """The same parser run by fast_lalr.py, or None if this version of Lark is not supported."""
    try:
        return FastLALR(ast_parser())
    except (Unsupported, AttributeError):
        return None


@dataclass
class _State:
    """What the builder needs during one parse: the source, and what it found wrong."""

    source: SourceFile
    diagnostics: list[Diagnostic] = field(default_factory=list)
    depth: dict[int, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.diagnostics.clear()
        self.depth.clear()


_state: ContextVar[_State] = ContextVar("ast_builder_state")


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


Edge = Token | ast.Expr | ast.Ident | ast.Path | ast.Pattern | ast.TensorType | ast.Arg
# What a builder method is given: see AstBuilder.
Children = list[Any]


class AstBuilder(Transformer):
    """One method per aliased grammar rule, each building one AST node.

    Lark calls each method with the list of the rule's children: the tokens and nodes the
    grammar keeps, None for an optional part that is missing. (Lark's ``v_args(inline=True)``
    would pass them as separate arguments, through three wrapper calls per node.)
    """

    __visit_tokens__ = False

    # helpers -------------------------------------------------------------------------------------

    @property
    def source(self) -> SourceFile:
        return _state.get().source

    def _span(self, first: Edge, last: Edge) -> Span:
        """From the start of ``first`` to the end of ``last`` (tokens or nodes)."""
        return self.source.span(_start(first), _end(last))

    def _tok_span(self, token: Token) -> Span:
        return self.source.span(token.start_pos or 0, token.end_pos or 0)

    def _ident(self, token: Token) -> ast.Ident:
        return ast.Ident(str(token), self._tok_span(token))

    def _expr(self, node: ast.Expr, *children: object) -> ast.Expr:
        """Record the nesting depth of ``node`` and refuse trees deeper than MAX_EXPR_DEPTH."""
        state = _state.get()
        depth = 1 + max((state.depth.get(id(c), 0) for c in children), default=0)
        state.depth[id(node)] = depth
        if depth == MAX_EXPR_DEPTH + 1:
            # The caret goes where the too-deep part starts; the whole of it may be huge.
            start = node.span.start
            state.diagnostics.append(
                Diagnostic(
                    "A106",
                    f"expression is nested more than {MAX_EXPR_DEPTH} levels deep",
                    self.source.span(start, start + 1),
                    label="too deeply nested",
                    help="split it into named intermediate values",
                )
            )
        return node

    def _string(self, token: Token) -> ast.Str:
        raw = str(token)[1:-1]
        out: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\":
                escaped = raw[i + 1]
                if escaped not in _ESCAPES:
                    start = (token.start_pos or 0) + 1 + i
                    _state.get().diagnostics.append(
                        Diagnostic(
                            "A107",
                            f"unknown escape sequence `\\{escaped}` in a string",
                            self.source.span(start, start + 2),
                            label="unknown escape",
                            help='the escapes are \\", \\\\, \\n and \\t',
                        )
                    )
                out.append(_ESCAPES.get(escaped, escaped))
                i += 2
            else:
                out.append(ch)
                i += 1
        return ast.Str("".join(out), self._tok_span(token))

    # top level -----------------------------------------------------------------------------------

    def start(self, items: Children) -> ast.Module:
        span = self._span(items[0], items[-1]) if items else self.source.span(0, 0)
        return ast.Module(tuple(items), (), span)

    def use_stmt(self, children: Children) -> ast.Use:
        use, path = children
        return ast.Use(self._string(path), self._span(use, path))

    def definition(self, children: Children) -> ast.Definition:
        kind, name, params, (statements, closing) = children
        span = self._span(kind, closing)
        return ast.Definition(str(kind), self._ident(name), params or (), statements, span)  # type: ignore[arg-type]

    def function(self, children: Children) -> ast.Function:
        keyword, name, params, body = children
        return ast.Function(self._ident(name), params, body, self._span(keyword, body))

    def params(self, children: Children) -> tuple[ast.Param, ...]:
        # `(`, the parameters (None where an optional part is missing), `)`
        return tuple(p for p in children[1:-1] if p is not None)

    def param(self, children: Children) -> ast.Param:
        name, default = children
        return ast.Param(self._ident(name), default, self._span(name, default or name))

    def body(self, children: Children) -> tuple[tuple[ast.Stmt, ...], Token]:
        # `{` statements `}`: the statements, and the `}` for the definition's span
        return tuple(children[1:-1]), children[-1]

    # statements ----------------------------------------------------------------------------------

    def in_stmt(self, children: Children) -> ast.Input:
        keyword, name, tensor_type = children
        span = self._span(keyword, tensor_type or name)
        return ast.Input(self._ident(name), tensor_type, span)

    def tensor_type(self, children: Children) -> ast.TensorType:
        # dtype `[` dims `]`
        dtype, opening, closing = children[0], children[1], children[-1]
        dtype_ident = self._ident(dtype) if dtype is not None else None
        kept = tuple(d for d in children[2:-1] if d is not None)
        return ast.TensorType(dtype_ident, kept, self._span(dtype or opening, closing))

    def out_stmt(self, children: Children) -> ast.Output:
        keyword, name, value = children
        ident = self._ident(name) if name is not None else None
        return ast.Output(ident, value, self._span(keyword, value))

    def assign_stmt(self, children: Children) -> ast.Assign:
        *names, value = children
        targets = tuple(self._ident(n) for n in names)
        return ast.Assign(targets, value, self._span(names[0], value))

    def tie_stmt(self, children: Children) -> ast.Tie:
        keyword, target, source, _if, condition = children
        return ast.Tie(target, source, condition, self._span(keyword, condition or source))

    def assert_stmt(self, children: Children) -> ast.Assert:
        keyword, test, message = children
        text = self._string(message) if message is not None else None
        return ast.Assert(test, text, self._span(keyword, message or test))

    def init_stmt(self, children: Children) -> ast.InitRule:
        keyword, target, (scheme, per_param, last) = children
        return ast.InitRule(target, scheme, per_param, self._span(keyword, last))

    def init_scheme(self, children: Children) -> tuple[ast.Expr, tuple[()], ast.Expr]:
        (scheme,) = children
        return scheme, (), scheme

    def init_per_param(self, kwargs: Children) -> tuple[None, tuple[ast.Arg, ...], ast.Arg]:
        return None, tuple(kwargs), kwargs[-1]

    def pattern(self, children: Children) -> ast.Pattern:
        (glob,) = children
        return ast.Pattern(self._string(glob).value, self._tok_span(glob))

    def path(self, parts: Children) -> ast.Path:
        pieces = [
            [(self._string(p).value, True)]
            if p.type == "STRING"
            else [(piece, False) for piece in str(p).split(".")]
            for p in parts
        ]
        names, quoted = zip(*(piece for each in pieces for piece in each), strict=True)
        return ast.Path(names, self._span(parts[0], parts[-1]), quoted)

    # expressions ---------------------------------------------------------------------------------

    def cond(self, children: Children) -> ast.Expr:
        keyword, test, body, orelse = children
        node = ast.Cond(test, body, orelse, self._span(keyword, orelse))
        return self._expr(node, test, body, orelse)

    def chain(self, children: Children) -> ast.Expr:
        head = children[0]
        stages = tuple(children[2::2])  # the children alternate stages and `->` tokens
        return self._expr(ast.Chain(head, stages, self._span(head, stages[-1])), head, *stages)

    def named(self, children: Children) -> ast.Expr:
        value, name = children
        ident = self._ident(name)
        if name.type == "STRING":  # `as "block1-0"`: a name no identifier can spell
            ident = ast.Ident(self._string(name).value, ident.span, quoted=True)
        return self._expr(ast.Named(value, ident, self._span(value, name)), value)

    def named_copies(self, children: Children) -> ast.Expr:
        value, prefix, opening, index, closing, suffix = children
        last = suffix if suffix is not None else closing
        node = ast.NamedCopies(
            value,
            self._ident(prefix),
            index,
            None if suffix is None else self._ident(suffix),
            self._span(value, last),
        )
        self._check_pattern(prefix, opening, index, closing, suffix)
        return self._expr(node, value, index)

    def _check_pattern(
        self, prefix: Token, opening: Token, index: ast.Expr, closing: Token, suffix: Token | None
    ) -> None:
        """A naming pattern is one word, and its braces compute a number from `i` alone."""
        diagnostics = _state.get().diagnostics
        apart = [(a, b) for a, b in ((prefix, opening), (closing, suffix)) if b is not None]
        for before, after in apart:
            if before.end_pos != after.start_pos:
                diagnostics.append(
                    Diagnostic(
                        "A156",
                        "a naming pattern is one word, but this one has a space in it",
                        self.source.span(before.end_pos or 0, after.start_pos or 0),
                        label="no space here",
                        help=f"write it without spaces: `{_pattern_text(prefix, index, suffix)}`",
                    )
                )
                return
        for node in ast.walk(index):
            allowed = (
                isinstance(node, ast.Int)
                or (isinstance(node, ast.Name) and node.id == "i")
                or (isinstance(node, ast.Binary) and node.op in "+-*" and len(node.op) == 1)
                or (isinstance(node, ast.Unary) and node.op == "-")
            )
            if not allowed:
                diagnostics.append(
                    Diagnostic(
                        "A156",
                        "a naming pattern computes the copy's number from `i` with integers, "
                        "`+`, `-` and `*` only",
                        node.span,
                        label="not allowed in a naming pattern",
                        help="`i` counts the copies from 0: `layer{i}` names them layer0, "
                        "layer1, ...; `layer{i + 1}` from layer1",
                    )
                )
                return
        if not any(isinstance(n, ast.Name) for n in ast.walk(index)):
            diagnostics.append(
                Diagnostic(
                    "A157",
                    "this naming pattern gives every copy the same name: it does not use `i`",
                    self._span(opening, closing),
                    label="no `i` inside the braces",
                    help=f"number the copies with `i`, which counts them from 0: "
                    f"`{_pattern_text(prefix, ast.Name('i', index.span), suffix)}`",
                )
            )

    def or_(self, children: Children) -> ast.Expr:
        left, right = children
        return self._expr(ast.Logic("or", left, right, self._span(left, right)), left, right)

    def and_(self, children: Children) -> ast.Expr:
        left, right = children
        return self._expr(ast.Logic("and", left, right, self._span(left, right)), left, right)

    def not_(self, children: Children) -> ast.Expr:
        keyword, operand = children
        return self._expr(ast.Unary("not", operand, self._span(keyword, operand)), operand)

    def compare(self, children: Children) -> ast.Expr:
        left, op, right = children
        node = ast.Compare(str(op), left, right, self._span(left, right))  # type: ignore[arg-type]
        return self._expr(node, left, right)

    def binary(self, children: Children) -> ast.Expr:
        left, op, right = children
        node = ast.Binary(str(op), left, right, self._span(left, right))  # type: ignore[arg-type]
        return self._expr(node, left, right)

    def unary(self, children: Children) -> ast.Expr:
        op, operand = children
        node = ast.Unary(str(op), operand, self._span(op, operand))  # type: ignore[arg-type]
        return self._expr(node, operand)

    def call(self, children: Children) -> ast.Expr:
        func, _open, args, closing = children
        arguments = args or ()
        node = ast.Call(func, arguments, self._span(func, closing))
        return self._expr(node, func, *(a.value for a in arguments))

    def args(self, args: Children) -> tuple[ast.Arg, ...]:
        kept = (a for a in args if a is not None)
        return tuple(a if isinstance(a, ast.Arg) else ast.Arg(None, a, a.span) for a in kept)

    def kwarg(self, children: Children) -> ast.Arg:
        name, value = children
        return ast.Arg(self._ident(name), value, self._span(name, value))

    def attribute(self, children: Children) -> ast.Expr:
        value, name = children
        node = ast.Attribute(value, self._ident(name), self._span(value, name))
        return self._expr(node, value)

    def index(self, children: Children) -> ast.Expr:
        value, _open, index, closing = children
        node = ast.Index(value, index, self._span(value, closing))
        return self._expr(node, value, index)

    def paren(self, children: Children) -> ast.Expr:
        _open, inner, _close = children
        return inner  # type: ignore[no-any-return]

    def tuple(self, children: Children) -> ast.Expr:
        # `(`, the items (None where an optional part is missing), `)`
        kept = tuple(i for i in children[1:-1] if i is not None)
        return self._expr(ast.TupleExpr(kept, self._span(children[0], children[-1])), *kept)

    def list(self, children: Children) -> ast.Expr:
        # `[`, the items (None where an optional part is missing), `]`
        kept = tuple(i for i in children[1:-1] if i is not None)
        return self._expr(ast.ListExpr(kept, self._span(children[0], children[-1])), *kept)

    def name(self, children: Children) -> ast.Expr:
        (token,) = children
        return ast.Name(str(token), self._tok_span(token))

    def int(self, children: Children) -> ast.Expr:
        (token,) = children
        text = str(token)
        digits = text.replace("_", "")
        if len(digits) > MAX_INT_DIGITS:
            _state.get().diagnostics.append(
                Diagnostic(
                    "A154",
                    f"integer literal with {len(digits):,} digits; the limit is {MAX_INT_DIGITS}",
                    self._tok_span(token),
                    label="too many digits",
                    help="no size or count needs this many digits; was a number pasted twice?",
                )
            )
            return ast.Int(0, self._tok_span(token), text)
        return ast.Int(int(digits), self._tok_span(token), text)

    def float(self, children: Children) -> ast.Expr:
        (token,) = children
        text = str(token)
        return ast.Float(float(text.replace("_", "")), self._tok_span(token), text)

    def string(self, children: Children) -> ast.Expr:
        (token,) = children
        return self._string(token)

    def true(self, children: Children) -> ast.Expr:
        (token,) = children
        return ast.Bool(True, self._tok_span(token))

    def false(self, children: Children) -> ast.Expr:
        (token,) = children
        return ast.Bool(False, self._tok_span(token))

    def none(self, children: Children) -> ast.Expr:
        (token,) = children
        return ast.NoneLit(self._tok_span(token))


def _pattern_text(prefix: Token, index: ast.Expr, suffix: Token | None) -> str:
    return f"{prefix}{{{flat(index)}}}{suffix or ''}"


def _start(edge: Edge) -> int:
    return (edge.start_pos or 0) if isinstance(edge, Token) else edge.span.start


def _end(edge: Edge) -> int:
    return (edge.end_pos or 0) if isinstance(edge, Token) else edge.span.end
