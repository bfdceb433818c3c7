"""Train the BiLSTM tagger of `specs/lstm_tagger.arch` to tag repeated tokens.

The spec is a part-of-speech tagger; here it learns a toy tagging task whose answer depends on
context: tag a token 1 when it repeats the token just before it, 0 otherwise. Sentences are
random token ids in which each token repeats the one before it with probability 1/2, so always
answering 0 (or 1) is right about half the time. The network is built with a small vocabulary
and two tags by `archc.runtime.build`; it returns log-probabilities, trained with an NLL loss.
The script prints the loss and the held-out accuracy per token as they improve.

    python examples/lstm_tagger.py            # the spec's widths, 50 steps (a minute or two)
    python examples/lstm_tagger.py --quick    # narrow layers, a few steps
"""

from __future__ import annotations

from dataclasses import dataclass

import _common
import torch
from torch import nn

from archc import runtime

SPEC = "zoo:lstm_tagger"
VOCAB = 32
REPEAT = 0.5  # the chance that a token repeats the one before it


@dataclass(frozen=True)
class Result:
    accuracies: list[float]  # held-out accuracy per token, before training and at each report
    chance: float  # the accuracy of always answering the more common tag


def sentences(
    count: int, length: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (count, length) and their tags: 1 where a token equals the one before it."""
    fresh = torch.randint(VOCAB, (count, length), generator=generator)
    repeat = torch.rand(count, length, generator=generator) < REPEAT
    repeat[:, 0] = False
    tokens = fresh.clone()
    for t in range(1, length):  # a repeat copies the previous token, itself maybe a repeat
        tokens[:, t] = torch.where(repeat[:, t], tokens[:, t - 1], fresh[:, t])
    tags = torch.zeros_like(tokens)
    tags[:, 1:] = (tokens[:, 1:] == tokens[:, :-1]).long()
    return tokens, tags


def accuracy(model: nn.Module, tokens: torch.Tensor, tags: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predicted = model(tokens).argmax(dim=-1)
    model.train()
    return (predicted == tags).float().mean().item()


def main(argv: list[str] | None = None) -> Result:
    args = _common.training_parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    if args.quick:
        sizes, steps, batch, length = dict(embed=16, hidden=32, p_drop=0.0), 60, 32, 16
    else:
        sizes, steps, batch, length = dict(p_drop=0.1), 50, 64, 32
    model = runtime.build(SPEC, seed=args.seed, device=args.device, vocab=VOCAB, tags=2, **sizes)
    params = sum(p.numel() for p in model.parameters())
    _common.say(f"{type(model).__name__} {sizes}: {params:,} parameters")

    held_out = [t.to(args.device) for t in sentences(256, length, data)]
    share = held_out[1].float().mean().item()
    chance = max(share, 1 - share)
    accuracies = [accuracy(model, *held_out)]
    _common.say(f"before training: accuracy {accuracies[0]:.1%} (chance {chance:.1%})")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2 if args.quick else 3e-3)
    loss_of = nn.NLLLoss()
    for step in _common.progress(range(1, steps + 1), "training"):
        tokens, tags = (t.to(args.device) for t in sentences(batch, length, data))
        # NLLLoss wants the classes on axis 1: (N, tags, T) against (N, T)
        loss = loss_of(model(tokens).transpose(1, 2), tags)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % (steps // 5) == 0:
            accuracies.append(accuracy(model, *held_out))
            _common.say(f"step {step:4d}  loss {loss.item():.3f}  accuracy {accuracies[-1]:.1%}")
    return Result(accuracies, chance)


if __name__ == "__main__":
    main()
