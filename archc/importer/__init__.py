"""`archc import`: an existing PyTorch model as a readable spec.

The model is traced with torch.fx (:mod:`archc.importer.trace`), each layer and function is
matched to an op through the registry (:mod:`archc.importer.layers`), user classes become
blocks and containers named chains (:mod:`archc.importer.spec`), and the text is laid out by
archc's formatter. What cannot be written is reported, located in the model's source, and left
in the spec as a `TODO_<path>` placeholder that `archc check` rejects.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import textwrap
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archc.dims import BATCH_NAME
from archc.errors import ArchError, Diagnostic, SourceFile, UsageError
from archc.importer.body import dense, nested
from archc.importer.branches import Branch
from archc.importer.failures import TraceAborted
from archc.importer.problems import from_failure, from_problem, indexed_keys
from archc.importer.scopes import unread_layers
from archc.importer.sizes import Axis, Unwritable, default_axes
from archc.importer.spec import Block, SpecWriter, is_container
from archc.importer.terms import plain, written_name
from archc.importer.trace import trace
from archc.syntax.fmt import format_source


@dataclass(frozen=True)
class Imported:
    """The spec text (None when nothing could be traced) and what it could not express."""

    text: str | None
    diagnostics: list[Diagnostic]


def import_module(
    model: nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    source: str | None = None,
    axes: tuple[Axis, ...] | None = None,
) -> Imported:
    """``model`` as a spec, traced on ``example_inputs``; ``source`` names it in the header.
    The input ``axes`` (by default the length of token ids, `T`) are symbolic where the model
    takes them at other lengths."""
    model.eval()
    axes = default_axes(example_inputs) if axes is None else axes
    try:
        root, failures = trace(model, example_inputs, axes)
    except TraceAborted as aborted:
        return Imported(None, [from_failure(f) for f in aborted.failures[-1:]])
    unread = unread_layers(model, root)  # before the writer leaves steps out of the tree
    writer = SpecWriter(root, {f.path for f in failures})
    try:
        terms = nested(dense(writer.positional(writer.terms(root, plain))))
        body = writer.body(root, terms, {v: v for v in root.inputs})
    except Unwritable as exc:
        # the sizes stay the example's, and the header says why
        imported = import_module(model, example_inputs, source, ())
        reasons = root.fixed | {axis.symbol: str(exc) for axis in root.axes}
        return _with_fixed(imported, reasons, example_inputs, axes)
    name = type(model).__name__
    source = source or f"{type(model).__module__}.{name}"
    lines = _header(name, source, root.kept, unread)
    lines[-1:-1] = _fixed_lines(root.fixed, example_inputs, axes)
    lines[-1:-1] = _branch_lines(root.branches, example_inputs, root.axes)
    for block in writer.order:
        lines += _block(block)
    lines += [f"network {name} {{"]
    for index, (value, tensor) in enumerate(zip(root.inputs, example_inputs, strict=True)):
        # a float input computes in the type the network is built in; ids keep theirs
        kind = "" if tensor.is_floating_point() else str(tensor.dtype).removeprefix("torch.")
        sizes: list[Any] = list(tensor.shape[1:])
        for axis in root.axes:
            if axis.input == index:
                sizes[axis.dim - 1] = axis.symbol
        lines.append(f"    in {value}: {kind}[{', '.join(map(str, sizes))}]")
    lines += [f"    assert {s} >= {n}" for s, n in _least_lengths(root.branches).items()]
    lines += [f"    {line}" for line in body]
    lines += [f"    tie {target} = {source}" for target, source in _ties(model)] + ["}"]
    text = "\n".join(lines) + "\n"
    # a text the formatter cannot read is left as written: `archc check` shows what is wrong
    with contextlib.suppress(ArchError):
        text = format_source(SourceFile(f"{name}.arch", text))
    problems = list(dict.fromkeys(writer.problems))
    diagnostics = [from_failure(f) for f in failures] + [from_problem(p) for p in problems]
    if is_container(model):
        diagnostics.append(indexed_keys(name))
    return Imported(text, diagnostics)


def _fixed_lines(
    reasons: dict[str, str], inputs: tuple[torch.Tensor, ...], axes: tuple[Axis, ...]
) -> list[str]:
    """A header line for each reason symbolic axes keep the example's lengths: `# H stays 6
    and W stays 5: ...`."""
    grouped: dict[str, list[str]] = {}
    for symbol, reason in reasons.items():
        axis = next(a for a in axes if a.symbol == symbol)
        length = int(inputs[axis.input].shape[axis.dim])
        grouped.setdefault(reason, []).append(f"{symbol} stays {length}")
    lines = []
    for reason, stays in grouped.items():
        text = f"{' and '.join(stays)}: {reason}."
        lines += textwrap.wrap(text, 97, initial_indent="# ", subsequent_indent="# ")
    return lines


def _branch_lines(
    branches: list[Branch], inputs: tuple[torch.Tensor, ...], axes: tuple[Axis, ...]
) -> list[str]:
    """A header line for each place the forward branches on a symbolic length, saying from
    which length on every length takes the branch the example takes."""
    lines = []
    for branch in branches:
        axis = next(a for a in axes if a.symbol == branch.symbol)
        length = int(inputs[axis.input].shape[axis.dim])
        symbol, least = branch.symbol, branch.least
        held = (
            "every length"
            if least is None or least <= 1
            else f"from {symbol} = {least} on (the spec asserts {symbol} >= {least}) every length"
        )
        text = (
            f"The forward branches on {symbol} at {branch.place}; {held} takes the branch "
            f"{symbol} = {length} takes."
        )
        lines += textwrap.wrap(text, 97, initial_indent="# ", subsequent_indent="# ")
    return lines


def _least_lengths(branches: list[Branch]) -> dict[str, int]:
    """By symbol, the least length that takes every branch the example takes, where it is
    more than 1: what the spec asserts."""
    least: dict[str, int] = {}
    for branch in branches:
        if branch.least is not None and branch.least > 1:
            least[branch.symbol] = max(least.get(branch.symbol, 1), branch.least)
    return least


def _with_fixed(
    imported: Imported,
    reasons: dict[str, str],
    inputs: tuple[torch.Tensor, ...],
    axes: tuple[Axis, ...],
) -> Imported:
    """``imported``, written with every axis fixed, its header saying why each one is."""
    if imported.text is None:
        return imported
    head, blank, rest = imported.text.partition("\n\n")
    lines = _fixed_lines(reasons, inputs, axes)
    return Imported("\n".join([head, *lines]) + blank + rest, imported.diagnostics)


def _ties(model: nn.Module) -> list[tuple[str, str]]:
    """Parameters that two of the model's modules hold (GPT-2's output projection and token
    embedding), as (target, source): each later path tied to the first. One module held under
    two paths is a shared instance instead, or A509."""
    first: dict[int, str] = {}
    found = []
    for path, parameter in model.named_parameters(remove_duplicate=False):
        source = first.setdefault(id(parameter), path)
        if source != path and _owner(model, path) is not _owner(model, source):
            found.append((_tie_path(path), _tie_path(source)))
    return found


def _owner(model: nn.Module, path: str) -> nn.Module:
    return model.get_submodule(path.rpartition(".")[0])


def _tie_path(path: str) -> str:
    """A parameter's path as `tie` reads it: a name that is not an identifier in quotes."""
    return ".".join(written_name(part) for part in path.split("."))


def _header(name: str, source: str, kept: tuple[str, ...], unread: list[str]) -> list[str]:
    lines = [
        f"# {name}, imported from the PyTorch module {source} by `archc import`.",
        "# Layer names are the module's attribute names, so state_dict keys are unchanged.",
        "# init: none, so every parameter keeps PyTorch's default initialisation.",
    ]
    if kept:
        first, *others = kept
        left = f"; {', '.join(others)} left out" if others else ""
        lines.append(f"# The output is the model's `{first}`{left}.")
    if unread:
        lines.append("# The output reads none of these layers, which the spec leaves out with")
        lines.append(f"# their state_dict keys: {', '.join(unread)}.")
    return [*lines, ""]


def _block(block: Block) -> list[str]:
    params = ", ".join(
        f"{name}={plain(name, default)}" if has_default else name
        for name, has_default, default in block.params
    )
    head = f"block {block.name}({params}) {{" if params else f"block {block.name} {{"
    inputs = ["    in x", *(f"    in x{index + 1}" for index in range(1, block.inputs))]
    return [head, *inputs, *[f"    {line}" for line in block.lines], "}", ""]


def import_model(target: str, arguments: str | None, shapes: list[str]) -> Imported:
    """`archc import`: the model ``target`` names, built with the JSON ``arguments``, as a spec
    traced on random inputs of ``shapes`` (`3,224,224`, without the batch; `int64:16` for 16
    token ids, each 0 or 1 so that any vocabulary holds them). A size written `T=16` is the
    symbolic size `T`; where none is, the length of token ids is."""
    read = [_input_shape(shape) for shape in shapes]
    model = load_target(target, arguments)
    generator = torch.Generator().manual_seed(0)
    inputs = tuple(
        torch.randint(0, 2, (1, *size), generator=generator)
        if integer
        else torch.randn(1, *size, generator=generator)
        for integer, size, _ in read
    )
    lengths: dict[str, int] = {}
    axes = []
    for index, (_, size, symbols) in enumerate(read):
        for dim, symbol in enumerate(symbols):
            if symbol and lengths.setdefault(symbol, size[dim]) != size[dim]:
                raise UsageError(
                    f"--input gives {symbol} two lengths, {lengths[symbol]} and {size[dim]}"
                )
            if symbol:
                axes.append(Axis(index, dim + 1, symbol))
    return import_module(model, inputs, target, tuple(axes) if axes else None)


def _input_shape(shape: str) -> tuple[bool, tuple[int, ...], tuple[str, ...]]:
    """Whether `--input`'s ``shape`` is of token ids (`int64:`), its sizes, and the symbol each
    size is declared as (`T=16`), "" where it is a number."""
    dtype, _, sizes = shape.rpartition(":")
    if dtype not in ("", "float32", "int64"):
        raise UsageError(f"--input takes float32 or int64 inputs, got {dtype!r}")
    symbols, _, lengths = zip(*(size.rpartition("=") for size in sizes.split(",")), strict=True)
    for symbol in symbols:
        if symbol and not (symbol.isidentifier() and symbol.isascii()):
            raise UsageError(f"--input names a size {symbol!r}, which is not a name")
        # lower-case names are the language's: its keywords, ops and functions
        if symbol and not symbol[0].isupper():
            raise UsageError(f"--input names a size {symbol!r}: start it with a capital, as T")
        if symbol == BATCH_NAME:
            raise UsageError(f"--input cannot name a size {BATCH_NAME}: it is the batch's")
    try:
        return dtype == "int64", tuple(int(n) for n in lengths), symbols
    except ValueError:
        raise UsageError(
            f"--input takes sizes like 3,224,224, int64:16 or int64:T=16, got {shape!r}"
        ) from None


def load_target(target: str, arguments: str | None = None) -> nn.Module:
    """The model ``target`` names: `package.module:Name` or `path/to/file.py:Name`, where Name
    is an ``nn.Module`` or a callable that returns one, called with the JSON object
    ``arguments`` as keyword arguments."""
    where, sep, attribute = target.partition(":")
    if not sep or not attribute:
        raise UsageError(f"name the model as module:Name or file.py:Name, got {target!r}")
    try:
        kwargs = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError as exc:
        raise UsageError(f"--args is not JSON: {exc}") from None
    if not isinstance(kwargs, dict):
        raise UsageError("--args must be a JSON object of keyword arguments")
    module = _load_python(where)
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise UsageError(f"{where} has no `{attribute}`")
        found = getattr(found, part)
    model = found if isinstance(found, nn.Module) else found(**kwargs)
    if not isinstance(model, nn.Module):
        raise UsageError(f"{target} gave a {type(model).__name__}, not an nn.Module")
    return model


def _load_python(where: str) -> Any:
    try:
        if where.endswith(".py"):
            spec = importlib.util.spec_from_file_location(where.rsplit("/", 1)[-1][:-3], where)
            if spec is None or spec.loader is None:
                raise ImportError(where)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(where)
    except (ImportError, OSError) as exc:
        raise UsageError(f"cannot import {where}: {exc}") from None
