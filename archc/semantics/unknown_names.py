"""Better words for an unknown name (A205), from the statement it is in and the body around it.

Two mistakes account for most unknown names that a did-you-mean cannot fix: a name used a few
lines before the statement that defines it, and a layer written as PyTorch or Keras writes it
(`nn.Conv2d(3, 64, 3)`, `layers.Conv2D(64, 3)(x)`), whose namespace is the unknown name. The
archc spelling of such a layer is worked out from the op registry: the op whose name matches
the class name, and the order the op declares its torch constructor takes its arguments in
(`Op.torch_positional`), which also says which of PyTorch's positional arguments archc infers
from the input.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from archc.errors import Diagnostic, Span
from archc.ops import registry
from archc.ops.spec import Op
from archc.semantics.expressions import PYTHON_LITERALS
from archc.syntax import ast

# Namespaces whose layers take their input size first (PyTorch), or not at all (Keras).
TORCH_NAMESPACES = ("nn", "torch")
KERAS_NAMESPACES = ("layers", "keras", "tf")


def explain_unknown(
    diagnostic: Diagnostic, stmt: ast.Stmt, statements: tuple[ast.Stmt, ...]
) -> Diagnostic:
    """``diagnostic``, an unknown name in ``stmt`` of a body of ``statements``, with the
    message or help that fits better, when one does."""
    path = _path_to_name(stmt, diagnostic.span)
    if path is None:
        return diagnostic
    name = path[-1]
    assert isinstance(name, ast.Name)
    later = _defined_later(name.id, stmt, statements)
    if later is not None:
        return replace(
            diagnostic,
            message=f"`{name.id}` is used before it is defined",
            label=f"defined later, at line {later.line}",
            notes=(*diagnostic.notes, f"`{name.id}` is defined at {later}"),
            help=f"move the definition of `{name.id}` above this statement",
        )
    spelling = _foreign_layer(path)
    if spelling is not None:
        written, archc = spelling
        help = (
            f"`{written}` is written `{archc}` in archc: a layer is named by itself and takes "
            "its input size from the tensor it is applied to"
            if archc
            else f"archc has no `{name.id}`: a layer is named by itself (`archc schema` lists "
            "them) and takes its input size from the tensor it is applied to"
        )
        return replace(diagnostic, label="not an archc name", help=help)
    return diagnostic


def _path_to_name(stmt: ast.Stmt, span: Span | None) -> list[Any] | None:
    """The nodes from ``stmt`` down to the Name at ``span``, outermost first."""
    if span is None:
        return None
    stack: list[tuple[Any, list[Any]]] = [(stmt, [stmt])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, ast.Name) and node.span.start == span.start:
            return path
        stack.extend((child, [*path, child]) for child in ast.children(node))
    return None


def _defined_later(name: str, stmt: ast.Stmt, statements: tuple[ast.Stmt, ...]) -> Span | None:
    """Where a statement after ``stmt`` defines ``name``, if one does."""
    if stmt not in statements:
        return None
    for later in statements[statements.index(stmt) + 1 :]:
        if isinstance(later, ast.Assign):
            for target in later.targets:
                if target.name == name:
                    return target.span
        elif isinstance(later, ast.Input) and later.name.name == name:
            return later.name.span
    return None


def _foreign_layer(path: list[Any]) -> tuple[str, str] | None:
    """(the layer as written, its archc spelling) when the unknown name starts a PyTorch or
    Keras layer: `nn.Conv2d(3, 64, 3)` gives `conv2d(64, 3)`; the spelling is "" for a class
    no op matches."""
    namespace = path[-1].id
    if namespace not in TORCH_NAMESPACES + KERAS_NAMESPACES:
        return None
    # climb the attribute chain: `torch.nn.Linear`, `layers.Conv2D`
    index = len(path) - 1
    while index > 0 and isinstance(path[index - 1], ast.Attribute):
        index -= 1
    if index == len(path) - 1:
        return None
    attribute = path[index]
    op = _op_named(attribute.attr.name)
    if op is None:
        return _written(attribute), ""
    call = path[index - 1] if index > 0 and isinstance(path[index - 1], ast.Call) else None
    if call is None or call.func is not attribute:
        return _written(attribute), op.name
    args = _archc_args(op, call.args, torch=namespace in TORCH_NAMESPACES)
    spelling = f"{op.name}({args})" if args else op.name
    applied = path[index - 2] if index > 1 and isinstance(path[index - 2], ast.Call) else None
    if applied is not None and applied.func is call and len(applied.args) == 1:
        # Keras applies the layer by calling it: `layers.Conv2D(64, 3)(x)`
        return _written(applied), f"{_written(applied.args[0])} -> {spelling}"
    return _written(call), spelling


def _op_named(class_name: str) -> Op | None:
    """The op a framework's class name stands for: Conv2d, Conv2D and conv2d are `conv2d`."""
    wanted = _squashed(class_name)
    for op in registry.all_ops():
        if wanted in (_squashed(n) for n in (op.name, *op.aliases)):
            return op
    return None


def _squashed(name: str) -> str:
    return name.replace("_", "").lower()


def _archc_args(op: Op, args: tuple[ast.Arg, ...], torch: bool) -> str:
    """The call's arguments as archc takes them. PyTorch's positional arguments follow its
    constructor, which starts with the sizes archc infers; Keras's follow archc's order."""
    positional = [a for a in args if a.name is None]
    keywords = {a.name.name: a for a in args if a.name is not None}
    fields: list[tuple[str, ast.Arg]] = []
    if torch:
        if positional and not op.torch_positional:
            return ""  # no order declared: the arguments cannot be told apart
        slots = op.torch_positional
        fields += [(slot, a) for slot, a in zip(slots, positional, strict=False) if slot]
        fields += [(k, a) for k, a in keywords.items() if k in op.Args.fields]
    else:
        fields += list(zip(op.positional, positional, strict=False))
        fields += [(k, a) for k, a in keywords.items() if k in op.Args.fields]
    given = dict(fields)
    shown: list[str] = []
    by_name = {name for name, arg in fields if arg.name is not None}
    for slot in op.positional:  # positional while archc's order allows, then by name
        if slot not in given or slot in by_name:
            break
        shown.append(_value(given.pop(slot)))
    shown += [f"{name}={_value(arg)}" for name, arg in given.items()]
    return ", ".join(shown)


def _value(arg: ast.Arg) -> str:
    """An argument's value as archc writes it: Python's `False` is `false`."""
    if isinstance(arg.value, ast.Name) and arg.value.id in PYTHON_LITERALS:
        return PYTHON_LITERALS[arg.value.id]
    return _written(arg.value)


def _written(node: Any) -> str:
    span = node.span
    return span.source.text[span.start : span.end]
