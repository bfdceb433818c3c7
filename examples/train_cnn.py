"""Train a small ResNet, built from a spec, to classify synthetic striped images.

The network is `examples/specs/cifar_resnet.arch` (ResNet-20 for 32x32 images), compiled and
built by `archc.runtime.build` with its size parameters set from Python. The data are images of
stripes whose orientation is the class, plus noise: learnable, and made on the fly, so nothing is
downloaded. The script prints the training loss as it falls and, at the end, the loss and the
accuracy on a held-out set before and after training.

    python examples/train_cnn.py            # ResNet-20, 200 steps (a few minutes on a CPU)
    python examples/train_cnn.py --quick    # a narrow ResNet-8, a few steps
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


@dataclass(frozen=True)
class Result:
    losses: list[float]
    initial_eval_loss: float
    final_eval_loss: float
    final_accuracy: float


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
    return pattern[:, None] + 0.5 * noise, labels


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Cross-entropy and accuracy on a held-out set, in eval mode (batch-norm running stats)."""
    model.eval()
    with torch.no_grad():
        logits = model(images)
    model.train()
    loss = nn.functional.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return loss, accuracy


def main(argv: list[str] | None = None) -> Result:
    args = _common.parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    sizes = dict(width=8, blocks=2) if args.quick else dict(width=16, blocks=3)
    steps, batch = (20, 32) if args.quick else (200, 64)
    model = runtime.build(str(SPEC), seed=args.seed, device=args.device, classes=CLASSES, **sizes)
    params = sum(p.numel() for p in model.parameters())
    _common.say(f"{type(model).__name__} {sizes}: {params:,} parameters on {args.device}")

    held_out = [t.to(args.device) for t in stripes(512 if args.quick else 2048, data)]
    initial_loss, initial_accuracy = evaluate(model, *held_out)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in _common.progress(range(1, steps + 1), "training"):
        images, labels = (t.to(args.device) for t in stripes(batch, data))
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % (steps // 10) == 0 or step == 1:
            _common.say(f"step {step:4d}  loss {loss.item():.3f}")

    final_loss, final_accuracy = evaluate(model, *held_out)
    _common.say(f"held-out loss {initial_loss:.3f} -> {final_loss:.3f}")
    _common.say(
        f"held-out accuracy {initial_accuracy:.1%} -> {final_accuracy:.1%} "
        f"(chance {1 / CLASSES:.0%})"
    )
    assert final_loss < initial_loss, "training did not lower the held-out loss"
    return Result(losses, initial_loss, final_loss, final_accuracy)


if __name__ == "__main__":
    main()
