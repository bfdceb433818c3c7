"""``archc.load``: an analysed network as a Python object, for scripts and notebooks.

    >>> import archc
    >>> model = archc.load("specs/resnet18.arch")  # doctest: +SKIP
    >>> model.params  # doctest: +SKIP
    11689512
    >>> model.render("resnet18.svg", depth=1)  # doctest: +SKIP

In a notebook a model shows itself as its diagram. The compiler is imported on first use, so
``import archc`` stays fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    return Model(single_network(shown, networks), shown)


class Model:
    """An analysed network: its diagram, its summary and its parameter count."""

    def __init__(self, network: Network, path: str) -> None:
        self.network = network
        self.path = path

    def __repr__(self) -> str:
        return f"<archc.Model {self.network.name} from {self.path}: {self.params:,} params>"

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def params(self) -> int:
        """Parameters, each tensor once: a tied parameter counts at its source only."""
        return self.network.param_count

    def summary(self, depth: int | None = None) -> str:
        """The table `archc summary` prints: layers, shapes, parameters and MACs."""
        from archc.backends.summary import render_table

        return render_table(self.network, depth)

    def render(self, target: str | os.PathLike[str] = "svg", **options: Any) -> str | bytes | None:
        """Draw the network.

        ``target`` is a file path (``net.png``: writes the file, returns None) or a bare format:
        "svg" and "dot" return text, "png" and "pdf" bytes. ``options`` are those of
        :class:`archc.backends.graphviz.Options` (``depth``, ``collapse_repeats``, ``hide``,
        ``rankdir``, ``theme``, ``show_shapes``) plus ``engine``.
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
        """The diagram, for Jupyter; None (no picture) when no layout engine is installed."""
        from archc.errors import UsageError

        try:
            svg = self.render("svg")
        except UsageError:
            return None
        assert isinstance(svg, str)
        return svg
