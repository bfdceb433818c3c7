"""In a notebook a model shows its depth-1 diagram and its summary as an HTML table; printed,
the summary is the text table. A small notebook is executed end to end where Jupyter's
pieces are installed."""

from __future__ import annotations

import base64
import re

import pytest

import archc
from archc.backends import render
from archc.backends.summary import render_table, rows
from tests.conftest import ROOT

RESNET18 = str(ROOT / "specs" / "resnet18.arch")
ENCODER = str(ROOT / "tests" / "golden" / "transformer_encoder" / "input.arch")
HAS_ENGINE = bool(render.available_engines())


def test_a_summary_prints_as_the_text_table() -> None:
    model = archc.load(ENCODER, layers=3)
    summary = model.summary(depth=1, batch=4, dtype="bfloat16")
    assert str(summary) == render_table(model.network, 1, None, 4, "bfloat16")
    assert repr(summary) == str(summary)  # a plain REPL shows the lines, not one quoted string


def test_a_summary_shows_as_an_html_table_in_a_notebook() -> None:
    model = archc.load(RESNET18)
    page = model.summary(depth=2)._repr_html_()
    cells = re.findall(r"<td[^>]*>(.*?)</td>", page)
    assert page.count("<tr>") == len(rows(model.network, 2)) + 1
    assert cells[:5] == ["conv1", "conv2d", "(N, 64, 112, 112)", "9,408", "118,013,952"]
    assert "layer1.0" in cells and "Memory, estimated for 1 sample in float32" in page
    assert "&lt;" not in re.sub(r"<pre>.*</pre>", "", page, flags=re.S)  # no escaped markup
    assert model.summary(depth=0)._repr_html_().startswith("<pre>ResNet18: image")


def test_a_summary_refuses_a_bad_dtype_at_once() -> None:
    with pytest.raises(archc.errors.UsageError, match="unknown dtype"):
        archc.load(RESNET18).summary(dtype="int3")


def test_a_model_has_its_counts() -> None:
    model = archc.load(ENCODER, layers=3)
    network = model.network
    assert (model.params, model.buffers) == (network.param_count, network.buffer_count)
    assert str(model.macs) == str(network.macs) == "128*T*(3*T + 1666)"


def test_a_model_builds_its_module_with_its_parameters() -> None:
    pytest.importorskip("torch")
    model = archc.load(ENCODER, layers=3)
    module = model.build(device="meta")
    assert sum(p.numel() for p in module.parameters()) == model.params
    assert len(module.blocks) == 3


@pytest.mark.skipif(not HAS_ENGINE, reason="no Graphviz layout engine is installed")
def test_the_notebook_diagram_is_drawn_at_depth_1() -> None:
    model = archc.load(RESNET18)
    svg = model._repr_svg_()
    assert svg is not None and svg == model.render("svg", depth=1)
    assert "layer1: BasicBlock ×2" in svg and "conv 3×3, 64" not in svg


@pytest.mark.skipif(not HAS_ENGINE, reason="no Graphviz layout engine is installed")
def test_a_notebook_shows_the_table_and_the_diagram() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    pytest.importorskip("ipykernel")
    from nbconvert.preprocessors import ExecutePreprocessor

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import archc\nmodel = archc.load('specs/resnet18.arch')"),
        nbformat.v4.new_code_cell("model"),
        nbformat.v4.new_code_cell("model.summary(depth=1)"),
    ]
    ExecutePreprocessor(timeout=120, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": str(ROOT)}}
    )
    diagram, table = (cell.outputs[0]["data"] for cell in notebook.cells[1:])
    assert (
        "<svg" in diagram["image/svg+xml"] and "layer4: BasicBlock ×2" in diagram["image/svg+xml"]
    )
    assert '<div class="archc-summary">' in table["text/html"]
    assert table["text/plain"].startswith("ResNet18: image (N, 3, 224, 224)")
    page, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    # the exporter embeds the diagram as an image of the SVG
    svg = re.search(
        r'data-mime-type="image/svg\+xml".*?src="data:image/svg\+xml;base64,([^"]+)"', page, re.S
    )
    assert svg and b"layer4: BasicBlock" in base64.b64decode(svg[1])
    assert '<div class="archc-summary">' in page
