"""Text to AST: run the LALR parser, turn its tree into AST nodes, and report syntax errors.

Parsing never stops at the first mistake: after an error the statement holding it is blanked
out (offsets kept) and the text is parsed again, so one run reports every broken statement.

>>> from archc.errors import SourceFile
>>> module = parse(SourceFile("t.arch", "network N {\\n  in x: [3]\\n  out x -> relu\\n}\\n"))
>>> module.items[0].name.name
'N'
"""

from __future__ import annotations

from lark import Token, Tree
from lark.exceptions import UnexpectedInput, VisitError
from lark.visitors import Transformer_NonRecursive, v_args

from archc.errors import MAX_REPORTED, ArchError, Diagnostic, SourceFile, Span
from archc.syntax import ast
from archc.syntax.catalogue import syntax_problem
from archc.syntax.grammar import comments, parser
from archc.syntax.layout import NestingTooDeep
from archc.syntax.recovery import blank

# Expressions nested deeper than this are refused (later passes recurse over expressions).
MAX_EXPR_DEPTH = 100


def parse(source: SourceFile) -> ast.Module:
    """Parse a whole file; raises :class:`ArchError` with every syntax error found."""
    diagnostics: list[Diagnostic] = []
    text = source.text
    tree: Tree | None = None
    found: list[Token] = []
    while tree is None and len(diagnostics) < MAX_REPORTED:
        found = []
        token = comments.set(found)
        try:
            tree = parser().parse(text)
        except (UnexpectedInput, NestingTooDeep) as exc:
            problem = syntax_problem(exc, source, text)
            diagnostics.append(problem.diagnostic)
            blanked = blank(text, *problem.skip)
            if blanked == text:
                break
            text = blanked
        finally:
            comments.reset(token)
    if tree is None:
        raise ArchError(diagnostics)
    builder = AstBuilder(source)
    try:
        module = builder.transform(tree)
    except VisitError as exc:  # only AstBuilder's own bugs end up here
        raise exc.orig_exc from None
    diagnostics += builder.diagnostics
    if diagnostics:
        raise ArchError(diagnostics)
    kept = tuple(ast.Comment(str(t), source.span(t.start_pos, t.end_pos)) for t in found)
    return ast.Module(module.items, kept, module.span)


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _tokens(children: tuple[object, ...]) -> list[Token]:
    return [c for c in children if isinstance(c, Token)]


@v_args(inline=True, meta=True)
class AstBuilder(Transformer_NonRecursive):
    """One method per aliased grammar rule, each building one AST node."""

    __visit_tokens__ = False

    def __init__(self, source: SourceFile) -> None:
        super().__init__()
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self._depth: dict[int, int] = {}

    # helpers -------------------------------------------------------------------------------------

    def _span(self, meta) -> Span:  # type: ignore[no-untyped-def]
        if meta.empty:  # an empty file
            return self.source.span(0, 0)
        end = meta.end_pos
        while end > meta.start_pos and self.source.text[end - 1] in " \t\n":
            end -= 1  # a statement's span stops at its last token, not at the newline after it
        return self.source.span(meta.start_pos, end)

    def _tok_span(self, token: Token) -> Span:
        return self.source.span(token.start_pos or 0, token.end_pos or 0)

    def _ident(self, token: Token) -> ast.Ident:
        return ast.Ident(str(token), self._tok_span(token))

    def _expr(self, node: ast.Expr, *children: object) -> ast.Expr:
        """Record the nesting depth of ``node`` and refuse trees deeper than MAX_EXPR_DEPTH."""
        depth = 1 + max((self._depth.get(id(c), 0) for c in children), default=0)
        self._depth[id(node)] = depth
        if depth == MAX_EXPR_DEPTH + 1:
            # The caret goes where the too-deep part starts; the whole of it may be huge.
            start = node.span.start
            self.diagnostics.append(
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
                    self.diagnostics.append(
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

    def start(self, meta, *items):  # type: ignore[no-untyped-def]
        return ast.Module(tuple(items), (), self._span(meta))

    def use_stmt(self, meta, path):  # type: ignore[no-untyped-def]
        return ast.Use(self._string(path), self._span(meta))

    def definition(self, meta, kind, name, params, body):  # type: ignore[no-untyped-def]
        return ast.Definition(
            str(kind),
            self._ident(name),
            params or (),
            body,
            self._span(meta),  # type: ignore[arg-type]
        )

    def params(self, meta, *params):  # type: ignore[no-untyped-def]
        return tuple(p for p in params if p is not None)

    def param(self, meta, name, default):  # type: ignore[no-untyped-def]
        return ast.Param(self._ident(name), default, self._span(meta))

    def body(self, meta, *stmts):  # type: ignore[no-untyped-def]
        return tuple(stmts)

    # statements ----------------------------------------------------------------------------------

    def in_stmt(self, meta, name, tensor_type):  # type: ignore[no-untyped-def]
        return ast.Input(self._ident(name), tensor_type, self._span(meta))

    def tensor_type(self, meta, dtype, *dims):  # type: ignore[no-untyped-def]
        dtype_ident = self._ident(dtype) if dtype is not None else None
        kept = tuple(d for d in dims if d is not None)
        return ast.TensorType(dtype_ident, kept, self._span(meta))

    def out_stmt(self, meta, name, value):  # type: ignore[no-untyped-def]
        ident = self._ident(name) if name is not None else None
        return ast.Output(ident, value, self._span(meta))

    def assign_stmt(self, meta, *children):  # type: ignore[no-untyped-def]
        *names, value = children
        return ast.Assign(tuple(self._ident(n) for n in names), value, self._span(meta))

    def tie_stmt(self, meta, target, source):  # type: ignore[no-untyped-def]
        return ast.Tie(target, source, self._span(meta))

    def assert_stmt(self, meta, test, message):  # type: ignore[no-untyped-def]
        text = self._string(message) if message is not None else None
        return ast.Assert(test, text, self._span(meta))

    def init_stmt(self, meta, target, rule):  # type: ignore[no-untyped-def]
        scheme, per_param = rule
        return ast.InitRule(target, scheme, per_param, self._span(meta))

    def init_scheme(self, meta, scheme):  # type: ignore[no-untyped-def]
        return scheme, ()

    def init_per_param(self, meta, *kwargs):  # type: ignore[no-untyped-def]
        return None, tuple(kwargs)

    def pattern(self, meta, glob):  # type: ignore[no-untyped-def]
        return ast.Pattern(self._string(glob).value, self._span(meta))

    def path(self, meta, *parts):  # type: ignore[no-untyped-def]
        return ast.Path(tuple(str(p) for p in parts), self._span(meta))

    # expressions ---------------------------------------------------------------------------------

    def cond(self, meta, test, body, orelse):  # type: ignore[no-untyped-def]
        return self._expr(ast.Cond(test, body, orelse, self._span(meta)), test, body, orelse)

    def chain(self, meta, head, *rest):  # type: ignore[no-untyped-def]
        stages = rest[1::2]  # the children alternate `->` tokens and stages
        return self._expr(ast.Chain(head, stages, self._span(meta)), head, *stages)

    def named(self, meta, value, name):  # type: ignore[no-untyped-def]
        return self._expr(ast.Named(value, self._ident(name), self._span(meta)), value)

    def or_(self, meta, left, right):  # type: ignore[no-untyped-def]
        return self._expr(ast.Logic("or", left, right, self._span(meta)), left, right)

    def and_(self, meta, left, right):  # type: ignore[no-untyped-def]
        return self._expr(ast.Logic("and", left, right, self._span(meta)), left, right)

    def not_(self, meta, operand):  # type: ignore[no-untyped-def]
        return self._expr(ast.Unary("not", operand, self._span(meta)), operand)

    def compare(self, meta, left, op, right):  # type: ignore[no-untyped-def]
        return self._expr(ast.Compare(str(op), left, right, self._span(meta)), left, right)  # type: ignore[arg-type]

    def binary(self, meta, left, op, right):  # type: ignore[no-untyped-def]
        return self._expr(ast.Binary(str(op), left, right, self._span(meta)), left, right)  # type: ignore[arg-type]

    def unary(self, meta, op, operand):  # type: ignore[no-untyped-def]
        return self._expr(ast.Unary(str(op), operand, self._span(meta)), operand)  # type: ignore[arg-type]

    def call(self, meta, func, args):  # type: ignore[no-untyped-def]
        arguments = args or ()
        node = ast.Call(func, arguments, self._span(meta))
        return self._expr(node, func, *(a.value for a in arguments))

    def args(self, meta, *args):  # type: ignore[no-untyped-def]
        kept = (a for a in args if a is not None)
        return tuple(a if isinstance(a, ast.Arg) else ast.Arg(None, a, a.span) for a in kept)

    def kwarg(self, meta, name, value):  # type: ignore[no-untyped-def]
        return ast.Arg(self._ident(name), value, self._span(meta))

    def attribute(self, meta, value, name):  # type: ignore[no-untyped-def]
        return self._expr(ast.Attribute(value, self._ident(name), self._span(meta)), value)

    def index(self, meta, value, index):  # type: ignore[no-untyped-def]
        return self._expr(ast.Index(value, index, self._span(meta)), value, index)

    def tuple(self, meta, *items):  # type: ignore[no-untyped-def]
        kept = tuple(i for i in items if i is not None)
        return self._expr(ast.TupleExpr(kept, self._span(meta)), *kept)

    def list(self, meta, *items):  # type: ignore[no-untyped-def]
        kept = tuple(i for i in items if i is not None)
        return self._expr(ast.ListExpr(kept, self._span(meta)), *kept)

    def name(self, meta, token):  # type: ignore[no-untyped-def]
        return ast.Name(str(token), self._span(meta))

    def int(self, meta, token):  # type: ignore[no-untyped-def]
        return ast.Int(int(str(token).replace("_", "")), self._span(meta))

    def float(self, meta, token):  # type: ignore[no-untyped-def]
        return ast.Float(float(str(token).replace("_", "")), self._span(meta))

    def string(self, meta, token):  # type: ignore[no-untyped-def]
        return self._string(token)

    def true(self, meta):  # type: ignore[no-untyped-def]
        return ast.Bool(True, self._span(meta))

    def false(self, meta):  # type: ignore[no-untyped-def]
        return ast.Bool(False, self._span(meta))

    def none(self, meta):  # type: ignore[no-untyped-def]
        return ast.NoneLit(self._span(meta))
