"""Diagrams: the DOT text follows the IR, stays byte-identical, every installed engine draws it,
and every mistake on the command line is a usage error with a message."""

from __future__ import annotations

import itertools
import math
import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import pytest

import archc
from archc import api, cli
from archc.backends import render
from archc.backends.diagram import MAX_RANKS, Fit, build_view, fit, ranks, shape_text
from archc.backends.graphviz import THEMES, Options, colours, count_text, to_dot
from archc.errors import UsageError
from archc.ops import all_ops
from archc.semantics.ir import Network
from tests.conftest import ROOT, check_golden

GOLDEN = ROOT / "tests" / "golden"
# Golden diagrams of networks with blocks, repeats, skips, dense joins, several networks and
# symbolic sizes; resnet18 is drawn from the zoo.
CASES = ["densenet_tiny", "gan_pair", "lstm_tagger", "mixer_chunk", "transformer_encoder"]
CASES += ["unet_tiny", "branches_aspp", "scan_cells"]
RESNET18 = "specs/resnet18.arch"
TRANSFORMER = "tests/golden/transformer_encoder/input.arch"
DENSENET = "tests/golden/densenet_tiny/input.arch"
ENGINES = [name for name in render.ENGINES if render.locate(name) is not None]


@pytest.fixture(autouse=True)
def _in_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def network_of(spec: str, **overrides: object) -> Network:
    networks, diagnostics = api.analyse(spec, overrides=dict(overrides))
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return networks[0]


# --- reading DOT back ----------------------------------------------------------------------------

_ID = r'"(?:[^"\\]|\\.)*"|[\w.]+'
_NODE = re.compile(rf"^\t+({_ID}) \[(.*)\]$")
_EDGE = re.compile(rf"^\t+({_ID}) -> ({_ID})(?: \[(.*)\])?$")
_SUBGRAPH = re.compile(rf"^\t+subgraph ({_ID}) \{{$")


@dataclass
class Dot:
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)  # node or cluster -> its cluster

    def kind(self, name: str) -> list[tuple[str, str, dict[str, str]]]:
        return [e for e in self.edges if e[2].get("class") == name]


def _unquote(text: str) -> str:
    return text[1:-1].replace('\\"', '"') if text.startswith('"') else text


def _attrs(text: str) -> dict[str, str]:
    """``key=value`` pairs; values are bare, "quoted" or <HTML-like>."""
    attrs: dict[str, str] = {}
    i = 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        equals = text.index("=", i)
        key, i = text[i:equals], equals + 1
        if text[i] == '"':
            end = i + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            attrs[key], i = text[i + 1 : end], end + 1
        elif text[i] == "<":
            depth, end = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(text[end], 0)
                if depth == 0:
                    break
                end += 1
            attrs[key], i = text[i + 1 : end], end + 1
        else:
            end = text.find(" ", i)
            end = len(text) if end == -1 else end
            attrs[key], i = text[i:end], end
    return attrs


def parse_dot(text: str) -> Dot:
    dot = Dot()
    open_clusters = [""]
    for line in text.splitlines():
        if match := _SUBGRAPH.match(line):
            name = _unquote(match[1]).removeprefix("cluster_")
            dot.parents[name] = open_clusters[-1]
            open_clusters.append(name)
        elif line.strip() == "}":
            open_clusters.pop()
        elif match := _EDGE.match(line):
            dot.edges.append((_unquote(match[1]), _unquote(match[2]), _attrs(match[3] or "")))
        elif match := _NODE.match(line):
            name, attrs = _unquote(match[1]), _attrs(match[2])
            if name == "graph" and len(open_clusters) > 1:
                dot.clusters[open_clusters[-1]] = attrs
            elif name not in ("graph", "node", "edge"):
                dot.nodes[name] = attrs
                dot.parents[name] = open_clusters[-1]
    return dot


def title(attrs: dict[str, str]) -> str:
    """The bold first line of an HTML-like label."""
    found = re.search(r"<b>(.*?)</b>", attrs["label"])
    return found[1] if found else attrs["label"]


# --- structure -----------------------------------------------------------------------------------


def test_one_box_per_layer_and_one_cluster_per_module() -> None:
    network = network_of(TRANSFORMER)
    dot = parse_dot(to_dot(network))
    layers = {f"n{node.id}" for node in network.nodes()}
    outputs = {f"out.{name}" for name in network.outputs}
    assert set(dot.nodes) == layers | outputs
    assert set(dot.clusters) == {path for path in network.modules if path}
    assert dot.parents["blocks.1"] == "blocks" and dot.parents["n14"] == "blocks.1"
    assert title(dot.nodes["n5"]) == "attention 4 heads"
    assert "attn · T×64 · 16.6K params" in dot.nodes["n5"]["label"]
    assert dot.nodes["n1"]["shape"] == "invhouse" and dot.nodes["out.logits"]["shape"] == "house"
    assert title(dot.nodes["n23"]) == "linear 64→1000" and "tied" in dot.nodes["n23"]["label"]


def test_edges_are_the_ir_edges_labelled_with_their_shapes() -> None:
    network = network_of(RESNET18)
    dot = parse_dot(to_dot(network))
    expected = {
        (f"n{ref.node}", f"n{node.id}"): shape_text(network.type_of(ref))
        for node in network.nodes()
        for ref in node.inputs
    }
    drawn = {(t, h): a for t, h, a in dot.edges if not h.startswith("out.")}
    assert set(drawn) == set(expected)
    for pair, attrs in drawn.items():
        # side edges carry the shape as a tooltip: the main edge out of the same box shows it
        assert attrs.get("label", attrs.get("tooltip")) == expected[pair]
    assert drawn["n1", "n2"]["label"] == "3×224×224"


def test_skip_edges_are_dashed_and_routed_beside_the_main_path() -> None:
    dot = parse_dot(to_dot(network_of(RESNET18)))
    skips = dot.kind("skip")
    assert len(skips) == 8  # one per BasicBlock
    assert all(a["style"] == "dashed" and a["color"] == "#d9480f" for _, _, a in skips)
    aside = [a for _, _, a in skips if a.get("constraint") == "false"]
    assert len(aside) == 5  # identity shortcuts; the three projections run beside already
    assert all(a["headport"] == "e" for a in aside)
    assert all(title(dot.nodes[head]) == "+" for _, head, _ in skips)


def test_dense_edges_join_every_earlier_output() -> None:
    network = network_of(DENSENET)
    dot = parse_dot(to_dot(network, Options(depth=2)))
    dense = dot.kind("dense")
    # the k-th concatenation of a 4-layer block takes the block input and k - 1 layer outputs
    # besides the layer just before it: 1 + 2 + 3 + 4 per block
    assert len(dense) == 20
    assert all(a["style"] == "bold" and a["constraint"] == "false" for _, _, a in dense)
    assert {dot.parents[head] for _, head, _ in dense} == {"block1", "block2"}
    assert sum(t == "n2" for t, _, _ in dense) == 4  # conv0 feeds every concat of block1


def test_depth_draws_deeper_modules_as_single_boxes() -> None:
    network = network_of(RESNET18)
    dot = parse_dot(to_dot(network, Options(depth=1)))
    assert not dot.clusters
    boxes = [name for name in dot.nodes if name.startswith("m.")]
    assert boxes == ["m.layer1", "m.layer2", "m.layer3", "m.layer4"]
    label = dot.nodes["m.layer2"]["label"]
    assert title(dot.nodes["m.layer2"]) == "layer2: BasicBlock ×2"
    layer2 = sum(n.param_count for n in network.nodes() if n.path.startswith("layer2."))
    assert f"128×28×28 · {count_text(layer2)} params" in label
    assert ("m.layer1", "m.layer2") in {(t, h) for t, h, _ in dot.edges}

    deeper = parse_dot(to_dot(network, Options(depth=2)))
    assert set(deeper.clusters) == {"layer1", "layer2", "layer3", "layer4"}
    assert title(deeper.nodes["m.layer2.0"]) == "BasicBlock(planes=128, stride=2)"
    assert deeper.parents["m.layer2.0"] == "layer2"


def test_collapsed_repeats_draw_the_first_instance_marked_with_the_count() -> None:
    network = network_of(TRANSFORMER, layers=12)
    full = parse_dot(to_dot(network))
    dot = parse_dot(to_dot(network, Options(collapse_repeats=True)))
    assert len(full.clusters) == 13 and set(dot.clusters) == {"blocks", "blocks.0"}
    assert title(dot.clusters["blocks"]) == "blocks: EncoderLayer ×12"
    assert "600K params" in dot.clusters["blocks"]["label"]  # all twelve
    assert "50K params" in dot.clusters["blocks.0"]["label"]
    assert len(dot.nodes) == len(full.nodes) - 11 * 9
    graph = nx.DiGraph([(t, h) for t, h, _ in dot.edges])
    assert nx.is_directed_acyclic_graph(graph)
    assert nx.has_path(graph, "n1", "out.logits")


def test_hidden_families_fold_into_the_box_they_follow() -> None:
    full = parse_dot(to_dot(network_of(RESNET18)))
    dot = parse_dot(to_dot(network_of(RESNET18), Options(hide=("norm", "activation"))))
    titles = [title(a) for a in dot.nodes.values()]
    assert "conv 7×7, 64, /2 → bn → relu" in titles
    assert not {"bn", "relu"} & set(titles)
    # every batchnorm (two per block, one per projection, the stem's) and every relu
    assert len(dot.nodes) == len(full.nodes) - (2 * 8 + 3 + 1) - (2 * 8 + 1)
    # a pre-norm layernorm cannot join the op before it (that op also feeds the skip), so it
    # joins the attention it feeds
    encoder = parse_dot(to_dot(network_of(TRANSFORMER), Options(hide=("norm",))))
    assert "layernorm → attention 4 heads" in [title(a) for a in encoder.nodes.values()]


def test_direction_theme_and_shapes_are_options() -> None:
    network = network_of(RESNET18)
    text = to_dot(network, Options(rankdir="LR", theme="dark", show_shapes=False))
    assert "rankdir=LR" in text and 'bgcolor="#161b22"' in text
    dot = parse_dot(text)
    assert not [a for _, _, a in dot.edges if "label" in a]
    assert {a["headport"] for _, _, a in dot.kind("skip") if "headport" in a} == {"s"}
    with pytest.raises(UsageError, match="did you mean `norm`"):
        Options(hide=("nrom",))


# --- colours -------------------------------------------------------------------------------------


def lab(colour: str) -> tuple[float, float, float]:
    """An sRGB colour (``#rrggbb``) in CIELAB, under the D65 white point."""
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        for c in (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    ]
    matrix = ((0.4124, 0.3576, 0.1805), (0.2126, 0.7152, 0.0722), (0.0193, 0.1192, 0.9505))
    white = (0.95047, 1.0, 1.08883)
    x, y, z = (
        sum(m * c for m, c in zip(row, linear, strict=True)) / w
        for row, w in zip(matrix, white, strict=True)
    )

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def distance(a: str, b: str) -> float:
    return math.dist(lab(a), lab(b))


def test_colour_distance_is_cielab() -> None:
    assert lab("#ffffff") == pytest.approx((100, 0, 0), abs=0.05)
    assert distance("#000000", "#ffffff") == pytest.approx(100, abs=0.01)


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_every_family_has_its_own_clearly_distinct_colour(theme: str) -> None:
    families = sorted({op.family for op in all_ops()} | {"block"})
    fills = {family: colours(family, THEMES[theme])[0] for family in families}
    closest = min(
        (distance(fills[a], fills[b]), a, b) for a, b in itertools.combinations(families, 2)
    )
    assert closest[0] > 15, closest
    background = THEMES[theme].background
    background = "#ffffff" if background == "white" else background
    assert min(distance(fill, background) for fill in fills.values()) > 10


# --- goldens and determinism ---------------------------------------------------------------------


@pytest.mark.parametrize("case", [*CASES, "resnet18"])
def test_dot_matches_golden(case: str, bless: bool) -> None:
    spec = RESNET18 if case == "resnet18" else f"tests/golden/{case}/input.arch"
    (GOLDEN / case).mkdir(exist_ok=True)
    check_golden(GOLDEN / case / "graph.dot", to_dot(network_of(spec)), bless)


def test_dot_is_byte_identical_across_runs() -> None:
    program = (
        "import sys; from archc import api; from archc.backends.graphviz import Options, to_dot; "
        f"n = api.analyse({RESNET18!r})[0][0]; "
        "sys.stdout.write(to_dot(n, Options(depth=2, hide=('norm',))))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", program],
            capture_output=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


# --- engines -------------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_draws_svg_with_every_box_and_cluster(engine: str) -> None:
    network = network_of(TRANSFORMER)
    dot = parse_dot(to_dot(network))
    svg = render.render_bytes(network, "svg", Options(), engine)
    root = ElementTree.fromstring(svg)
    groups = [g.get("class", "") for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert groups.count("node") == len(dot.nodes)
    assert groups.count("cluster") == len(dot.clusters)
    assert groups.count("edge skip") == len(dot.kind("skip"))


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_draws_png_as_large_as_the_svg(engine: str) -> None:
    network = network_of(RESNET18)
    svg = render.render_bytes(network, "svg", Options(depth=1), engine).decode()
    width_pt, height_pt = (float(v) for v in re.findall(r'(?:width|height)="([\d.]+)pt"', svg)[:2])
    for dpi in (96, Options().dpi):
        png = render.render_bytes(network, "png", Options(depth=1, dpi=dpi), engine)
        width, height = png_size(png)
        assert abs(width - width_pt * dpi / 72) <= 2 and abs(height - height_pt * dpi / 72) <= 2


def test_no_engine_is_reported_with_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "locate", lambda program: None)
    with pytest.raises(UsageError, match="pip install graphviz-pure"):
        render.find_engine("svg")
    assert render.render_bytes(network_of(RESNET18), "dot", Options()).startswith(b"digraph")


def test_an_engine_without_pdf_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "locate", lambda p: None if p == "dot" else f"/opt/bin/{p}")
    with pytest.raises(UsageError, match="graphviz-pure cannot write pdf"):
        render.find_engine("pdf")
    assert render.find_engine("png").name == "graphviz-pure"


# --- the command line ----------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.skipif(not ENGINES, reason="no Graphviz layout engine is installed")
def test_render_writes_the_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "net.png"
    code, err = run_cli(capsys, "render", RESNET18, "-o", str(out), "--depth", "1", "-q")
    assert (code, err) == (0, "")
    assert png_size(out.read_bytes())[1] > 500
    assert [p.name for p in tmp_path.iterdir()] == ["net.png"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_render_options_reach_the_dot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "net.dot"
    argv = ["render", TRANSFORMER, "-o", str(out), "-D", "layers=3", "--collapse-repeats", "-q"]
    argv += ["--hide", "norm, activation", "--rankdir", "LR", "--theme", "dark", "--no-shapes"]
    assert run_cli(capsys, *argv) == (0, "")
    dot = parse_dot(out.read_text(encoding="utf-8"))
    assert title(dot.clusters["blocks"]) == "blocks: EncoderLayer ×3"
    assert "layernorm → linear 64→256 → gelu" in [title(a) for a in dot.nodes.values()]


def test_a_very_tall_network_is_drawn_at_a_level_that_fits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "net.dot"
    spec = "specs/transformer.arch"
    code, err = run_cli(capsys, "render", spec, "-o", str(out), "-q")
    assert code == 0
    assert err == (
        "archc: note: Transformer in full is 161 boxes tall; drawn with --depth 3 "
        "--collapse-repeats (16 boxes); --depth N picks another level, --full draws every layer\n"
    )
    fitted = out.read_text(encoding="utf-8")
    assert fitted == to_dot(network_of(spec), Options(depth=3, collapse_repeats=True))
    assert run_cli(capsys, "render", spec, "-o", str(out), "--full", "-q") == (0, "")
    assert out.read_text(encoding="utf-8") == to_dot(network_of(spec))
    assert run_cli(capsys, "render", spec, "-o", str(out), "--depth", "4", "-q") == (0, "")


def test_a_network_that_fits_is_drawn_in_full() -> None:
    network = network_of(TRANSFORMER, layers=3)
    view = build_view(network, None, False, ())
    assert fit(network, False, ()) == Fit(None, False, ranks(view), ranks(view))
    # pre-norm layers: every box is on the main path, the skips arc beside it
    assert ranks(view) == len(parse_dot(to_dot(network)).nodes) <= MAX_RANKS


def test_a_fit_tries_collapsed_repeats_before_a_depth() -> None:
    gpt2 = network_of("specs/gpt2.arch")
    chosen = fit(gpt2, False, ())
    assert (chosen.depth, chosen.collapse_repeats) == (None, True)
    assert chosen.full_ranks > MAX_RANKS >= chosen.ranks
    assert chosen.ranks == ranks(build_view(gpt2, None, True, ()))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-o", "{tmp}/net.gif"], "cannot tell the format of"),
        (["-o", "{tmp}/missing/net.svg"], "does not exist"),
        (["-o", "{tmp}"], "cannot tell the format"),
        (["-o", "{tmp}/folder.dot"], "cannot write"),
        (["-o", "{tmp}/net.dot", "--network", "Nope"], "has no network `Nope`"),
        (["-o", "{tmp}/net.dot", "--depth", "0"], "depth must be 1 or more"),
        (["-o", "{tmp}/net.svg", "--engine", "neato"], "unknown engine `neato`"),
        (["-o", "{tmp}/net.dot", "--hide", "norms"], "did you mean `norm`"),
        (["-o", "{tmp}/net.png", "--dpi", "12"], "dpi must be between 24 and 1200, got 12"),
        (["-o", "{tmp}/net.dot", "--full", "--depth", "2"], "cannot go with --depth"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "folder.dot").mkdir()
    code, err = run_cli(capsys, "render", RESNET18, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and message in err and "Traceback" not in err


def test_several_networks_need_a_choice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = "tests/golden/gan_pair/input.arch"
    code, err = run_cli(capsys, "render", spec, "-o", str(tmp_path / "gan.dot"))
    assert code == 2 and "choose one with --network" in err
    code, _ = run_cli(
        capsys, "render", spec, "-o", str(tmp_path / "g.dot"), "--network", "Generator"
    )
    assert code == 0 and "digraph Generator" in (tmp_path / "g.dot").read_text(encoding="utf-8")


def test_no_engine_exits_2_and_dot_still_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "locate", lambda program: None)
    code, err = run_cli(capsys, "render", RESNET18, "-o", str(tmp_path / "net.svg"))
    assert code == 2 and "no Graphviz layout engine is installed" in err and ".dot" in err
    assert not (tmp_path / "net.svg").exists()
    argv = ["render", RESNET18, "-o", str(tmp_path / "net.dot"), "--depth", "2", "-q"]
    assert run_cli(capsys, *argv) == (0, "")


def test_a_failed_layout_leaves_the_old_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "net.svg"
    out.write_text("before", encoding="utf-8")
    broken = render.Engine("dot", sys.executable, ("svg",))  # python -Tsvg: an unknown option
    monkeypatch.setattr(render, "find_engine", lambda fmt, name=None: broken)
    code, err = run_cli(capsys, "render", RESNET18, "-o", str(out))
    assert code == 2 and "dot failed on the diagram" in err
    assert out.read_text(encoding="utf-8") == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["net.svg"]


def test_a_spec_with_errors_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.arch"
    spec.write_text("network Bad {\n    in x: [3, 8, 8]\n    out x -> conv2d(4, 9)\n}\n")
    code, err = run_cli(capsys, "render", str(spec), "-o", str(tmp_path / "bad.dot"))
    assert code == 1 and "error[" in err and not (tmp_path / "bad.dot").exists()


def test_the_static_path_never_imports_torch(tmp_path: Path) -> None:
    program = (
        "import sys, archc; assert 'graphviz' not in sys.modules; "
        "from archc.cli import main; "
        f"code = main(['render', {RESNET18!r}, '-o', {str(tmp_path / 'net.dot')!r}]); "
        "assert code == 0 and 'torch' not in sys.modules, code"
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=ROOT)


# --- the Python API ------------------------------------------------------------------------------


def test_load_gives_a_model_with_summary_params_and_pictures(tmp_path: Path) -> None:
    model = archc.load(TRANSFORMER, layers=3)
    network = network_of(TRANSFORMER, layers=3)
    assert model.params == network.param_count and model.name == "Encoder"
    assert str(model.summary()).startswith("Encoder: tokens (N, T) int64 -> logits (N, T, 1000)")
    dot = model.render("dot", collapse_repeats=True, hide=["norm"])
    assert isinstance(dot, str) and "EncoderLayer ×3" in dot
    assert model.render(tmp_path / "encoder.dot") is None
    assert (tmp_path / "encoder.dot").read_text(encoding="utf-8") == to_dot(network)


@pytest.mark.skipif(not ENGINES, reason="no Graphviz layout engine is installed")
def test_a_model_shows_itself_in_a_notebook() -> None:
    model = archc.load(RESNET18)
    svg = model._repr_svg_()
    assert svg is not None and svg.lstrip().startswith("<?xml") and "<svg" in svg
    png = model.render("png", depth=1)
    assert isinstance(png, bytes) and png_size(png)[0] > 100


def test_without_an_engine_a_notebook_shows_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "locate", lambda program: None)
    model = archc.load(RESNET18)
    assert model._repr_svg_() is None
    assert repr(model) == "<archc.Model ResNet18 from specs/resnet18.arch: 11,689,512 params>"


def test_load_refuses_ambiguity_and_errors() -> None:
    with pytest.raises(UsageError, match="choose one"):
        archc.load("tests/golden/gan_pair/input.arch")
    assert archc.load("tests/golden/gan_pair/input.arch", "Generator").name == "Generator"
    with pytest.raises(UsageError, match="no network `Nope`"):
        archc.load(RESNET18, "Nope")
