"""`archc export`: ONNX, TorchScript and ExportedProgram files that compute what the module does,
at input sizes other than the ones they were exported with (the spec's symbols stay dynamic)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from archc import cli, runtime

SPEC = """\
network Tiny(classes=10) {
    in image: [3, H, W]
    x = image -> conv2d(8, 3, padding=1) -> batchnorm2d -> relu -> maxpool2d(2)
    out logits = x -> adaptive_avgpool2d(1) -> flatten -> linear(classes)
}

network Tagger(vocab=50, tags=5) {
    in tokens: int64[T]
    out scores = tokens -> embedding(vocab, 16) -> linear(tags)
}
"""
# Sizes unlike the export's examples (batch 2, symbols 32): a fixed axis would reject them.
IMAGE = (3, 3, 40, 48)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "tiny.arch"
    path.write_text(SPEC, encoding="utf-8")
    return path


def export(spec: Path, fmt: str, out: Path, network: str = "Tiny", *defines: str) -> None:
    args = ["export", str(spec), "--format", fmt, "-o", str(out), "--network", network]
    assert cli.main([*args, *(d for define in defines for d in ("-D", define))]) == 0
    assert out.stat().st_size > 0


def reference(spec: Path, network: str, inputs: torch.Tensor, **overrides: int) -> torch.Tensor:
    # the export builds with seed 0 too, so the weights are the same
    model = runtime.build(str(spec), network, seed=0, **overrides).eval()
    with torch.no_grad():
        return model(inputs)


@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")
def test_torchscript_computes_what_the_module_computes(spec: Path, tmp_path: Path) -> None:
    export(spec, "torchscript", tmp_path / "tiny.pt")
    loaded = torch.jit.load(str(tmp_path / "tiny.pt"))
    image = torch.randn(IMAGE)
    torch.testing.assert_close(loaded(image), reference(spec, "Tiny", image))


def test_exported_program_keeps_symbolic_axes_dynamic(spec: Path, tmp_path: Path) -> None:
    export(spec, "exported-program", tmp_path / "tiny.pt2", "Tiny", "classes=7")
    program = torch.export.load(str(tmp_path / "tiny.pt2"))
    image = torch.randn(IMAGE)
    out = program.module()(image)
    assert out.shape == (3, 7)
    torch.testing.assert_close(out, reference(spec, "Tiny", image, classes=7))


@pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None,
    reason="ONNX export needs onnx and onnxscript",
)
def test_onnx_model_is_valid_and_agrees_with_torch(spec: Path, tmp_path: Path) -> None:
    import onnx

    export(spec, "onnx", tmp_path / "tagger.onnx", "Tagger")
    model = onnx.load(str(tmp_path / "tagger.onnx"))
    onnx.checker.check_model(model, full_check=True)
    (tokens,) = model.graph.input
    axes = [d.dim_param or d.dim_value for d in tokens.type.tensor_type.shape.dim]
    assert (tokens.name, axes) == ("tokens", ["N", "T"])
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(tmp_path / "tagger.onnx"))
    ids = torch.randint(0, 50, (3, 11))
    (scores,) = session.run(None, {"tokens": ids.numpy()})
    torch.testing.assert_close(torch.from_numpy(scores), reference(spec, "Tagger", ids))


def test_a_file_of_several_networks_needs_network(
    spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["export", str(spec), "--format", "onnx", "-o", "x.onnx"]) == 2
    assert "pick one with --network" in capsys.readouterr().err


def test_an_unknown_format_is_a_usage_error(spec: Path) -> None:
    assert cli.main(["export", str(spec), "--format", "tflite", "-o", "x"]) == 2
