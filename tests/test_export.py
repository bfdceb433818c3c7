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


needs_onnx = pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None,
    reason="ONNX export needs onnx and onnxscript",
)


@needs_onnx
def test_onnx_is_one_file_with_dynamic_spatial_axes(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnx

    out = tmp_path / "tiny.onnx"
    export(spec, "onnx", out)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.onnx"]
    assert capsys.readouterr().err.startswith(f"wrote {out}: Tiny as onnx")
    model = onnx.load(str(out), load_external_data=False)
    weights = model.graph.initializer
    assert weights and all(w.data_location != onnx.TensorProto.EXTERNAL for w in weights)
    (image,) = model.graph.input
    axes = [d.dim_param or d.dim_value for d in image.type.tensor_type.shape.dim]
    assert axes == ["N", 3, "H", "W"]


@needs_onnx
def test_onnx_too_large_for_one_file_names_every_file(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    program = pytest.importorskip("torch.onnx._internal.exporter._onnx_program")
    if not hasattr(program, "_LARGE_MODEL_THRESHOLD"):
        pytest.skip("this torch decides differently when weights leave the .onnx file")
    monkeypatch.setattr(program, "_LARGE_MODEL_THRESHOLD", 0)  # as if the model were huge
    out = tmp_path / "tiny.onnx"
    export(spec, "onnx", out)
    files = sorted(str(p) for p in tmp_path.iterdir())
    assert len(files) == 2
    assert capsys.readouterr().err.startswith(f"wrote {' and '.join(files)}: Tiny as onnx")


@pytest.fixture
def trained(spec: Path, tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    """A state_dict unlike the seeded one, as training would leave it."""
    model = runtime.build(str(spec), "Tiny", seed=1).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(1.5).add_(0.25)
    path = tmp_path / "trained.pt"
    torch.save(model.state_dict(), path)
    return path, model


@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")
def test_weights_are_exported(
    spec: Path, tmp_path: Path, trained: tuple[Path, torch.nn.Module]
) -> None:
    weights, model = trained
    out = tmp_path / "tiny.pt"
    args = ["export", str(spec), "--format", "torchscript", "-o", str(out), "--network", "Tiny"]
    assert cli.main([*args, "--weights", str(weights)]) == 0
    image = torch.randn(IMAGE)
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(out))(image), model(image))


def save(path: Path, value: object) -> str:
    torch.save(value, path)
    return str(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: str(tmp / "absent.pt"), "cannot read weights"),
        (
            lambda tmp: (tmp / "junk.pt").write_text("junk") and str(tmp / "junk.pt"),
            "not a state_dict",
        ),
        (lambda tmp: save(tmp / "module.pt", torch.nn.Linear(2, 2)), "not a state_dict"),
        (
            lambda tmp: save(tmp / "ckpt.pt", {"model": {}, "epoch": 3}),
            "holds a dict of `model`, `epoch`, not a state_dict",
        ),
        (lambda tmp: save(tmp / "empty.pt", {}), "missing `conv1.weight`, `conv1.bias`"),
        (
            lambda tmp: save(tmp / "wide.pt", torch.nn.Linear(2, 3).state_dict()),
            "unexpected",
        ),
    ],
    ids=["absent", "junk", "module", "checkpoint", "empty", "other network"],
)
def test_weights_that_do_not_fit_are_a_usage_error(
    make: object, message: str, spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = make(tmp_path)  # type: ignore[operator]
    args = ["export", str(spec), "--format", "torchscript", "-o", str(tmp_path / "out.pt")]
    assert cli.main([*args, "--network", "Tiny", "--weights", weights]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archc: error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "out.pt").exists()


def test_weights_of_the_wrong_shape_name_the_tensor(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = runtime.build(str(spec), "Tiny", seed=0, classes=7).state_dict()
    weights = save(tmp_path / "seven.pt", state)
    args = ["export", str(spec), "--format", "torchscript", "-o", str(tmp_path / "out.pt")]
    assert cli.main([*args, "--network", "Tiny", "--weights", weights]) == 2
    err = capsys.readouterr().err
    assert "the weights in" in err and "do not fit `Tiny`" in err
    assert "is (7, 8), the network's (10, 8)" in err
