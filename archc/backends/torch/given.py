"""Layers a block takes as parameters (`block Dense(width, act=relu)`), as constructor arguments.

A class whose instances apply different layers through one parameter takes the layer as a
constructor argument, as torchvision's blocks take `activation_layer`: the class builds
`self.act1 = act()`, and its parent passes `nn.Hardswish`, or `partial(nn.LeakyReLU,
negative_slope=slope)` with the arguments the spec's call bound, written from their
provenance in the parent (ir.Node.given_origins). A layer whose module needs sizes its block
infers (`batchnorm2d`'s features) is called with them, as torchvision calls `norm_layer`:
`self.norm1 = norm(channels)`, from their provenance in the block. A parent that passes on a
parameter of its own (`Inner(c, act=act)`) passes its own constructor argument
(`Inner(in_channels, c, act=act)`), and takes it as well (ir.Node.passed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from archc.backends.torch.helpers import is_helper
from archc.backends.torch.structure import traced_inputs
from archc.ops import lookup
from archc.ops.schema import Symbolic
from archc.ops.spec import Ctor
from archc.pysource.exprs import literal
from archc.pysource.layout import Arg, Call
from archc.semantics import provenance as pv
from archc.semantics.ir import Module, Network, Node


def given_ctor(node: Node) -> Ctor | None:
    """The module ``node``'s layer value builds, where a block's parameter gave it and the
    value's own arguments, and sizes the block infers, are all it needs: its keywords traced
    with the caller's provenance, its positional arguments (`num_features`) with the
    block's. None otherwise."""
    if node.given is None:
        return None
    op = lookup(node.op)
    assert op is not None
    symbolic = {k: o for k, o in node.given_origins.items() if not isinstance(o, pv.Lit)}
    updates = {k: pv.traced(getattr(node.args, k), o, every=True) for k, o in symbolic.items()}
    args = node.args.with_symbolic(updates, symbolic) if symbolic else node.args
    inferred = traced_inputs(node)[1]
    ctor = op.torch_module(args, inferred)
    if ctor is None or ctor.held or is_helper(ctor.path):
        return None
    # positional arguments are sizes the block infers: none read from the layer's arguments
    sizes = op.torch_module(node.args, inferred)
    assert sizes is not None
    for value in sizes.args:
        origin = pv.origin_of(value)
        if origin is None or isinstance(origin, pv.Lit):
            return None
    ctor = dataclasses.replace(ctor, args=sizes.args)
    fields = type(node.args).fields
    for name, value in ctor.kwargs:
        plain = pv.untraced(value.value if isinstance(value, Symbolic) else value)
        if name not in fields or plain != getattr(node.args, name):
            return None
    return ctor


def given_layers(network: Network, module: Module) -> tuple[Any, ...]:
    """What a call of the block instance ``module`` passes for each layer its class takes,
    per parameter: the op and the provenance of its arguments in the caller, or
    ("passed", name) where the caller passes on its own parameter ``name``."""
    found: dict[str, Any] = {}
    for node in network.within(module.path):
        if given_ctor(node) is None:
            continue
        chain = passed_through(network, node)
        for position, (holder, param) in enumerate(chain):
            if holder is not module:
                continue
            if position + 1 < len(chain):
                found[param] = ("passed", chain[position + 1][1])
            else:
                found[param] = (node.op, tuple(sorted(node.given_origins.items())))
    return tuple(sorted(found.items()))


def passed_through(network: Network, node: Node) -> list[tuple[Module, str]]:
    """The block instances a parameter's layer came through to ``node``, each with its
    parameter that took it: the instance that applied it first, then each caller that
    passed on a parameter of its own (ir.Node.passed), to the one whose caller wrote it."""
    module = network.instance_of(node)
    assert node.given is not None
    chain = [(module, node.given)]
    for param in reversed(node.passed):
        module = network.instance_of_path(module.path.rpartition(".")[0])
        chain.append((module, param))
    return chain


def layer_argument(ctors: list[Ctor], slot: Callable[[list[Any], str], str]) -> str | Call:
    """What a call passes for a layer its child's class takes, ``ctors[i]`` building it in
    instance i: the module's class, or a partial that binds the arguments the spec's call
    gave, each written by ``slot`` (from its provenance in the caller)."""
    args = [Arg(ctors[0].path)]
    names = list(dict.fromkeys(name for ctor in ctors for name, _ in ctor.kwargs))
    for name in names:
        values = [dict(ctor.kwargs).get(name) for ctor in ctors]
        args.append(Arg(slot(values, name), prefix=f"{name}="))
    return ctors[0].path if len(args) == 1 else Call("partial", tuple(args))


def literal_slot(values: list[Any], hint: str) -> str:
    """A value written with literals alone (a default's)."""
    return literal(pv.untraced(values[0].value if isinstance(values[0], Symbolic) else values[0]))
