"""Receptive field and effective stride of the convolution and pooling stacks of a network.

Along every path, a window of size k, stride s and dilation d grows the receptive field by
(k - 1) * d times the current jump (the input distance between neighbouring outputs) and
multiplies the jump by s. Where paths join (a skip, a concat) the larger field is kept. The
figure reported is the one reaching the last windowed layer: what one output position of the
deepest feature map sees of the input.

The figure means something only where positions stay apart except through windows: a network
with attention or a recurrence, or that mixes a map of positions with a linear layer or a
reshaping (a token-mixing MLP, a transpose that turns channels into positions), has none. A
classifier head that flattens or pools the map away and then reads the vector keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass

from archc.dims import TensorType
from archc.ops import lookup
from archc.semantics.ir import Network, Node

Field = list[tuple[int, int]]  # per spatial axis: (receptive field, jump)


@dataclass(frozen=True)
class ReceptiveField:
    size: tuple[int, ...]  # per spatial axis, in input positions
    stride: tuple[int, ...]  # effective stride per axis
    layer: str  # the last windowed layer


# Families whose ops relate positions to one another, always or while a map of them remains.
_MIXING = ("attention", "recurrent")
_MIXING_A_MAP = ("linear", "shape")


def receptive_field(network: Network) -> ReceptiveField | None:
    """The receptive field at the deepest windowed layer, or None without windowed layers or
    where positions mix otherwise (see the module docstring)."""
    if any(_mixes_positions(network, node) for node in network.nodes()):
        return None
    fields: dict[int, Field] = {}
    last: ReceptiveField | None = None
    for node in network.nodes():
        spatial = _spatial(node.outputs[0].rank if node.outputs and node.outputs[0] else 0)
        if node.kind == "input":
            fields[node.id] = [(1, 1)] * spatial
            continue
        incoming = [fields[r.node] for r in node.inputs if fields.get(r.node)]
        if not incoming:
            continue
        field = [max(axis) for axis in zip(*incoming, strict=False)] or incoming[0]
        op = lookup(node.op)
        window = op.sliding_window(node.args) if op is not None else None
        if window is not None and len(window) == len(field):
            field = [
                (size + (kernel - 1) * dilation * jump, jump * stride)
                for (size, jump), (kernel, stride, dilation) in zip(field, window, strict=True)
            ]
            last = ReceptiveField(
                tuple(f[0] for f in field), tuple(f[1] for f in field), node.path
            )
        fields[node.id] = field
    return last


def _spatial(rank: int) -> int:
    return max(0, rank - 2)


def _mixes_positions(network: Network, node: Node) -> bool:
    if node.kind == "scan":  # a state carries every step into the next
        return True
    op = lookup(node.op)
    if op is None:
        return False
    if op.family in _MIXING:
        return True
    inputs = (network.type_of(ref) for ref in node.inputs)
    return (
        op.family in _MIXING_A_MAP
        and any(map(_has_positions, inputs))
        and any(map(_has_positions, node.outputs))
    )


def _has_positions(tensor: TensorType | None) -> bool:
    """Whether a tensor (channels first) is a map of more than one position."""
    return tensor is not None and any(size != 1 for size in tensor.shape[2:])
