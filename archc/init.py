"""Data-dependent initialisation, applied from Python to a built model with a batch of inputs.

Such schemes cannot be ``init`` rules: they need real data, which a spec never has. torch is
imported inside the functions, as in :mod:`archc.runtime`, so importing archc never needs it.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch
    from torch import nn

ModuleT = TypeVar("ModuleT", bound="nn.Module")


class _Reached(Exception):
    """Ends a forward pass as soon as the layer being measured has produced its output."""


@dataclass(frozen=True)
class _Goal:
    target_std: float
    tolerance: float
    max_iterations: int

    def met(self, std: float) -> bool:
        return abs(std - self.target_std) <= self.tolerance


def lsuv(
    module: ModuleT,
    batch: torch.Tensor | Sequence[torch.Tensor],
    *,
    target_std: float = 1.0,
    tolerance: float = 0.1,
    max_iterations: int = 10,
    layer_types: tuple[type[nn.Module], ...] | None = None,
) -> ModuleT:
    """Layer-sequential unit-variance initialisation (Mishkin & Matas, 2016), in place.

    Every layer of ``layer_types`` (default: ``nn.Linear`` and ``nn.Conv1d`` to ``nn.Conv3d``)
    that runs when ``module`` is called on ``batch`` gets an orthogonal weight and a zero bias.
    Then, layer by layer in the order they first run, the layer's weight is rescaled until the
    standard deviation of its output on ``batch`` is within ``tolerance`` of ``target_std``;
    after ``max_iterations`` rescalings of one layer it warns and goes on to the next.

    ``batch`` is one input tensor, or a tuple or list of them for a module with several inputs;
    it must be on the module's device. The forward passes run without gradients and in eval
    mode, so dropout does not blur the measurement and batch-norm statistics are left alone;
    the module's train/eval mode is restored afterwards. The result depends only on torch's
    random state (the orthogonal matrices draw from it) and the batch.

    Raises ValueError when the batch does not fit the module, when no layer of
    ``layer_types`` runs, or when a layer's output is constant on the batch (nothing to
    rescale). Returns ``module``. For example::

        import torch
        from torch import nn
        from archc.init import lsuv

        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 10))
        lsuv(model, torch.randn(512, 64))
    """
    import torch
    from torch import nn

    goal = _Goal(target_std, tolerance, max_iterations)
    _check(goal)
    types = layer_types or (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    inputs = tuple(batch) if isinstance(batch, tuple | list) else (batch,)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            layers = _in_call_order(module, inputs, types)
            for _, layer in layers:
                _orthogonalise(layer)
            for name, layer in layers:
                _rescale(module, inputs, name, layer, goal)
    finally:
        module.train(was_training)
    return module


def _check(goal: _Goal) -> None:
    if not goal.target_std > 0:
        raise ValueError(f"lsuv: target_std must be positive, not {goal.target_std}")
    if not goal.tolerance >= 0:
        raise ValueError(f"lsuv: tolerance must not be negative, not {goal.tolerance}")
    if goal.max_iterations < 0:
        raise ValueError(f"lsuv: max_iterations must not be negative, not {goal.max_iterations}")


def _in_call_order(
    module: nn.Module, inputs: tuple[Any, ...], types: tuple[type[nn.Module], ...]
) -> list[tuple[str, nn.Module]]:
    """The layers of ``types`` that one forward pass calls, by name, in their first-call order."""
    named = {
        layer: name or type(layer).__name__  # the module itself has the empty name
        for name, layer in module.named_modules()
        if isinstance(layer, types)
    }
    order: dict[nn.Module, str] = {}

    def record(layer: nn.Module, _inputs: Any, _output: Any) -> None:
        order.setdefault(layer, named[layer])

    handles = [layer.register_forward_hook(record) for layer in named]
    try:
        _forward(module, inputs)
    finally:
        for handle in handles:
            handle.remove()
    if not order:
        kinds = ", ".join(t.__name__ for t in types)
        raise ValueError(f"lsuv: no layer of the types {kinds} runs in the module's forward pass")
    return [(name, layer) for layer, name in order.items()]


def _forward(module: nn.Module, inputs: tuple[Any, ...]) -> None:
    try:
        module(*inputs)
    except RuntimeError as error:
        shapes = ", ".join(str(tuple(getattr(x, "shape", ()))) for x in inputs)
        raise ValueError(
            f"lsuv: a batch of shape {shapes} does not fit the module: {error}"
        ) from error


def _orthogonalise(layer: nn.Module) -> None:
    import torch
    from torch import nn

    weight = layer.weight
    # drawn in float32, since QR has no half-precision kernel, and copied into the weight's dtype
    fresh = torch.empty(weight.shape, dtype=torch.float32, device=weight.device)
    weight.copy_(nn.init.orthogonal_(fresh))
    bias = getattr(layer, "bias", None)
    if bias is not None:
        bias.zero_()


def _output_std(module: nn.Module, inputs: tuple[Any, ...], layer: nn.Module) -> float:
    """The std of ``layer``'s output on its first call, running ``module`` only up to there."""
    stds: list[float] = []

    def measure(_layer: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        stds.append(output.float().std().item())
        raise _Reached

    handle = layer.register_forward_hook(measure)
    try:
        _forward(module, inputs)
    except _Reached:
        pass
    finally:
        handle.remove()
    return stds[0]


def _rescale(
    module: nn.Module, inputs: tuple[Any, ...], name: str, layer: nn.Module, goal: _Goal
) -> None:
    for rescalings in itertools.count():
        std = _output_std(module, inputs, layer)
        if goal.met(std):
            return
        if rescalings == goal.max_iterations:
            break
        if not std > 0:  # also catches nan
            raise ValueError(
                f"lsuv: layer `{name}` gives a constant output on this batch (std {std}), "
                "so rescaling its weight cannot set its spread"
            )
        layer.weight.mul_(goal.target_std / std)
    warnings.warn(
        f"lsuv: layer `{name}` output std is {std:.4g} after {goal.max_iterations} "
        f"rescalings, not within {goal.tolerance} of {goal.target_std}",
        stacklevel=3,
    )
