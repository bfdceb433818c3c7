"""`archc diff`: parameter, MAC and shape changes, layers added and removed, and state_dict keys
renamed between the networks of two specs."""

from __future__ import annotations

from pathlib import Path

import pytest

import archc
from archc.cli import main
from archc.diff import compare, render
from tests.conftest import ROOT

SPECS = ROOT / "specs"


def test_resnet18_against_resnet50() -> None:
    (diff,) = compare(str(SPECS / "resnet18.arch"), str(SPECS / "resnet50.arch"))
    assert (diff.before, diff.after) == ("ResNet18", "ResNet50")
    assert diff.totals[1].params - diff.totals[0].params == 25_557_032 - 11_689_512
    blocks = {name: (old, new) for name, old, new in diff.blocks}
    assert blocks["BasicBlock"][1] is None and blocks["BasicBlock"][0].instances == 8
    assert blocks["Bottleneck"][0] is None and blocks["Bottleneck"][1].instances == 16
    assert "layer1.0.conv3: conv2d [256, 56, 56]" in diff.added
    conv1 = (
        "conv2d [64, 56, 56] weight [64, 64, 3, 3] -> conv2d [64, 56, 56] weight [64, 64, 1, 1]"
    )
    assert f"layer1.0.conv1: {conv1}" in diff.changed
    assert "fc: linear [1000] weight [1000, 512] -> linear [1000] weight [1000, 2048]" in (
        diff.changed
    )
    assert ("layer1.2.conv1.weight", (64, 256, 1, 1)) in diff.only_after
    assert diff.only_before == []
    assert not diff.same


def test_a_spec_against_itself_differs_in_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(SPECS / "densenet121.arch")
    assert main(["diff", path, path]) == 0
    assert capsys.readouterr().out == (
        "network DenseNet121\n"
        "  parameters: 7,978,856 (unchanged)\n"
        "  MACs: 2,852,388,096 (unchanged)\n"
        "  no differences but names\n"
    )


def test_renamed_layers_pair_their_keys_by_shape(tmp_path: Path) -> None:
    before = tmp_path / "before.arch"
    after = tmp_path / "after.arch"
    spec = (
        "network Net {{\n    in x: [16]\n    out x -> linear(8) as {} -> linear(4) as head\n}}\n"
    )
    before.write_text(spec.format("hidden"))
    after.write_text(spec.format("body"))
    (diff,) = compare(str(before), str(after))
    assert diff.renamed == [
        ("hidden.weight", "body.weight", (8, 16)),
        ("hidden.bias", "body.bias", (8,)),
    ]
    assert diff.added == diff.removed == diff.only_before == diff.only_after == []
    assert "hidden.weight -> body.weight [8, 16]" in render([diff])


def _imported_resnet50(tmp_path: Path, model: object) -> Path:
    torch = pytest.importorskip("torch")
    spec = tmp_path / "imported.arch"
    spec.write_text(archc.import_module(model, (torch.randn(1, 3, 224, 224),)))  # type: ignore[arg-type]
    return spec


def test_an_imported_resnet50_differs_from_the_hand_written_one_in_names_only(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torch")
    from archc.importer import load_target

    generated = tmp_path / "resnet50_generated.py"
    generated.write_text(archc.compile_source(SPECS / "resnet50.arch"))
    spec = _imported_resnet50(tmp_path, load_target(f"{generated}:ResNet50"))
    (diff,) = compare(str(spec), str(SPECS / "resnet50.arch"))
    assert diff.totals[0] == diff.totals[1]
    assert diff.added == diff.removed == diff.changed == []
    assert diff.renamed == diff.only_before == diff.only_after == []
    # the generated module has one Bottleneck class, its projection an optional submodule, so
    # the import's blocks are the hand-written ones
    assert diff.blocks == []


def test_torchvision_resnet50_imported_differs_from_the_hand_written_one_in_names_only(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torchvision")
    from archc.importer import load_target

    spec = _imported_resnet50(tmp_path, load_target("torchvision.models:resnet50"))
    (diff,) = compare(str(spec), str(SPECS / "resnet50.arch"))
    assert diff.same
    assert diff.renamed_outputs == [("output", "logits")]


@pytest.mark.slow
def test_torchvision_vit_b_16_imported_has_the_hand_written_ones_keys_and_sizes(
    tmp_path: Path,
) -> None:
    torch = pytest.importorskip("torch")
    vision = pytest.importorskip("torchvision.models")
    spec = tmp_path / "imported.arch"
    spec.write_text(archc.import_module(vision.vit_b_16(), (torch.randn(1, 3, 224, 224),)))
    (diff,) = compare(str(spec), str(SPECS / "vit_b_16.arch"))
    assert diff.totals[0] == diff.totals[1]
    # every state_dict key is in both; the layers that differ hold no parameters (torchvision's
    # reshape and permute where the zoo flattens and transposes, dropouts it leaves unnamed)
    assert diff.renamed == diff.only_before == diff.only_after == diff.changed == []
    kinds = {layer.split(": ")[1].split()[0] for layer in diff.added + diff.removed}
    assert kinds == {"reshape", "permute", "flatten", "transpose", "dropout"}
