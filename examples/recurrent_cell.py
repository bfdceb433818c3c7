"""Train a recurrent cell written in a spec, `scan(ElmanCell(hidden), ...)`, to delay a signal.

`examples/specs/delay_line.arch` writes an Elman cell as a block and runs it along the sequence
with `scan`; a linear readout at every step gives the network's echo. The task needs memory:
the echo at step t must be the input of step t - DELAY, for a signal of random +1 and -1 values.
Answering 0 everywhere has a mean squared error of 1; the script prints the error as it falls
well below that.

    python examples/recurrent_cell.py            # 32 units, 300 steps (under a minute)
    python examples/recurrent_cell.py --quick    # 16 units, 50 steps, a few seconds
"""

from __future__ import annotations

from dataclasses import dataclass

import _common
import torch
from torch import nn

from archc import runtime

SPEC = str(_common.SPECS / "delay_line.arch")
DELAY = 2


@dataclass(frozen=True)
class Result:
    losses: list[float]  # held-out mean squared error, before training and at each report


def signals(count: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Random +1/-1 signals (count, length, 1) and their echoes, DELAY steps late (0 before)."""
    signal = torch.randint(2, (count, length, 1), generator=generator).float() * 2 - 1
    echo = torch.zeros_like(signal)
    echo[:, DELAY:] = signal[:, :-DELAY]
    return signal, echo


def held_out_loss(
    model: nn.Module, signal: torch.Tensor, echo: torch.Tensor, hidden: int
) -> float:
    with torch.no_grad():
        predicted = model(signal, signal.new_zeros(len(signal), hidden))
    return nn.functional.mse_loss(predicted, echo).item()


def main(argv: list[str] | None = None) -> Result:
    args = _common.training_parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    hidden, steps, batch, length = (16, 50, 16, 10) if args.quick else (32, 300, 64, 24)
    model = runtime.build(SPEC, seed=args.seed, device=args.device, hidden=hidden)
    params = sum(p.numel() for p in model.parameters())
    _common.say(f"{type(model).__name__} with {hidden} units: {params:,} parameters")
    held_out = [t.to(args.device) for t in signals(256, length, data)]
    losses = [held_out_loss(model, *held_out, hidden)]
    _common.say(f"before training: mean squared error {losses[0]:.3f} (answering 0: 1.0)")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in _common.progress(range(1, steps + 1), "training"):
        signal, echo = (t.to(args.device) for t in signals(batch, length, data))
        predicted = model(signal, signal.new_zeros(batch, hidden))
        loss = nn.functional.mse_loss(predicted, echo)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % (steps // 5) == 0:
            losses.append(held_out_loss(model, *held_out, hidden))
            _common.say(f"step {step:4d}  held-out mean squared error {losses[-1]:.3f}")
    return Result(losses)


if __name__ == "__main__":
    main()
