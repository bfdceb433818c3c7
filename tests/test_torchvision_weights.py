"""torchvision checkpoints load into the compiled zoo networks and compute the same outputs.

For each torchvision model the zoo reproduces, a torchvision model with random weights (seeded;
no download) hands its state_dict to the module built from the spec with
`load_state_dict(strict=True)`, and both run the same batch in eval mode in float64: the
outputs must agree within 1e-5. torchvision is not a dependency of archc, so this module skips
where it is not installed (README, "The zoo", says where it ran).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from archc import runtime
from tests.conftest import ROOT

models = pytest.importorskip("torchvision.models")

# torchvision constructor -> (spec, its keyword arguments matching the spec's layout)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "alexnet": ("alexnet.arch", {}),
    "vgg16": ("vgg16.arch", {}),
    # the zoo's GoogLeNet has no auxiliary heads and no input transform
    "googlenet": ("googlenet.arch", {"aux_logits": False, "transform_input": False}),
    "resnet18": ("resnet18.arch", {}),
    "resnet50": ("resnet50.arch", {}),
    "densenet121": ("densenet121.arch", {}),
    "vit_b_16": ("vit_b_16.arch", {}),
    "swin_v2_t": ("swin_v2_t.arch", {}),
    "convnext_tiny": ("convnext_tiny.arch", {}),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0.arch", {}),
    "regnet_y_400mf": ("regnet_y_400mf.arch", {}),
    "squeezenet1_1": ("squeezenet1_1.arch", {}),
    "mnasnet1_0": ("mnasnet1_0.arch", {}),
    "resnext50_32x4d": ("resnext50_32x4d.arch", {}),
    "wide_resnet50_2": ("wide_resnet50_2.arch", {}),
}
# the input size each is checked at, where it is not 224: Swin V2-T's default
SIZES = {"swin_v2_t": 256}


def perturbed(reference: torch.nn.Module) -> torch.nn.Module:
    """Running statistics away from their initial 0 and 1, layer norms' scales and shifts
    away from 1 and 0, and ConvNeXt's layer scales away from 1e-6, where its blocks' branches
    would add next to nothing, so that loading them is tested too."""
    for module in reference.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
        if isinstance(module, torch.nn.LayerNorm):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
        if isinstance(getattr(module, "layer_scale", None), torch.nn.Parameter):
            module.layer_scale.data.uniform_(0.5, 1.5)
    return reference


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_torchvision_weights_give_the_same_outputs(name: str) -> None:
    spec, kwargs = CASES[name]
    torch.manual_seed(0)
    reference = perturbed(getattr(models, name)(weights=None, **kwargs).double().eval())
    built = runtime.build(str(ROOT / "specs" / spec)).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    size = SIZES.get(name, 224)
    batch = torch.randn(2, 3, size, size, dtype=torch.float64)
    with torch.no_grad():
        expected, got = reference(batch), built(batch)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


# torchvision constructor -> (spec, its keyword arguments, two input sizes): the default size of
# torchvision's weights and one other
SIZED: dict[str, tuple[str, dict[str, Any], tuple[tuple[int, int], ...]]] = {
    "mobilenet_v3_large": ("mobilenet_v3_large.arch", {}, ((224, 224), (192, 256))),
    "segmentation.lraspp_mobilenet_v3_large": (
        "lraspp_mobilenet_v3_large.arch",
        {"weights_backbone": None},
        ((520, 520), (225, 190)),
    ),
    "efficientnet_v2_s": ("efficientnet_v2_s.arch", {}, ((384, 384), (224, 200))),
}


def _reference(name: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """torchvision's model with seeded random weights and running statistics away from their
    initial 0 and 1, in float64 and eval mode."""
    torch.manual_seed(0)
    module_name, _, constructor = name.rpartition(".")
    module = getattr(models, module_name) if module_name else models
    reference: torch.nn.Module = getattr(module, constructor)(weights=None, **kwargs)
    for module in reference.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return reference.double().eval()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIZED))
def test_torchvision_weights_give_the_same_outputs_at_two_sizes(name: str) -> None:
    spec, kwargs, sizes = SIZED[name]
    reference = _reference(name, kwargs)
    built = runtime.build(str(ROOT / "specs" / spec)).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    for height, width in sizes:
        batch = torch.randn(2, 3, height, width, dtype=torch.float64)
        with torch.no_grad():
            expected, got = reference(batch), built(batch)
        if isinstance(expected, dict):  # a segmentation model's scores are its "out"
            expected = expected["out"]
        assert got.shape == expected.shape
        assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


@pytest.mark.slow
def test_efficientnet_drops_each_block_as_torchvision_does() -> None:
    # stochastic depth rises linearly with the block's index: every module's p and mode agree
    reference = _reference("efficientnet_v2_s", {})
    built = runtime.build(str(ROOT / "specs" / "efficientnet_v2_s.arch"))

    def drops(model: torch.nn.Module) -> dict[str, tuple[float, str]]:
        return {
            name: (module.p, module.mode)
            for name, module in model.named_modules()
            if type(module).__name__ == "StochasticDepth"
        }

    expected = drops(reference)
    assert len(expected) == 40 and max(p for p, _ in expected.values()) == 0.2 * 39 / 40
    # torchvision holds a module in the blocks without a residual too; archc only where it acts
    assert {k: v for k, v in expected.items() if k in drops(built)} == drops(built)
    assert len(drops(built)) == 40 - 5  # not the first block of the five stages that widen
    assert drops(built)["features.6.14.stochastic_depth"] == (0.2 * 39 / 40, "row")


@pytest.mark.slow
def test_convnext_scales_and_drops_each_block_as_torchvision_does() -> None:
    # stochastic depth rises linearly over the 18 blocks to 0.1 at the last, and every layer
    # scale starts at 1e-6, in modules of the same names
    torch.manual_seed(0)
    reference = models.convnext_tiny(weights=None)
    built = runtime.build(str(ROOT / "specs" / "convnext_tiny.arch"))

    def blocks(model: torch.nn.Module) -> dict[str, tuple[float, str, float]]:
        return {
            name: (module.stochastic_depth.p, module.stochastic_depth.mode, scale.item())
            for name, module in model.named_modules()
            if type(module).__name__ == "CNBlock"
            for scale in module.layer_scale.unique()
        }

    expected = blocks(reference)
    assert len(expected) == 18 and expected["features.7.2"][0] == 0.1
    assert blocks(built) == expected


@pytest.mark.slow
def test_densenet_features_extract_what_torchvisions_do() -> None:
    # torchvision users call `model.features(x)` as a feature extractor
    torch.manual_seed(0)
    reference = models.densenet121(weights=None).double().eval()
    built = runtime.build(str(ROOT / "specs" / "densenet121.arch")).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    batch = torch.randn(1, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        expected, got = reference.features(batch), built.features(batch)
    assert got.shape == expected.shape == (1, 1024, 7, 7)
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


@pytest.mark.slow
def test_swin_v2_t_pads_a_map_to_whole_windows_as_torchvision_does() -> None:
    # at 224x224 the maps (56, 28, 14, 7) are padded to whole 8x8 windows, and the last
    # stage's windows, no smaller than its padded map, are not shifted
    torch.manual_seed(1)
    reference = perturbed(models.swin_v2_t(weights=None).double().eval())
    built = runtime.build(str(ROOT / "specs" / "swin_v2_t.arch"), image_size=224)
    built = built.double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    for key, buffer in reference.state_dict().items():
        if key.endswith(("relative_position_index", "relative_coords_table")):
            assert torch.equal(built.state_dict()[key], buffer), key  # computed alike
    batch = torch.randn(2, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        expected, got = reference(batch), built(batch)
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()
