"""Checking the shape comments of generated code against the tensors a forward computes.

A generated line such as ``x = self.fc(x)  # (N, classes)`` promises the shape of ``x`` for
every argument its class takes. :func:`checked_forward` runs a forward with every generated
``__init__`` recording the arguments it was given and a line tracer that, after each commented
line, evaluates the comment's sizes with those arguments (and the batch and named sizes) and
compares them with the shape of the tensor the line assigned.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, ModuleType
from typing import Any

import torch

COMMENTED = re.compile(r"^\s+(\w+) = .*  # \((.*)\)$")
ARGUMENTS = "_shape_comment_arguments"


def commented_lines(filename: str) -> dict[int, tuple[str, str]]:
    """By line number: the variable a commented line assigns and its comment's sizes."""
    found = {}
    for number, line in enumerate(linecache.getlines(filename), 1):
        match = COMMENTED.match(line.rstrip("\n"))
        if match:
            found[number] = (match[1], match[2])
    return found


def size_of(text: str, names: dict[str, Any]) -> int:
    """One size of a comment, spec notation over whole numbers and tuples of them: `4 * d_model`,
    `d // heads`, `widths[3]`."""
    return _evaluate(ast.parse(text.strip(), mode="eval").body, names)


def _evaluate(node: ast.expr, names: dict[str, Any]) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Name):
        return int(names[node.id])
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):  # `widths[3]`
        return int(names[node.value.id][_evaluate(node.slice, names)])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, names)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, names), _evaluate(node.right, names)
        operators: dict[type, Callable[[int, int], int]] = {
            ast.Add: int.__add__,
            ast.Sub: int.__sub__,
            ast.Mult: int.__mul__,
            ast.FloorDiv: int.__floordiv__,
            ast.Pow: int.__pow__,
        }
        return operators[type(node.op)](left, right)
    raise AssertionError(f"a shape comment holds `{ast.unparse(node)}`")


def _recording(cls: type) -> Callable[..., None]:
    original = cls.__init__  # type: ignore[misc]
    signature = inspect.signature(original)

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        object.__setattr__(self, ARGUMENTS, arguments)

    return init


@contextmanager
def recording_arguments(module: ModuleType) -> Iterator[None]:
    """While open, every class ``module`` defines keeps the arguments it was built with."""
    classes = [
        c
        for c in vars(module).values()
        if isinstance(c, type)
        and issubclass(c, torch.nn.Module)
        and c.__module__ == module.__name__
        and "__init__" in vars(c)  # a mixin's inherited __init__ is its base's to call
    ]
    originals = {c: c.__init__ for c in classes}  # type: ignore[misc]
    for cls in classes:
        cls.__init__ = _recording(cls)  # type: ignore[misc]
    try:
        yield
    finally:
        for cls, init in originals.items():
            cls.__init__ = init  # type: ignore[misc]


def checked_forward(
    model: torch.nn.Module, inputs: list[Any], sizes: dict[str, int], filename: str
) -> tuple[Any, int]:
    """``model(*inputs)`` and how many commented lines it checked; an AssertionError at the
    first comment its tensor contradicts. ``model`` was built under :func:`recording_arguments`;
    ``sizes`` names the batch, the named sizes and the network's arguments (a size its class does
    not take, the height of the image it was written for, is the spec's)."""
    comments = commented_lines(filename)
    pending: dict[int, int] = {}
    checked = 0

    def check(frame: FrameType, number: int) -> None:
        nonlocal checked
        variable, text = comments[number]
        value = frame.f_locals.get(variable)
        if not isinstance(value, torch.Tensor):
            return
        owner = frame.f_locals.get("self")
        names = {**sizes, **getattr(owner, ARGUMENTS, {})}
        wanted = [size_of(part, names) for part in text.split(",")]
        assert list(value.shape) == wanted, (
            f"line {number} of {filename} says ({text}): {list(value.shape)} with {names}"
        )
        checked += 1

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if id(frame) in pending:
            check(frame, pending.pop(id(frame)))
        if event == "line" and frame.f_lineno in comments:
            pending[id(frame)] = frame.f_lineno
        return local

    def called(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == filename else None

    previous = sys.gettrace()
    sys.settrace(called)
    try:
        outputs = model(*inputs)
    finally:
        sys.settrace(previous)
    return outputs, checked
