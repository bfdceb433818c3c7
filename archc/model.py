"""``archc.load``: an analysed network as a Python object, for scripts and notebooks.

    >>> import archc
    >>> model = archc.load("specs/resnet18.arch")  # doctest: +SKIP
    >>> model.params  # doctest: +SKIP
    11689512
    >>> model.render("resnet18.svg", depth=1)  # doctest: +SKIP

In a notebook a model shows itself as its diagram at depth 1 (blocks and stages as boxes), and
``model.summary()`` as an HTML table (printed, it is the text table of `archc summary`). The
compiler is imported on first use, so ``import archc`` stays fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archc.dims import Dim
    from archc.semantics.ir import Network


def load(
    path: str | os.PathLike[str],
    network: str | None = None,
    *,
    strict: bool = False,
    **overrides: Any,
) -> Model:
    """Analyse the spec at ``path``; ``overrides`` set network parameters (``classes=10``).

    Raises :class:`archc.errors.ArchError` when the spec has errors and
    :class:`archc.errors.UsageError` when it cannot be read or does not hold exactly one network
    (or none named ``network``).
    """
    from archc import api
    from archc.backends.render import single_network
    from archc.errors import ArchError, UsageError

    shown = os.fspath(path)
    networks, diagnostics = api.analyse(shown, network, overrides, strict)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise ArchError(errors)
    if network is not None and not networks:
        raise UsageError(f"{shown} has no network `{network}`")
    return Model(single_network(shown, networks), shown, overrides)


class Model:
    """An analysed network: its diagram, its summary, its counts, and the module it compiles to."""

    def __init__(
        self, network: Network, path: str, overrides: dict[str, Any] | None = None
    ) -> None:
        self.network = network
        self.path = path
        self.overrides = dict(overrides or {})

    def __repr__(self) -> str:
        return f"<archc.Model {self.network.name} from {self.path}: {self.params:,} params>"

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def params(self) -> int:
        """Parameters, each tensor once: a tied parameter counts at its source only."""
        return self.network.param_count

    @property
    def buffers(self) -> int:
        """Elements of the buffers (BatchNorm running statistics, fixed position tables)."""
        return self.network.buffer_count

    @property
    def macs(self) -> Dim:
        """Multiply-accumulates of one sample's forward pass (`archc summary --help` says what
        counts); an expression where a size is symbolic (``T``)."""
        return self.network.macs

    def summary(self, depth: int | None = None, batch: int = 1, dtype: str = "float32") -> Summary:
        """The summary `archc summary` prints: a table in a notebook, text when printed."""
        from archc.backends.summary import memory

        memory(self.network, batch, dtype)  # a bad batch or dtype fails here, not when shown
        return Summary(self.network, depth, batch, dtype)

    def build(self, device: Any = None, dtype: Any = None, seed: int | None = None) -> Any:
        """The network as an ``nn.Module``, built from its generated source (needs torch); the
        parameters it was loaded with apply."""
        from archc.runtime import build

        return build(self.path, self.name, device=device, dtype=dtype, seed=seed, **self.overrides)

    def render(self, target: str | os.PathLike[str] = "svg", **options: Any) -> str | bytes | None:
        """Draw the network.

        ``target`` is a file path (``net.png``: writes the file, returns None) or a bare format:
        "svg" and "dot" return text, "png" and "pdf" bytes. ``options`` are those of
        :class:`archc.backends.graphviz.Options` (``depth``, ``collapse_repeats``, ``hide``,
        ``rankdir``, ``theme``, ``show_shapes``, ``dpi``) plus ``engine``.
        """
        from archc.backends.graphviz import Options
        from archc.backends.render import FORMATS, render_bytes, render_file

        engine = options.pop("engine", None)
        if "hide" in options:
            options["hide"] = tuple(options["hide"])
        chosen = Options(**options)
        target = os.fspath(target)
        if target.lower() not in FORMATS:
            render_file(self.network, target, chosen, engine)
            return None
        data = render_bytes(self.network, target.lower(), chosen, engine)
        return data.decode("utf-8") if target.lower() in ("svg", "dot") else data

    def _repr_svg_(self) -> str | None:
        """The diagram at depth 1, for Jupyter; None (no picture) when no layout engine is
        installed."""
        from archc.errors import UsageError

        try:
            svg = self.render("svg", depth=1)
        except UsageError:
            return None
        assert isinstance(svg, str)
        return svg


class Summary:
    """A network's summary: ``str()`` is the text table, ``_repr_html_`` the notebook's table."""

    def __init__(self, network: Network, depth: int | None, batch: int, dtype: str) -> None:
        self.network = network
        self.depth = depth
        self.batch = batch
        self.dtype = dtype

    def __str__(self) -> str:
        from archc.backends.summary import render_table

        return render_table(self.network, self.depth, None, self.batch, self.dtype)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from archc.backends.summary import render_html

        return render_html(self.network, self.depth, self.batch, self.dtype)
