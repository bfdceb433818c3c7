"""Train a small ResNet, built from a spec, to classify synthetic striped images.

The network is `examples/specs/cifar_resnet.arch` (ResNet-20 for 32x32 images), compiled and
built by `archc.runtime.build` with its size parameters set from Python. The data are images of
stripes whose orientation is the class, plus noise: learnable, and made on the fly, so nothing is
downloaded. The script prints the training loss as it falls, then the accuracy on held-out
images.

    python examples/train_cnn.py            # ResNet-20, 100 steps (a few minutes on a CPU)
    python examples/train_cnn.py --quick    # a narrow ResNet-14, 20 steps
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import _common
import torch
from torch import nn

from archc import runtime

SPEC = _common.SPECS / "cifar_resnet.arch"
CLASSES = 10
SIZE = 32
PERIOD = 6.0  # stripe period in pixels: a few 3x3 convolutions see one across
NOISE = 1.0  # per-pixel noise std; the stripes' own std is 0.71


@dataclass(frozen=True)
class Result:
    losses: list[float]  # the training loss at every step
    accuracy: float  # on held-out images, after training


def stripes(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Images of sine stripes at one of CLASSES orientations, in random phase, with noise."""
    labels = torch.randint(CLASSES, (count,), generator=generator)
    angle = labels * math.pi / CLASSES
    phase = torch.rand(count, generator=generator) * 2 * math.pi
    axis = torch.arange(SIZE, dtype=torch.float32)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    along = x * angle.cos()[:, None, None] + y * angle.sin()[:, None, None]
    pattern = torch.sin(2 * math.pi * along / PERIOD + phase[:, None, None])
    noise = torch.randn(count, 3, SIZE, SIZE, generator=generator)
    return pattern[:, None] + NOISE * noise, labels


def refresh_batchnorm(model: nn.Module, batches: list[torch.Tensor]) -> None:
    """Recompute every batch norm's running statistics as plain averages over ``batches``.

    The running averages kept during training still remember the early weights, which a short
    run at a high learning rate has long left behind; evaluating with them would understate
    what the network has learnt.
    """
    for layer in model.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.reset_running_stats()
            layer.momentum = None  # None: a cumulative average, not an exponential one
    with torch.no_grad():
        for images in batches:
            model(images)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    model.train()
    return (predicted == labels).float().mean().item()


def main(argv: list[str] | None = None) -> Result:
    args = _common.training_parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    sizes = dict(width=8, blocks=2) if args.quick else dict(width=16, blocks=3)
    steps, batch = (20, 32) if args.quick else (100, 64)
    model = runtime.build(str(SPEC), seed=args.seed, device=args.device, classes=CLASSES, **sizes)
    params = sum(p.numel() for p in model.parameters())
    _common.say(f"{type(model).__name__} {sizes}: {params:,} parameters on {args.device}")

    def batch_of(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = stripes(count, data)
        return images.to(args.device), labels.to(args.device)

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    every = steps // 10
    for step in _common.progress(range(1, steps + 1), "training"):
        images, labels = batch_of(batch)
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % every == 0:
            recent = sum(losses[-every:]) / every
            _common.say(f"step {step:4d}  loss {recent:.3f} (mean of the last {every} steps)")

    initial, final = losses[0], sum(losses[-every:]) / every
    refresh_batchnorm(model, [batch_of(batch)[0] for _ in range(8)])
    held_out = accuracy(model, *batch_of(512 if args.quick else 2048))
    _common.say(f"loss {initial:.3f} at the first step, {final:.3f} at the end")
    _common.say(f"held-out accuracy {held_out:.1%} (chance {1 / CLASSES:.0%})")
    assert final < initial, "training did not lower the loss"
    return Result(losses, held_out)


if __name__ == "__main__":
    main()
