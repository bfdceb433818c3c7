"""The provenance of a written expression in the body that evaluates it (see provenance.py).

Elaboration evaluates an expression to its value; :meth:`Origins.origin` says, for the same
expression in the same body, how that value is computed from the definition's parameters and
input sizes. It resolves names exactly as evaluation does (a variable, then a top-level
constant, then a built-in), and never fails: what has no provenance (a layer, a tensor, a name
that evaluation would refuse) has None.
"""

from __future__ import annotations

from typing import Any

from archc.dims import Sym
from archc.errors import Span
from archc.semantics import constants
from archc.semantics import provenance as pv
from archc.semantics.context import Body
from archc.semantics.expressions import Dispatch, ElabError
from archc.semantics.program import UserFunction
from archc.semantics.values import Tensor
from archc.syntax import ast

_UNARY = {"-": "neg", "not": "not"}


def _no_origin(origins: Origins, expr: ast.Expr, body: Body) -> None:
    """An expression of a kind that has no provenance (a chain of layers, a call of one)."""
    return None


class Origins:
    """Mixed into the Elaborator, which supplies :meth:`constant`."""

    _origins: Dispatch
    _constant_origins: dict[tuple[int, str], pv.Expr | None]
    _function_records: dict[int, pv.Function | None]
    _inlining: set[int]  # the functions whose call is being worked out

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._origins = Dispatch(cls, "_origin_", _no_origin)

    def constant(self, name: str, body: Body, span: Span) -> Any:
        raise NotImplementedError

    def constant_origin(self, name: str, body: Body, span: Span) -> pv.Expr | None:
        """The provenance of the top-level constant ``name``: its value, as a literal that
        remembers the constant where the value is plain data (constants.py)."""
        key = (id(body.file), name)
        if key not in self._constant_origins:
            value = self.constant(name, body, span)
            assign = body.file.constants[name]

            def other(used: str) -> pv.Expr | None:
                if used not in body.file.constants:
                    return None
                return self.constant_origin(used, body, span)

            origin = constants.named(value, body.file.source.path, name, assign, other)
            self._constant_origins[key] = origin or _literal(value)
        return self._constant_origins[key]

    def origin(self, expr: ast.Expr, body: Body) -> pv.Expr | None:
        return self._origins[type(expr)](self, expr, body)

    def _origin_Int(self, expr: ast.Int, body: Body) -> pv.Expr | None:
        return pv.Lit(expr.value)

    _origin_Float = _origin_Str = _origin_Bool = _origin_Int

    def _origin_NoneLit(self, expr: ast.NoneLit, body: Body) -> pv.Expr | None:
        return pv.Lit(None)

    def _origin_TupleExpr(self, expr: ast.TupleExpr, body: Body) -> pv.Expr | None:
        return _tuple([self.origin(item, body) for item in expr.items])

    _origin_ListExpr = _origin_TupleExpr

    def _origin_Name(self, expr: ast.Name, body: Body) -> pv.Expr | None:
        name = expr.id
        if name in body.vars:
            return body.origins.get(name)
        if name in body.file.constants:
            try:
                return self.constant_origin(name, body, expr.span)
            except ElabError:  # evaluation reports the constant's own error
                return None
        return None

    def _origin_Unary(self, expr: ast.Unary, body: Body) -> pv.Expr | None:
        operand = self.origin(expr.operand, body)
        if operand is None:
            return None
        return operand if expr.op == "+" else pv.apply(_UNARY[expr.op], operand)

    def _origin_Binary(self, expr: ast.Binary, body: Body) -> pv.Expr | None:
        if expr.op not in pv.BINARY:
            return None
        return _pair(expr.op, self.origin(expr.left, body), self.origin(expr.right, body))

    _origin_Compare = _origin_Binary

    def _origin_Logic(self, expr: ast.Logic, body: Body) -> pv.Expr | None:
        return _pair(expr.op, self.origin(expr.left, body), self.origin(expr.right, body))

    def _origin_Cond(self, expr: ast.Cond, body: Body) -> pv.Expr | None:
        parts = [self.origin(e, body) for e in (expr.test, expr.body, expr.orelse)]
        if any(p is None for p in parts):
            return None
        return pv.Apply("if", tuple(parts))  # type: ignore[arg-type]

    def _origin_Attribute(self, expr: ast.Attribute, body: Body) -> pv.Expr | None:
        # only a named tensor: evaluating `(x -> conv).channels` again would add layers
        if not isinstance(expr.value, ast.Name):
            return None
        tensor = body.vars.get(expr.value.id)
        if not isinstance(tensor, Tensor) or tensor.type is None or tensor.dims is None:
            return None
        rank = tensor.type.rank
        if expr.attr.name == "rank":
            return pv.Lit(rank)
        if expr.attr.name == "shape":
            return _tuple(list(tensor.dims))
        axis = {"channels": 1, "features": rank - 1}.get(expr.attr.name)
        return None if axis is None or axis >= rank else tensor.dim(axis)

    def _origin_Index(self, expr: ast.Index, body: Body) -> pv.Expr | None:
        size = self._one_size(expr, body)
        if size is not None:
            return size
        return _pair("index", self.origin(expr.value, body), self.origin(expr.index, body))

    def _one_size(self, expr: ast.Index, body: Body) -> pv.Expr | None:
        """`x.shape[i]`, i a number: the provenance of that one size, even where another of
        x's sizes has none (the batch axis, after most layers)."""
        shape = expr.value
        if not (isinstance(shape, ast.Attribute) and shape.attr.name == "shape"):
            return None
        if not isinstance(shape.value, ast.Name):
            return None
        tensor = body.vars.get(shape.value.id)
        axis = self.origin(expr.index, body)
        if not isinstance(tensor, Tensor) or tensor.type is None or not isinstance(axis, pv.Lit):
            return None
        rank = tensor.type.rank
        if not isinstance(axis.value, int) or not -rank <= axis.value < rank:
            return None
        return tensor.dim(axis.value % rank)

    def _origin_Call(self, expr: ast.Call, body: Body) -> pv.Expr | None:
        func = expr.func
        if (
            not isinstance(func, ast.Name)
            or func.id in body.vars
            or func.id in body.file.constants
        ):
            return None
        function = body.file.functions.get(func.id)
        if function is not None:
            return self._function_origin(function, expr, body)
        name = func.id
        if (
            name not in pv.FUNCTIONS
            or name in body.file.definitions
            or any(a.name is not None for a in expr.args)
        ):
            return None
        args = [self.origin(a.value, body) for a in expr.args]
        if any(a is None for a in args):
            return None
        return pv.Apply(name, tuple(args))  # type: ignore[arg-type]

    def _function_origin(
        self, function: UserFunction, expr: ast.Call, body: Body
    ) -> pv.Expr | None:
        """A `fn` call's provenance: its body's, with each parameter standing for the
        provenance of its argument (or of its default, in the function's own scope), in the
        caller's terms; remembering the call (pv.Call), which generated code writes."""
        params = function.node.params
        given = dict(
            zip(
                (p.name.name for p in params),
                (a for a in expr.args if a.name is None),
                strict=False,
            )
        )
        given |= {a.name.name: a for a in expr.args if a.name is not None}
        written = {name: self.origin(arg.value, body) for name, arg in given.items()}
        if id(function.node) in self._inlining:
            return None  # a call back into a function has no end (evaluation refuses it)
        self._inlining.add(id(function.node))
        try:
            return self._call_origin(function, written)
        finally:
            self._inlining.discard(id(function.node))

    def _call_origin(
        self, function: UserFunction, given: dict[str, pv.Expr | None]
    ) -> pv.Expr | None:
        """The provenance of a call of ``function`` given the provenance of the arguments it
        was ``given``, by parameter."""
        params = function.node.params
        scope = Body(function.file)
        args = []
        for param in params:
            name = param.name.name
            if name in given:
                origin = given[name]
            elif param.default is not None:
                origin = self.origin(param.default, scope)
            else:
                return None  # evaluation reports the missing argument
            if origin is None:
                return None
            # the value itself is not needed: a parameter's provenance is what stands for it
            scope.bind(name, None, param.span, origin)
            args.append(origin)
        result = self.origin(function.node.body, scope)
        if result is None:
            return None
        defined = self.function_record(function)
        if defined is None:
            return _fold(result)
        call = pv.Call(defined, tuple(args), tuple(p.name.name in given for p in params))
        return pv.calling(_fold(result), call)

    def function_record(self, function: UserFunction) -> pv.Function | None:
        """``function`` as provenance over its own parameters (pv.Function), worked out once;
        None where its body has none."""
        key = id(function.node)
        if key not in self._function_records:
            self._function_records[key] = None  # a call back into it is refused anyway
            scope = Body(function.file)
            defaults = []
            for param in function.node.params:
                name = param.name.name
                default = param.default
                defaults.append(None if default is None else self.origin(default, scope))
                scope.bind(name, None, param.span, pv.Param(name))
            body = self.origin(function.node.body, scope)
            if body is not None:
                self._function_records[key] = pv.Function(
                    function.file.source.path,
                    function.name,
                    tuple(p.name.name for p in function.node.params),
                    tuple(defaults),
                    _fold(body),
                )
        return self._function_records[key]


def _fold(expr: pv.Expr) -> pv.Expr:
    """``expr`` with every part that reads no parameter or size computed: a function called
    with constants is its result, `make_divisible(37, 4)` is `36`."""
    if not isinstance(expr, pv.Apply):
        return expr
    args = tuple(_fold(a) for a in expr.args)
    if expr.fn != "tuple" and all(isinstance(a, pv.Lit) for a in args):
        try:
            value = pv.evaluate(pv.Apply(expr.fn, args), {}, {})
        except (ArithmeticError, TypeError, ValueError, IndexError):
            return pv.Apply(expr.fn, args, expr.call)
        if isinstance(value, bool | int | float | str):
            return pv.Lit(value, call=expr.call)
    return pv.Apply(expr.fn, args, expr.call)


def _pair(fn: str, left: pv.Expr | None, right: pv.Expr | None) -> pv.Expr | None:
    return None if left is None or right is None else pv.apply(fn, left, right)


def _tuple(items: list[pv.Expr | None]) -> pv.Expr | None:
    if any(item is None for item in items):
        return None
    if all(isinstance(item, pv.Lit) for item in items):
        return pv.Lit(tuple(item.value for item in items))  # type: ignore[union-attr]
    return pv.Apply("tuple", tuple(items))  # type: ignore[arg-type]


def _literal(value: Any) -> pv.Expr | None:
    """A top-level constant's value as a literal, when it is plain data."""
    if value is None or isinstance(value, bool | int | float | str | Sym):
        return pv.Lit(value)
    if isinstance(value, tuple):
        items = [_literal(item) for item in value]
        return None if any(i is None for i in items) else pv.Lit(value)
    return None
