"""From DOT text to pictures: the layout engine, the output formats and writing files.

Layout needs a Graphviz program. archc uses the system ``dot`` when it is installed and otherwise
``graphviz-pure``, a self-contained port of Graphviz's ``dot`` command that pip installs with
archc (a static binary in a wheel, no system libraries), so ``pip install archc`` alone gives
working SVG and PNG. graphviz-pure does not write PDF; for PDF, install Graphviz. Writing
``.dot`` needs no engine at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from archc.backends.graphviz import Options, to_dot
from archc.errors import UsageError
from archc.files import write_atomically
from archc.semantics.ir import Network

FORMATS = ("svg", "png", "pdf", "dot")

# Engines in order of preference, with the formats each writes.
ENGINES: dict[str, tuple[str, ...]] = {
    "dot": ("svg", "png", "pdf"),
    "graphviz-pure": ("svg", "png"),
}

_GRAPHVIZ = "`apt install graphviz`, `brew install graphviz` or `conda install graphviz`"
_INSTALL = {
    "dot": f"Graphviz's `dot` is not installed; install Graphviz ({_GRAPHVIZ})",
    "graphviz-pure": "`graphviz-pure` is not installed; `pip install graphviz-pure` installs it",
    None: (
        "no Graphviz layout engine is installed; install one with `pip install graphviz-pure` "
        f"(svg and png) or install Graphviz ({_GRAPHVIZ}; also pdf), "
        "or write the diagram as .dot text"
    ),
}


@dataclass(frozen=True)
class Engine:
    """A Graphviz layout program: its name, where it is and what it writes."""

    name: str
    path: str
    formats: tuple[str, ...]


def locate(program: str) -> str | None:
    """The program on PATH, or beside this Python (a virtual environment that was not
    activated still has its scripts there)."""
    return shutil.which(program) or shutil.which(program, path=sysconfig.get_path("scripts"))


def available_engines() -> list[Engine]:
    """Every installed engine, in order of preference."""
    found = []
    for name, formats in ENGINES.items():
        path = locate(name)
        if path is not None:
            found.append(Engine(name, path, formats))
    return found


def find_engine(fmt: str, name: str | None = None) -> Engine:
    """The engine that writes ``fmt``: the one named, or the first installed that can.

    Raises UsageError, saying what to install, when there is none.
    """
    if name is not None and name not in ENGINES:
        raise UsageError(f"unknown engine `{name}`; engines: {', '.join(ENGINES)}")
    engines = [e for e in available_engines() if name is None or e.name == name]
    if not engines:
        raise UsageError(_INSTALL[name])
    for engine in engines:
        if fmt in engine.formats:
            return engine
    names = " or ".join(e.name for e in engines)
    raise UsageError(
        f"{names} cannot write {fmt} (it writes {', '.join(engines[0].formats)}); "
        f"install Graphviz for {fmt} ({_GRAPHVIZ}) or choose another format"
    )


def format_of(path: str) -> str:
    """The output format named by a file's extension."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        shown = f"`.{fmt}`" if fmt else "no extension"
        raise UsageError(
            f"cannot tell the format of {path} ({shown}); use .svg, .png, .pdf or .dot"
        )
    return fmt


def layout(dot: str, fmt: str, engine: Engine, dpi: int | None = None) -> bytes:
    """Run ``engine`` on the DOT text; the picture's bytes. ``dpi`` sets a PNG's resolution
    (SVG and PDF are measured in points and scale freely)."""
    command = [engine.path, f"-T{fmt}"]
    if dpi is not None and fmt == "png":
        command.append(f"-Gdpi={dpi}")
    try:
        done = subprocess.run(command, input=dot.encode("utf-8"), capture_output=True, check=False)
    except OSError as exc:
        raise UsageError(f"cannot run {engine.name} ({engine.path}): {exc.strerror}") from None
    if done.returncode != 0:
        # Engines also warn on success (e.g. about glyph widths); those are not worth showing.
        message = done.stderr.decode("utf-8", errors="replace").strip()
        raise UsageError(f"{engine.name} failed on the diagram: {message}")
    return done.stdout


def render_bytes(network: Network, fmt: str, options: Options, engine: str | None = None) -> bytes:
    """The diagram of ``network`` in ``fmt`` (svg, png, pdf, or dot for the DOT text)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format `{fmt}`; formats: {', '.join(FORMATS)}")
    chosen = None if fmt == "dot" else find_engine(fmt, engine)
    dot = to_dot(network, options)
    return dot.encode("utf-8") if chosen is None else layout(dot, fmt, chosen, options.dpi)


def render_file(network: Network, path: str, options: Options, engine: str | None = None) -> None:
    """Draw ``network`` into the file at ``path``, in the format its extension names."""
    fmt = format_of(path)
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {path}: the folder {folder} does not exist")
    write_atomically(path, render_bytes(network, fmt, options, engine))


def single_network(path: str, networks: list[Network]) -> Network:
    """The one network a diagram shows; a usage error when the file has none or several."""
    if not networks:
        raise UsageError(f"{path} defines no network to draw")
    if len(networks) > 1:
        names = ", ".join(f"`{n.name}`" for n in networks)
        raise UsageError(f"{path} defines {names}; choose one with --network NAME")
    return networks[0]
