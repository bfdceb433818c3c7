"""torchvision checkpoints load into the compiled zoo networks and compute the same outputs.

For each of the seven torchvision models the zoo reproduces, a torchvision model with random
weights (seeded; no download) hands its state_dict to the module built from the spec with
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
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_torchvision_weights_give_the_same_outputs(name: str) -> None:
    spec, kwargs = CASES[name]
    torch.manual_seed(0)
    reference = getattr(models, name)(weights=None, **kwargs).double().eval()
    # Running statistics away from their initial 0 and 1, so that loading them is tested too.
    for module in reference.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    built = runtime.build(str(ROOT / "specs" / spec)).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    batch = torch.randn(2, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        expected, got = reference(batch), built(batch)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


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
