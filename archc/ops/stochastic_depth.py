"""Stochastic depth (Huang et al., 2016), as torchvision.ops.StochasticDepth.

Applied to a residual branch before the sum, it zeroes the branch while training: per sample
("row") or for the whole batch ("batch"), with probability p, scaling what survives by
1/(1-p). In eval mode it is the identity. It holds no parameters or buffers (the state_dict
of a network with it equals one without) and costs no MACs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from archc.dims import TensorType
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import Ctor, Execution, Inferred, Op, Probability


class StochasticDepthArgs(Args):
    # required, as torchvision's: a drop rate is chosen per block, usually growing with depth
    p: Probability
    mode: Literal["row", "batch"] = "row"


@register
class StochasticDepth(Op):
    name = "stochastic_depth"
    family = "dropout"
    summary = (
        "drops a whole residual branch while training, per sample (row) or per batch, "
        "scaling the rest by 1/(1-p); the identity in eval"
    )
    Args = StochasticDepthArgs
    positional = ("p", "mode")
    foreign = ("torchvision.ops.stochastic_depth.StochasticDepth",)

    def read_module(self, module: Any) -> dict[str, Any] | None:
        return {"p": module.p, "mode": module.mode}

    def infer(self, args: StochasticDepthArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        return Inferred(outputs=(x,))

    def label(self, args: StochasticDepthArgs, inferred: Inferred) -> str:
        return f"stochastic depth {args.p:g}" + ("" if args.mode == "row" else " batch")

    def torch_module(self, args: StochasticDepthArgs, inferred: Inferred) -> Ctor:
        return Ctor("StochasticDepth", (args.p,), args.changed("mode"))

    def execute(
        self, args: StochasticDepthArgs, inferred: Inferred, run: Execution
    ) -> tuple[Any, ...]:
        (x,) = run.inputs
        p = run.drop_rate(args.p)
        if p == 0.0:
            return (x,)
        # one draw per sample, or one for the batch, broadcast over everything else
        drawn = x.shape[:1] if args.mode == "row" else (1,)
        keep = run.torch.rand(*drawn, dtype=x.dtype) >= p
        scale = keep.to(x.dtype) / (1.0 - p) if p < 1.0 else keep.to(x.dtype)
        return (x * scale.reshape(-1, *[1] * (x.dim() - 1)),)
