"""Greedy layer-wise pretraining of the stacked autoencoder of `specs/autoencoder.arch`.

The spec names its layers so that layer k of the encoder and layer k of the decoder form one
shallow autoencoder: `model.encoder.layer{k}` maps the (k-1)-th code to the k-th and
`model.decoder.layer{k}` maps it back. Pretraining trains these pairs in turn, pair k on the
codes that the already trained (and now frozen) encoder layers below it produce; fine-tuning
then trains the whole network end to end to reconstruct its input (Hinton and Salakhutdinov,
2006; Bengio et al., 2006). The data are images of random horizontal and vertical bars. The
script prints each stage's reconstruction loss (mean squared error) as it starts and ends, and
the whole network's loss on held-out images at random initialisation, after pretraining and
after fine-tuning.

    python examples/autoencoder_pretraining.py            # 16x16 images (about a minute on a CPU)
    python examples/autoencoder_pretraining.py --quick    # 8x8 images, a few steps per stage
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import _common
import torch
from torch import nn

from archc import runtime

SPEC = "zoo:autoencoder"
DEPTH = 4  # encoder.layer1 .. encoder.layer4, as the spec names them


@dataclass(frozen=True)
class Result:
    stages: dict[str, tuple[float, float]]  # stage -> its training loss, first and last
    whole: dict[str, float]  # random, pretrained, fine-tuned -> the whole network's held-out loss


def bars(count: int, side: int, generator: torch.Generator) -> torch.Tensor:
    """Flattened side x side images, each row and each column lit with probability 1/side."""
    rows = torch.rand(count, side, 1, generator=generator) < 1 / side
    columns = torch.rand(count, 1, side, generator=generator) < 1 / side
    return (rows | columns).float().flatten(1)


def train(
    parameters: list[nn.Parameter],
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    batches: Callable[[], torch.Tensor],
    steps: int,
    description: str,
) -> tuple[float, float]:
    """Adam on ``parameters`` for ``steps`` batches.

    Returns the loss on the first batch and the mean loss over the last tenth of them.
    """
    optimizer = torch.optim.Adam(parameters, lr=3e-3)
    losses = []
    for _ in _common.progress(range(steps), description):
        loss = loss_of(batches())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    last = losses[-max(1, steps // 10) :]
    return losses[0], sum(last) / len(last)


def pretrain_pair(
    model: nn.Module, k: int, images: Callable[[], torch.Tensor], steps: int
) -> tuple[float, float]:
    """Train encoder.layer{k} and decoder.layer{k} to reconstruct the codes of the layers below."""
    encode = getattr(model.encoder, f"layer{k}")
    decode = getattr(model.decoder, f"layer{k}")
    below = nn.Sequential(*(getattr(model.encoder, f"layer{j}") for j in range(1, k)))

    def codes() -> torch.Tensor:
        # The layers below are trained already: their output is this pair's data, held fixed.
        with torch.no_grad():
            return below(images())

    def loss(h: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(decode(encode(h)), h)

    pair = [*encode.parameters(), *decode.parameters()]
    return train(pair, loss, codes, steps, f"layer {k}")


def whole_loss(model: nn.Module, images: torch.Tensor) -> float:
    with torch.no_grad():
        _, reconstruction = model(images)
    return nn.functional.mse_loss(reconstruction, images).item()


def main(argv: list[str] | None = None) -> Result:
    args = _common.training_parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    side, steps, batch = (8, 60, 32) if args.quick else (16, 500, 128)
    model = runtime.build(SPEC, seed=args.seed, device=args.device, pixels=side * side)
    params = sum(p.numel() for p in model.parameters())
    _common.say(f"{type(model).__name__}: {side * side} pixels, {params:,} parameters")

    def images() -> torch.Tensor:
        return bars(batch, side, data).to(args.device)

    held_out = bars(1024, side, data).to(args.device)
    whole = {"random": whole_loss(model, held_out)}
    stages: dict[str, tuple[float, float]] = {}
    _common.say(f"{'stage':<44}loss first -> last")
    for k in range(1, DEPTH + 1):
        name = f"pretraining encoder.layer{k} + decoder.layer{k}"
        stages[name] = pretrain_pair(model, k, images, steps)
        _report(name, stages[name])
    whole["pretrained"] = whole_loss(model, held_out)

    def reconstruction_loss(x: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(model(x)[1], x)

    name = "fine-tuning the whole network"
    stages[name] = train(list(model.parameters()), reconstruction_loss, images, steps, "fine-tune")
    _report(name, stages[name])
    whole["fine-tuned"] = whole_loss(model, held_out)
    errors = ", ".join(f"{stage} {loss:.4f}" for stage, loss in whole.items())
    _common.say(f"whole network on held-out images: {errors}")
    return Result(stages, whole)


def _report(name: str, losses: tuple[float, float]) -> None:
    _common.say(f"{name:<44}{losses[0]:.4f} -> {losses[1]:.4f}")


if __name__ == "__main__":
    main()
