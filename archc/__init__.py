"""archc: a declarative language for neural-network architectures, and its compiler.

The functions here are the ones a script needs; each imports what it uses when it runs, so
``import archc`` is quick and never imports torch:

- :func:`check`: every diagnostic of a spec, as `archc check` reports them;
- :func:`load`: the analysed network, with its summary, parameter count and diagram;
- :func:`compile_source`: the PyTorch source `archc compile` writes;
- :func:`build`: that source executed, as an ``nn.Module`` (needs torch).

A spec goes through the stages text -> AST -> graph IR -> backends::

    >>> from archc.errors import SourceFile
    >>> from archc.syntax.parse import parse
    >>> text = "network Tiny {\\n  in x: [3, 32, 32]\\n  out x -> relu\\n}\\n"
    >>> module = parse(SourceFile("tiny.arch", text))
    >>> [item.name.name for item in module.items]
    ['Tiny']
"""

from __future__ import annotations

__version__ = "0.1.0"

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archc.model import load

if TYPE_CHECKING:
    from torch import nn

    from archc.errors import Diagnostic

__all__ = ["__version__", "build", "check", "compile_source", "import_module", "load"]


def check(path: str | os.PathLike[str], *, strict: bool = False) -> list[Diagnostic]:
    """Every diagnostic (errors and warnings) of the spec at ``path``, sorted by position.

    ``strict`` makes a filter that does not tile its input an error. Raises
    :class:`archc.errors.UsageError` when the file cannot be read.
    """
    from archc import api

    return api.check(os.fspath(path), strict)


def compile_source(
    path: str | os.PathLike[str],
    network: str | None = None,
    *,
    strict: bool = False,
    root: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> str:
    """The PyTorch module `archc compile` writes for the spec at ``path``, as text.

    ``network`` picks one network of the file; ``overrides`` set network parameters
    (``classes=10``); ``root`` lets `use` read below that folder too. Raises
    :class:`archc.errors.ArchError` when the spec has errors.
    """
    from archc import api

    return api.compile_source(os.fspath(path), network, strict, _optional_path(root), **overrides)


def build(
    path: str | os.PathLike[str],
    network: str | None = None,
    *,
    device: Any = None,
    dtype: Any = None,
    seed: int | None = None,
    root: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> nn.Module:
    """The network of the spec at ``path`` as an ``nn.Module``, built from exactly the source
    :func:`compile_source` returns; a file that defines several networks needs ``network``.

    ``device="meta"`` builds without allocating memory; with ``seed`` every layer is initialised
    from a generator seeded by ``seed`` and its own path. ``overrides`` set network parameters.
    Needs torch (``pip install "archc[torch]"``); raises :class:`archc.errors.UsageError`
    without it. :func:`archc.runtime.build` also takes a limit on the parameters built.
    """
    from archc import runtime

    model: nn.Module = runtime.build(
        os.fspath(path),
        network,
        device=device,
        dtype=dtype,
        seed=seed,
        root=_optional_path(root),
        **overrides,
    )
    return model


def import_module(
    module: nn.Module,
    example_inputs: tuple[Any, ...],
    axes: Sequence[tuple[int, int, str]] | None = None,
) -> str:
    """The spec of the PyTorch ``module``, traced with torch.fx on ``example_inputs`` (tensors
    with a batch axis), as `archc import` writes it: blocks for its classes, named chains for
    its containers, state_dict keys unchanged. ``axes`` are the symbolic sizes, each (input,
    axis, name): `[(0, 2, "H"), (0, 3, "W")]` for an image's; by default the length of token
    ids and their masks (integer or boolean inputs of shape (N, T)) is `T`.

    Raises :class:`archc.errors.ArchError` with a diagnostic for each part the spec cannot
    express (control flow on tensor values, layers archc has no op for).
    """
    from archc.errors import ArchError
    from archc.importer import import_module as trace_module
    from archc.importer.sizes import Axis

    symbolic = None if axes is None else tuple(Axis(*axis) for axis in axes)
    imported = trace_module(module, tuple(example_inputs), axes=symbolic)
    if imported.diagnostics or imported.text is None:
        raise ArchError(imported.diagnostics)
    return imported.text


def _optional_path(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)
