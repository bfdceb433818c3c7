"""Draw every network of the spec zoo (`specs/`) as an SVG diagram.

`archc.api.analyse` lists the networks of each spec; each network is then loaded with
`archc.load` and drawn with `.render(path)`. A file with one network gives `NAME.svg`, one with
several (the GAN pairs, word2vec) `NAME.NETWORK.svg`. A spec with errors is reported and
skipped. Layout needs a Graphviz program (`dot`, or `graphviz-pure`, which pip installs with
archc); without one, or with an archc that cannot draw, the script says so and draws nothing.

    python examples/render_all.py                      # every spec, into build/diagrams/
    python examples/render_all.py -o out --depth 1     # modules deeper than 1 as single boxes
    python examples/render_all.py --quick              # three small specs, at depth 1
"""

from __future__ import annotations

from pathlib import Path

import _common

import archc
from archc import api, zoo
from archc.errors import ArchError, UsageError

# Small specs that still cover one and several networks per file, for --quick.
QUICK = ("gan_mlp", "lstm_tagger", "nin")


def unavailable() -> str | None:
    """Why diagrams cannot be drawn here, or None when they can."""
    if not hasattr(archc, "load"):
        return "this archc has no archc.load(...).render()"
    try:
        from archc.backends.render import available_engines
    except ImportError:
        return "this archc has no renderer (archc.backends.render)"
    if not any("svg" in engine.formats for engine in available_engines()):
        return "no Graphviz layout engine: `pip install graphviz-pure`, or install Graphviz"
    return None


def render_spec(spec: Path, out: Path, depth: int | None) -> list[Path]:
    """Draw each network of ``spec`` into ``out``; the files written."""
    networks, diagnostics = api.analyse(str(spec))
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise ArchError(errors)
    written = []
    for network in networks:
        name = spec.stem if len(networks) == 1 else f"{spec.stem}.{network.name}"
        target = out / f"{name}.svg"
        archc.load(spec, network.name).render(target, depth=depth)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> list[Path]:
    """Returns the diagrams written: none when drawing is not available."""
    cli = _common.parser(__doc__)
    cli.add_argument(
        "-o", "--out", type=Path, default=Path("build/diagrams"), help="folder for the diagrams"
    )
    cli.add_argument("--depth", type=int, help="draw modules deeper than this as single boxes")
    args = cli.parse_args(argv)
    reason = unavailable()
    if reason is not None:
        _common.say(f"skipping: cannot draw diagrams: {reason}")
        return []

    specs = sorted(zoo.root().glob("*.arch"))
    depth = args.depth
    if args.quick:
        specs, depth = [s for s in specs if s.stem in QUICK], 1
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in _common.progress(specs, "drawing"):
        try:
            paths = render_spec(spec, args.out, depth)
        except (ArchError, UsageError) as error:
            # one broken spec should not cost the diagrams of all the others
            _common.say(f"{spec.name}: skipped: {str(error).splitlines()[0]}")
            continue
        for path in paths:
            _common.say(f"{path}  ({path.stat().st_size:,} bytes)")
        written += paths
    _common.say(f"{len(written)} diagrams from {len(specs)} specs in {args.out}")
    return written


if __name__ == "__main__":
    main()
