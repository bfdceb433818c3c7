"""Compare weight-initialisation schemes by the activations they give a deep ReLU network.

One spec, a stack of `depth` fully connected layers each followed by a ReLU, is written once per
scheme with a different `init` rule (`init linear.weight: kaiming_normal(...)`) and built with
`archc.runtime.build`. A batch of unit Gaussian inputs then goes through it, and the script
prints the standard deviation of every linear layer's output. Kaiming (He et al., 2015) keeps
it constant through the ReLUs; Xavier (Glorot and Bengio, 2010), derived for activations
symmetric about zero, halves the variance at every layer; PyTorch's default for `nn.Linear`
shrinks it faster still. Last, `archc.init.lsuv` rescales the default-initialised network layer
by layer on the batch until every layer's output has unit standard deviation.

    python examples/init_statistics.py            # layers of 512, a batch of 1,024
    python examples/init_statistics.py --quick    # layers of 256, a batch of 256
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _common
import torch
from torch import nn

from archc import runtime
from archc.init import lsuv

# `{rule}` is the weight's init rule; without one, nn.Linear keeps PyTorch's own initialisation.
SPEC = """\
{rule}
init linear.bias: zeros

network ReLUStack(depth=30, width=256) {{
    in x: [width]
    out x -> (linear(width) -> relu) * depth as layers
}}
"""
RULES = {
    "kaiming": 'init linear.weight: kaiming_normal(nonlinearity="relu")',
    "xavier": "init linear.weight: xavier_normal",
    "default": "",
}
DEPTH = 30


def output_stds(model: nn.Module, batch: torch.Tensor) -> list[float]:
    """The standard deviation of each linear layer's output on ``batch``, in order."""
    stds: list[float] = []
    hooks = [
        layer.register_forward_hook(
            lambda _layer, _input, output: stds.append(output.std().item())
        )
        for layer in model.modules()
        if isinstance(layer, nn.Linear)
    ]
    with torch.no_grad():
        model(batch)
    for hook in hooks:
        hook.remove()
    return stds


def build(folder: Path, scheme: str, width: int, seed: int, device: str) -> nn.Module:
    path = folder / f"relu_stack_{scheme}.arch"
    path.write_text(SPEC.format(rule=RULES[scheme]), encoding="utf-8")
    return runtime.build(str(path), seed=seed, device=device, depth=DEPTH, width=width)


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    """Returns each scheme's per-layer output standard deviations, lsuv's included."""
    args = _common.training_parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    # Wider layers average over more weights, so the spread drifts less from layer to layer.
    width, count = (256, 256) if args.quick else (512, 1024)
    batch = torch.randn(count, width, generator=data).to(args.device)
    with tempfile.TemporaryDirectory() as folder:
        models = {
            scheme: build(Path(folder), scheme, width, args.seed, args.device)
            for scheme in _common.progress(RULES, "building", total=len(RULES))
        }
    stds = {scheme: output_stds(model, batch) for scheme, model in models.items()}
    # lsuv draws orthogonal matrices from torch's global generator, which is seeded above.
    stds["default + lsuv"] = output_stds(lsuv(models["default"], batch), batch)
    _print_table(stds, width)

    ratios = {scheme: layers[-1] / layers[0] for scheme, layers in stds.items()}
    _common.say("last / first layer: " + ", ".join(f"{s} {r:.2g}" for s, r in ratios.items()))
    assert 0.5 < ratios["kaiming"] < 2, "kaiming should keep the spread through the ReLUs"
    assert ratios["xavier"] < 1e-2, "xavier should shrink the spread through the ReLUs"
    return stds


def _print_table(stds: dict[str, list[float]], width: int) -> None:
    _common.say(f"std of each linear layer's output ({DEPTH} layers of {width}, ReLU between)")
    _common.say("layer" + "".join(f"{scheme:>16}" for scheme in stds))
    for layer in range(DEPTH):
        _common.say(f"{layer + 1:5d}" + "".join(f"{s[layer]:>16.3g}" for s in stds.values()))


if __name__ == "__main__":
    main()
