"""Every word in a diagram is the spec's own: no Python repr, no memory address, and the same
picture from every process. The zoo gallery in docs/images/zoo/ is drawn here too."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archc import api
from archc.backends import render
from archc.backends.diagram import spec_text
from archc.backends.graphviz import Options, to_dot
from archc.semantics.ir import Network
from tests.conftest import ROOT, check_golden

SPECS = sorted((ROOT / "specs").glob("*.arch"))
CASES = sorted((ROOT / "tests" / "golden").glob("*/input.arch"))
GALLERY = ROOT / "docs" / "images" / "zoo"
# How the README's gallery draws each network: stages as boxes, norms and activations folded.
GALLERY_OPTIONS = Options(depth=1, hide=("norm", "activation"))
VIEWS = {
    "every-layer": Options(),
    "depth-1": Options(depth=1),
    "collapsed": Options(collapse_repeats=True, hide=("norm",)),
}
# What Python's repr leaves in text: object addresses, dataclass reprs, module paths.
LEAKS = re.compile(
    r"object at|\b0x[0-9a-fA-F]+|Span\(|<archc\.|BoundArg\("
    r"|\b(?:Op|Block|Sequence|Repeat|Combinator)Layer\("
)
# the labels and tooltips of DOT text, whatever their quoting
LABEL = re.compile(r'(?:label|tooltip)=(<.*?>(?= |\]$)|"(?:[^"\\]|\\.)*")', re.M)


def networks_of(spec: Path) -> list[Network]:
    networks, diagnostics = api.analyse(str(spec))
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return networks


def gallery_name(spec: Path, network: Network, several: bool) -> str:
    return f"{spec.stem}_{network.name.lower()}" if several else spec.stem


def test_the_pattern_finds_what_a_repr_leaves() -> None:
    leaked = "Dense(act=OpLayer(span=Span(start=1), op=<archc.ops.GELU object at 0x7f3a>))"
    assert LEAKS.search(leaked) and not LEAKS.search("conv 3×3, 64, /2 · 10×10 · 1.2K params")


@pytest.mark.parametrize("spec", SPECS + CASES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_label_is_spec_text(spec: Path) -> None:
    for network in networks_of(spec):
        for view, options in VIEWS.items():
            labels = [html.unescape(text) for text in LABEL.findall(to_dot(network, options))]
            assert labels
            leaks = [text for text in labels if LEAKS.search(text)]
            assert not leaks, f"{network.name}, {view}: {leaks[0]}"


def test_a_layer_argument_is_written_as_in_the_spec() -> None:
    (generator, _) = networks_of(ROOT / "specs" / "gan_mlp.arch")
    dot = html.unescape(to_dot(generator))
    assert "Dense(width=256, act=leaky_relu(0.2))" in dot
    assert "Dense(width=784, act=tanh)" in dot


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ((3, None, True, "same", 0.5), '(3, none, true, "same", 0.5)'),
        ((7,), "(7,)"),
        ('say "hi"', r'"say \"hi\""'),
        (1e-05, "1e-05"),
    ],
)
def test_plain_arguments_are_spec_literals(value: object, text: str) -> None:
    assert spec_text(value) == text


def test_layer_arguments_keep_their_structure(tmp_path: Path) -> None:
    spec = tmp_path / "net.arch"
    spec.write_text(
        "block Wrap(body) {\n    in x\n    out x -> body\n}\n"
        "block Inner(act) {\n    in x\n    out x -> act\n}\n"
        "network Net {\n    in x: [8, 4, 4]\n"
        '    y = x -> Wrap(conv2d(8, 3, padding="same") -> gelu(approximate="tanh"))\n'
        "    z = y -> Wrap(residual(conv2d(8, 1) -> relu) * 2 as twice)\n"
        "    out z -> Wrap(Inner(relu))\n}\n",
        encoding="utf-8",
    )
    (network,) = networks_of(spec)
    wraps = [m for m in network.modules.values() if m.name == "Wrap"]
    titles = [spec_text(m.args["body"]) for m in wraps]
    assert titles[:2] == [
        'conv2d(8, 3, padding="same") -> gelu(approximate="tanh")',
        "residual(conv2d(8, 1) -> relu) * 2 as twice",
    ]
    assert "Wrap(body=Inner(relu))" in html.unescape(to_dot(network))


def test_render_is_identical_in_every_process(tmp_path: Path) -> None:
    outputs = set()
    for seed in ("1", "2"):
        out = tmp_path / f"gan{seed}.dot"
        argv = ["render", "specs/gan_mlp.arch", "--network", "Generator", "-o", str(out)]
        subprocess.run(
            [sys.executable, "-m", "archc", *argv],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.add(out.read_bytes())
    assert len(outputs) == 1


@pytest.mark.skipif(
    render.locate("graphviz-pure") is None, reason="the gallery is drawn by graphviz-pure"
)
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_the_zoo_gallery_is_current(spec: Path, bless: bool) -> None:
    networks = networks_of(spec)
    for network in networks:
        svg = render.render_bytes(network, "svg", GALLERY_OPTIONS, "graphviz-pure").decode()
        name = gallery_name(spec, network, len(networks) > 1)
        check_golden(GALLERY / f"{name}.svg", svg, bless)
