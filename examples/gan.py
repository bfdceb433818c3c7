"""Train the MLP GAN of `specs/gan_mlp.arch` on a ring of eight Gaussians in the plane.

Both networks of the spec, `Generator` and `Discriminator`, are built from the one file with
`pixels=2`: each "image" is a point in 2-D, so the result is easy to measure. The real points
lie in eight tight clusters on a circle; the generator starts by putting all its points near the
centre. The script prints the discriminator's and the generator's losses as they train, and how
far the generated points are from the nearest cluster and how many clusters they reach.

    python examples/gan.py            # 2,000 steps (about a minute on a CPU)
    python examples/gan.py --quick    # a few steps
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import _common
import torch
from torch import nn

from archc import runtime

SPEC = "zoo:gan_mlp"
MODES = 8
RADIUS = 0.8  # inside the generator's tanh range [-1, 1]
SPREAD = 0.05
CENTRES = RADIUS * torch.stack(
    [
        torch.cos(2 * math.pi * torch.arange(MODES) / MODES),
        torch.sin(2 * math.pi * torch.arange(MODES) / MODES),
    ],
    dim=1,
)


@dataclass(frozen=True)
class Quality:
    """How well generated points match the ring: a distance, and the clusters reached."""

    distance: float  # mean distance from a generated point to its nearest centre
    modes: int  # clusters that hold at least a quarter of their fair share of points

    def __str__(self) -> str:
        return f"distance to nearest cluster {self.distance:.3f}, clusters reached {self.modes}"


@dataclass(frozen=True)
class Result:
    before: Quality
    after: Quality
    d_losses: list[float]
    g_losses: list[float]


def ring(count: int, generator: torch.Generator) -> torch.Tensor:
    """Points drawn from the eight Gaussians, an equal share expected from each."""
    which = torch.randint(MODES, (count,), generator=generator)
    return CENTRES[which] + SPREAD * torch.randn(count, 2, generator=generator)


def quality(points: torch.Tensor) -> Quality:
    distances = torch.cdist(points.cpu(), CENTRES)
    nearest, which = distances.min(dim=1)
    share = torch.bincount(which[nearest < 3 * SPREAD], minlength=MODES)
    reached = int((share >= len(points) / MODES / 4).sum())
    return Quality(nearest.mean().item(), reached)


def main(argv: list[str] | None = None) -> Result:
    args = _common.parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    latent = 8
    steps, batch = (60, 128) if args.quick else (2000, 256)
    generator = runtime.build(
        SPEC, "Generator", seed=args.seed, device=args.device, latent=latent, pixels=2
    )
    discriminator = runtime.build(
        SPEC, "Discriminator", seed=args.seed, device=args.device, pixels=2
    )
    # Adam with beta1 = 0.5, as in the DCGAN paper: momentum makes the two players oscillate.
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    noise = torch.Generator(args.device).manual_seed(args.seed)

    def sample(count: int) -> torch.Tensor:
        return torch.randn(count, latent, generator=noise, device=args.device)

    fixed = sample(2048)  # the same noise before and after, so the two measures compare
    with torch.no_grad():
        before = quality(generator(fixed))
    _common.say(f"before: {before}")

    d_losses, g_losses = [], []
    bce = nn.BCELoss()
    real_label = torch.ones(batch, 1, device=args.device)
    fake_label = torch.zeros(batch, 1, device=args.device)
    for step in _common.progress(range(1, steps + 1), "training"):
        real = ring(batch, data).to(args.device)
        fake = generator(sample(batch))
        # The discriminator sees the fake points detached: its step must not move the generator.
        d_loss = bce(discriminator(real), real_label) + bce(
            discriminator(fake.detach()), fake_label
        )
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        # Non-saturating generator loss (Goodfellow et al.): maximise log D(G(z)).
        g_loss = bce(discriminator(fake), real_label)
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
        d_losses.append(d_loss.item())
        g_losses.append(g_loss.item())
        if step % (steps // 10) == 0 or step == 1:
            _common.say(f"step {step:5d}  D loss {d_loss.item():.3f}  G loss {g_loss.item():.3f}")

    with torch.no_grad():
        after = quality(generator(fixed))
    _common.say(f"after:  {after}")
    return Result(before, after, d_losses, g_losses)


if __name__ == "__main__":
    main()
