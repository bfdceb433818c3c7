"""Train the MLP GAN of `specs/gan_mlp.arch` on a ring of eight Gaussians in the plane.

Both networks of the spec, `Generator` and `Discriminator`, are built from the one file with
`pixels=2`: each "image" is a point in 2-D, so the result is easy to measure. The real points
lie in eight tight clusters on a circle; the generator starts by putting all its points near the
centre. The script prints the discriminator's and the generator's losses as they train, and how
far the generated points are from the nearest cluster and how many clusters they reach.

    python examples/gan.py            # 2,000 steps (a minute or two on a CPU)
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
LATENT = 8  # noise dimensions: plenty for a distribution in the plane
MODES = 8
RADIUS = 0.8  # inside the generator's tanh range [-1, 1]
SPREAD = 0.05
_ANGLES = 2 * math.pi * torch.arange(MODES) / MODES
CENTRES = RADIUS * torch.stack([_ANGLES.cos(), _ANGLES.sin()], dim=1)


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


def adversarial_step(
    generator: nn.Module,
    discriminator: nn.Module,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    real: torch.Tensor,
    z: torch.Tensor,
) -> tuple[float, float]:
    """One discriminator step, then one generator step; their losses."""
    g_optimizer, d_optimizer = optimizers
    ones = torch.ones(len(real), 1, device=real.device)
    zeros = torch.zeros(len(real), 1, device=real.device)
    # The discriminator ends in a sigmoid: it gives probabilities, not logits.
    bce = nn.functional.binary_cross_entropy
    fake = generator(z)
    # Detached: the discriminator's step must not reach into the generator.
    d_loss = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    # The non-saturating loss of Goodfellow et al.: maximise log D(G(z)), not min log(1 - D).
    g_loss = bce(discriminator(fake), ones)
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()


def main(argv: list[str] | None = None) -> Result:
    args = _common.training_parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    steps, batch = (60, 128) if args.quick else (2000, 256)
    generator = runtime.build(
        SPEC, "Generator", seed=args.seed, device=args.device, latent=LATENT, pixels=2
    )
    discriminator = runtime.build(
        SPEC, "Discriminator", seed=args.seed, device=args.device, pixels=2
    )
    # beta1 = 0.5, as in DCGAN: less momentum, less oscillation between the two players
    optimizers = (
        torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999)),
        torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999)),
    )
    noise = torch.Generator(args.device).manual_seed(args.seed)

    def latents(count: int) -> torch.Tensor:
        return torch.randn(count, LATENT, generator=noise, device=args.device)

    fixed = latents(2048)  # the same noise before and after, so that the two compare
    with torch.no_grad():
        before = quality(generator(fixed))
    _common.say(f"before: {before}")
    d_losses, g_losses = [], []
    for step in _common.progress(range(1, steps + 1), "training"):
        real = ring(batch, data).to(args.device)
        d_loss, g_loss = adversarial_step(
            generator, discriminator, optimizers, real, latents(batch)
        )
        d_losses.append(d_loss)
        g_losses.append(g_loss)
        if step % (steps // 10) == 0 or step == 1:
            _common.say(f"step {step:5d}  D loss {d_loss:.3f}  G loss {g_loss:.3f}")
    with torch.no_grad():
        after = quality(generator(fixed))
    _common.say(f"after:  {after}")
    return Result(before, after, d_losses, g_losses)


if __name__ == "__main__":
    main()
