"""An encoder-decoder drawn as a U (`archc render --layout u`): the encoder down the left, the
smallest maps along the bottom, the decoder up the right, and each long skip straight across,
its two ends on one rank. Found from spatial sizes, never from names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archc import api
from archc.backends.diagram import build_view, u_layout
from archc.backends.graphviz import Options, to_dot
from archc.cli import main
from archc.errors import UsageError
from archc.semantics.ir import Network
from tests.conftest import ROOT, check_golden
from tests.test_render import parse_dot

UNET = ROOT / "tests" / "golden" / "unet_tiny"
_ROW = re.compile(r"\tsubgraph (u_row\d+) \{\n\t\tgraph \[rank=same\]\n((?:\t\t[\w.\"]+\n)+)\t\}")


def network_of(spec: Path | str) -> Network:
    networks, diagnostics = api.analyse(str(spec))
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return networks[0]


def rows(dot: str) -> list[set[str]]:
    """The boxes each rank=same subgraph puts side by side."""
    return [{line.strip().strip('"') for line in m[2].splitlines()} for m in _ROW.finditer(dot)]


def unet_1d(levels: int, names: tuple[str, str] = ("down", "up")) -> str:
    """A 1-d U-Net with ``levels`` poolings, its layers named by ``names`` (which must not
    matter: the U is found from sizes)."""
    down, up = names
    lines = ["network UNet {", "    in x: [4, H]", f"    assert H % {2**levels} == 0"]
    lines += [f"    d0 = x -> conv1d(4, 3, padding=1) as {down}0"]
    lines += [f"    d{i} = d{i - 1} -> maxpool1d(2) as {down}{i}" for i in range(1, levels + 1)]
    lines += [f"    u{levels} = d{levels} -> conv1d(4, 1) as bottom"]
    lines += [
        f"    u{i} = concat(d{i}, u{i + 1} -> upsample(scale_factor=2), dim=1)"
        f" -> conv1d(4, 3, padding=1) as {up}{i}"
        for i in reversed(range(levels))
    ]
    return "\n".join([*lines, "    out u0", "}", ""])


def test_unet_tiny_u_matches_golden(bless: bool) -> None:
    dot = to_dot(network_of(UNET / "input.arch"), Options(layout="u"))
    check_golden(UNET / "graph_u.dot", dot, bless)


def test_each_skip_is_drawn_across_between_boxes_of_one_rank() -> None:
    dot = to_dot(network_of(UNET / "input.arch"), Options(layout="u"))
    parsed = parse_dot(dot)
    across = [(t, h) for t, h, a in parsed.edges if a.get("constraint") == "false"]
    assert len(across) == 2  # one skip per level of the U
    for tail, head in across:
        assert any({tail, head} <= row for row in rows(dot)), (tail, head)
        assert parsed.nodes[head]["label"].startswith("<b>concat")


def test_the_decoder_climbs_and_the_encoder_descends() -> None:
    network = network_of(UNET / "input.arch")
    parsed = parse_dot(to_dot(network, Options(layout="u")))
    rising = [(t, h) for t, h, a in parsed.edges if a.get("dir") == "back"]
    # drawn head first: the output box is the tail of a reversed edge into the last layer
    assert ("out.mask", "n28") in rising
    straight = [(t, h) for t, h, a in parsed.edges if "dir" not in a]
    assert ("n1", "n2") in straight  # the input into the first convolution
    # every layer is drawn once, as in the straight layout
    assert parsed.nodes.keys() == parse_dot(to_dot(network)).nodes.keys()


@pytest.mark.parametrize("levels", [1, 2, 4])
@pytest.mark.parametrize("names", [("down", "up"), ("up", "down")])
def test_a_u_has_a_row_per_level_whatever_its_layers_are_called(
    tmp_path: Path, levels: int, names: tuple[str, str]
) -> None:
    spec = tmp_path / "unet.arch"
    spec.write_text(unet_1d(levels, names), encoding="utf-8")
    found = u_layout(build_view(network_of(spec), None, False, ()))
    assert found is not None
    assert len(found.across) == levels
    for tail, head in found.across:
        assert any({tail, head} <= set(row) for row in found.rows)
        assert tail not in found.rising and head in found.rising


def test_a_network_without_long_skips_has_no_u(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    for spec in ("specs/resnet18.arch", "specs/autoencoder.arch", "specs/gpt2.arch"):
        assert u_layout(build_view(network_of(spec), None, False, ())) is None, spec
    with pytest.raises(UsageError, match="no encoder-decoder to draw as a U"):
        to_dot(network_of("specs/resnet18.arch"), Options(layout="u"))
    assert main(["render", "specs/autoencoder.arch", "-o", "x.dot", "--layout", "u"]) == 2
    assert "`StackedAutoencoder` has no encoder-decoder" in capsys.readouterr().err


def test_render_layout_u_writes_the_u(tmp_path: Path) -> None:
    out = tmp_path / "unet.dot"
    assert main(["render", str(UNET / "input.arch"), "-o", str(out), "--layout", "u", "-q"]) == 0
    assert out.read_text(encoding="utf-8") == (UNET / "graph_u.dot").read_text(encoding="utf-8")
    with pytest.raises(UsageError, match="top to bottom"):
        Options(layout="u", rankdir="LR")
