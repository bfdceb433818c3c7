"""Diagrams: a network as Graphviz DOT text, drawn the way a person would draw it.

Each box is one op (its compact label from the op registry, its name, output shape and
parameters), coloured by op family; network inputs and outputs are house-shaped; blocks and named
sequences are clusters labelled with their arguments and parameter totals. Skip connections (the
side input of an add or mul) and concatenations (dense and U-Net joins) are drawn in their own
colour and style and leave the main path by the side, so the main path stays a straight line.

What the diagram holds (which boxes, clusters and edges, after ``depth``, ``collapse_repeats``
and ``hide``) is decided in archc/backends/diagram.py; this module writes it as DOT, with its
colours, shapes and legend. Ids come from node ids and module paths and attributes are sorted,
so the DOT text is byte-identical from run to run.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from html import escape
from typing import Literal

import graphviz

from archc.backends.diagram import (
    Edge,
    ULayout,
    Unit,
    View,
    build_view,
    module_title,
    shape_text,
    short_path,
    u_layout,
)
from archc.errors import UsageError
from archc.ops import all_ops, suggest
from archc.semantics.ir import Module, Network

__all__ = ["Options", "count_text", "digraph", "to_dot"]

# A PNG's resolution: below 24 text is unreadable, above 1200 a large network is gigapixels.
MIN_DPI, MAX_DPI = 24, 1200


@dataclass(frozen=True)
class Options:
    """What a diagram shows (``depth``, ``collapse_repeats``, ``hide``: see diagram.py) and how."""

    depth: int | None = None
    collapse_repeats: bool = False
    hide: tuple[str, ...] = ()
    rankdir: Literal["TB", "LR"] = "TB"
    # "u": an encoder-decoder as a U (diagram.u_layout); "straight": the main path top to bottom
    layout: Literal["straight", "u"] = "straight"
    theme: Literal["light", "dark"] = "light"
    show_shapes: bool = True
    dpi: int = 192  # of a PNG: twice a screen's 96, sharp on a high-density display

    def __post_init__(self) -> None:
        if self.depth is not None and self.depth < 1:
            raise UsageError(f"depth must be 1 or more, got {self.depth}")
        if not MIN_DPI <= self.dpi <= MAX_DPI:
            raise UsageError(f"dpi must be between {MIN_DPI} and {MAX_DPI}, got {self.dpi}")
        if self.rankdir not in ("TB", "LR"):
            raise UsageError(f"rankdir must be TB or LR, got {self.rankdir!r}")
        if self.layout not in ("straight", "u"):
            raise UsageError(f"layout must be straight or u, got {self.layout!r}")
        if self.layout == "u" and self.rankdir != "TB":
            raise UsageError("a U layout is drawn top to bottom; it cannot go with rankdir LR")
        if self.theme not in THEMES:
            raise UsageError(f"theme must be light or dark, got {self.theme!r}")
        families = sorted({op.family for op in all_ops()})
        unknown = [f for f in self.hide if f not in families]
        if unknown:
            close = suggest(unknown[0], families)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise UsageError(
                f"cannot hide unknown op family `{unknown[0]}`; {hint}"
                f"families: {', '.join(families)}"
            )


# --- colours -------------------------------------------------------------------------------------

# One fill per op family and theme (light, dark), fixed so that a family looks the same in every
# diagram, and chosen so that any two differ at a glance: tests/test_render.py keeps every pair
# at least 15 apart in CIELAB (ΔE*76; 2.3 is the smallest difference people notice).
_FILLS: dict[str, tuple[str, str]] = {
    "conv": ("#a5d8ff", "#1c5580"),
    "linear": ("#d0bfff", "#5f3dc4"),
    "position": ("#fcc2d7", "#8c2d5a"),
    "embedding": ("#e599f7", "#8a2a9c"),
    "attention": ("#ffa8a8", "#9b2c2c"),
    "activation": ("#ffc078", "#99540f"),
    "norm": ("#ffec99", "#6e600a"),
    "resample": ("#c0eb75", "#4d6b12"),
    "pool": ("#8ce99a", "#1f6b2e"),
    "recurrent": ("#63e6be", "#0d6655"),
    "dropout": ("#dee2e6", "#495057"),
    "shape": ("#d3b89c", "#6b4e32"),
    "merge": ("#99e9f2", "#0b7285"),
    "block": ("#91a7ff", "#2b3a7a"),
}


@dataclass(frozen=True)
class Theme:
    background: str
    text: str
    muted: str
    edge: str
    skip: str
    dense: str
    cluster: str
    io_fill: str
    io_text: str
    palette: int  # which of each family's fills
    border: float  # the lightness of box borders: the fill's hue, darker or lighter


THEMES = {
    "light": Theme(
        background="white", text="#1f2328", muted="#57606a", edge="#57606a", skip="#d9480f",
        dense="#0b7285", cluster="#8c959f", io_fill="#24292f", io_text="white",
        palette=0, border=0.35,
    ),
    "dark": Theme(
        background="#161b22", text="#e6edf3", muted="#9da7b3", edge="#9da7b3", skip="#ff922b",
        dense="#3bc9db", cluster="#6e7781", io_fill="#e6edf3", io_text="#161b22",
        palette=1, border=0.70,
    ),
}  # fmt: skip


def _with_lightness(colour: str, lightness: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, _, saturation = colorsys.rgb_to_hls(red, green, blue)
    rgb = colorsys.hls_to_rgb(hue, lightness, min(saturation, 0.6))
    return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in rgb))


def colours(family: str, theme: Theme) -> tuple[str, str]:
    """The fill and border colour of a family's boxes."""
    fill = _FILLS[family][theme.palette]
    return fill, _with_lightness(fill, theme.border)


def _legend_families(view: View) -> list[str]:
    """The families of the boxes in ``view``, in the legend's order."""
    present = {u.family for u in view.units.values()}
    return [family for family in _FILLS if family in present]


_LEGEND_WIDTH = 7  # legend entries per line
_MAX_SEPARATE_SIDE_EDGES = 40

# --- text ----------------------------------------------------------------------------------------


def count_text(count: int) -> str:
    """A parameter count the way papers write it: 960, 9.41K, 11.7M.

    >>> [count_text(n) for n in (960, 9408, 64000, 11_689_512)]
    ['960', '9.41K', '64K', '11.7M']
    """
    for suffix, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= size:
            return f"{count / size:.3g}{suffix}"
    return str(count)


def _html(title: str, details: list[str], muted: str, left: bool = False) -> str:
    """An HTML-like label: the title in bold, then a smaller, muted line of details."""
    lines = [f"<b>{escape(title)}</b>"]
    shown = " · ".join(escape(d) for d in details if d)
    if shown:
        lines.append(f'<font point-size="9" color="{muted}">{shown}</font>')
    if left:  # each line break aligns the line before it
        return "<" + "".join(f'{line}<br align="left"/>' for line in lines) + ">"
    return "<" + "<br/>".join(lines) + ">"


def _params(count: int) -> str:
    return f"{count_text(count)} params" if count else ""


def _unit_params(network: Network, unit: Unit) -> str:
    """A box's parameters; "shared" for a later call of a shared layer, "tied" for a layer
    whose weights are another layer's."""
    if unit.params == 0 and any(node.params for node in unit.nodes):
        shared = any(network.application_of(node.path) for node in unit.nodes)
        return "shared" if shared else "tied"
    return _params(unit.params)


# --- DOT -----------------------------------------------------------------------------------------


def to_dot(network: Network, options: Options | None = None) -> str:
    """The DOT text of the diagram of ``network``."""
    return digraph(network, options or Options()).source


def digraph(network: Network, options: Options) -> graphviz.Digraph:
    view = build_view(network, options.depth, options.collapse_repeats, options.hide)
    theme = THEMES[options.theme]
    graph = graphviz.Digraph(name=network.name)
    # Routing many long side edges one by one takes dot minutes (a 24-layer dense block has
    # 300); merged into shared trunks they take a second, and read as well.
    crowded = sum(edge.aside for edge in view.edges) > _MAX_SEPARATE_SIDE_EDGES
    graph.attr(
        "graph",
        **_sorted(
            bgcolor=theme.background,
            concentrate="true" if crowded else "false",
            fontcolor=theme.text,
            fontname="Helvetica",
            label=_heading(network, view, theme),
            labelloc="t",
            newrank="true",
            nodesep="0.3",
            rankdir=options.rankdir,
            ranksep="0.3",
        ),
    )
    graph.attr("node", **_sorted(fontcolor=theme.text, fontname="Helvetica", fontsize="11"))
    graph.attr(
        "edge",
        **_sorted(arrowsize="0.6", color=theme.edge, fontcolor=theme.muted, fontname="Helvetica"),
    )
    _emit_cluster(graph, "", view, network, theme)
    u = _u_layout(network, view) if options.layout == "u" else None
    for edge in view.edges:
        style = _edge_style(edge, options, theme)
        if u is not None and (edge.tail, edge.head) in u.across:
            # straight across the U, from the encoder's side to the decoder's
            style = _sorted(**{**style, "constraint": "false", "headport": "w", "tailport": "e"})
        elif u is not None and edge.head in u.rising and not edge.aside:
            # the decoder climbs: drawn from head to tail, so that dot ranks the head higher
            graph.edge(edge.head, edge.tail, **_sorted(**style, dir="back"))
            continue
        graph.edge(edge.tail, edge.head, **style)
    for index, row in enumerate(u.rows if u is not None else ()):
        with graph.subgraph(name=f"u_row{index}") as same:
            same.attr("graph", rank="same")
            for key in row:
                same.node(key)
    return graph


def _u_layout(network: Network, view: View) -> ULayout:
    found = u_layout(view)
    if found is None:
        raise UsageError(
            f"`{network.name}` has no encoder-decoder to draw as a U: no skip joins a map of "
            "the way down to one of the same size on the way up"
        )
    return found


def _sorted(**attrs: str) -> dict[str, str]:
    return dict(sorted(attrs.items()))


def _emit_cluster(
    graph: graphviz.Digraph, path: str, view: View, network: Network, theme: Theme
) -> None:
    for kind, key in view.children.get(path, []):
        if kind == "unit":
            graph.node(key, **_unit_style(view.units[key], network, theme))
            continue
        with graph.subgraph(name=f"cluster_{key}") as cluster:
            cluster.attr("graph", **_cluster_style(network.modules[key], view, network, theme))
            _emit_cluster(cluster, key, view, network, theme)


def _cluster_style(module: Module, view: View, network: Network, theme: Theme) -> dict[str, str]:
    title = module_title(network, module)
    # a sequence's title starts with its name already
    details = [
        short_path(module.path) if module.kind == "block" else "",
        _params(view.module_params[module.path]),
    ]
    return _sorted(
        color=theme.cluster,
        fontcolor=theme.text,
        fontsize="11",
        label=_html(title, details, theme.muted, left=True),
        labeljust="l",
        penwidth="2" if module.path in view.collapsed_repeats else "1",
        style="rounded" if module.kind == "block" else "rounded,dashed",
    )


_IO = {"input": "in", "output": "out"}


def _unit_style(unit: Unit, network: Network, theme: Theme) -> dict[str, str]:
    shape = shape_text(unit.output)
    if unit.family in ("input", "output"):
        return _sorted(
            color=theme.io_fill,
            fillcolor=theme.io_fill,
            fontcolor=theme.io_text,
            label=_html(f"{_IO[unit.family]} {unit.name}", [shape], theme.io_text),
            shape="invhouse" if unit.family == "input" else "house",
            style="filled",
        )
    fill, border = colours(unit.family, theme)
    if unit.module is not None:
        title = module_title(network, unit.module)
        path = short_path(unit.module.path) if unit.module.kind == "block" else ""
        details = [path, shape, _unit_params(network, unit)]
        return _sorted(
            color=border,
            fillcolor=fill,
            label=_html(title, details, theme.muted),
            penwidth="2",
            shape="box",
            style="filled,rounded",
        )
    if unit.symbol:  # an elementwise join: a small circle with its operator, as in papers
        return _sorted(
            color=border,
            fillcolor=fill,
            fontsize="14",
            label=unit.title,
            shape="circle",
            style="filled",
            tooltip=shape,
            width="0.3",
        )
    return _sorted(
        color=border,
        fillcolor=fill,
        label=_html(unit.title, [unit.name, shape, _unit_params(network, unit)], theme.muted),
        shape="box",
        style="filled,rounded",
    )


def _edge_style(edge: Edge, options: Options, theme: Theme) -> dict[str, str]:
    attrs = {"label": edge.label, "fontsize": "8"} if options.show_shapes else {}
    if edge.aside:
        # The main edge out of the same box already says what the tensor is.
        attrs = {"tooltip": edge.label}
    if edge.kind == "main":
        return _sorted(**attrs)
    attrs.update(
        {"class": edge.kind},
        color=theme.skip if edge.kind == "skip" else theme.dense,
        penwidth="1.3",
        style="dashed" if edge.kind == "skip" else "bold",
    )
    if edge.aside:
        # Enter by the side and do not rank the ends, so that the edge arcs beside the main
        # path instead of running under it (a tail port as well makes the arcs loop).
        attrs.update(constraint="false", headport="e" if options.rankdir == "TB" else "s")
    return _sorted(**attrs)


def _legend_entry(sample: str, text: str) -> str:
    # one cell per entry, so that entries of different widths line up in the legend's grid
    return (
        '<td align="left"><table border="0" cellspacing="0" cellpadding="1"><tr>'
        f'{sample}<td align="left"><font point-size="9">{text}</font></td></tr></table></td>'
    )


def _heading(network: Network, view: View, theme: Theme) -> str:
    """The graph's label: the network's name and size, then a legend of what the colours and
    edge styles mean (only those in the picture), a few entries per line."""
    entries = []
    for family in _legend_families(view):
        fill, border = colours(family, theme)
        swatch = (
            f'<td bgcolor="{fill}" color="{border}" border="1" fixedsize="true" width="16" '
            'height="10"></td>'
        )
        entries.append(_legend_entry(swatch, escape(family)))
    for kind, text in (("skip", "skip"), ("dense", "concatenation")):
        if kind in view.edge_kinds:
            colour, dash = (theme.skip, "- - -") if kind == "skip" else (theme.dense, "——")
            entries.append(
                _legend_entry(
                    f'<td fixedsize="true" width="24" height="10">'
                    f'<font point-size="9" color="{colour}"><b>{dash}</b></font></td>',
                    text,
                )
            )
    rows = "".join(
        "<tr>" + "".join(entries[i : i + _LEGEND_WIDTH]) + "</tr>"
        for i in range(0, len(entries), _LEGEND_WIDTH)
    )
    # a table needs a row: a network of no layers has no legend
    legend = (
        f'<tr><td><table border="0" cellspacing="3" cellpadding="1">{rows}</table></td></tr>'
        if rows
        else ""
    )
    title = f"{network.name} · {_params(network.param_count) or 'no params'}"
    return (
        f'<<table border="0" cellspacing="0"><tr><td><font point-size="16"><b>{escape(title)}'
        f"</b></font></td></tr>{legend}</table>>"
    )
