"""`scan`: a block applied step by step along an axis, carrying state.

`y, h = scan(GRUCell(16), x, state=h0, dim=1) as gru` runs the cell once per position of `x`
along axis 1 (the batch is axis 0): the cell takes that step's slice of each sequence, then one
tensor per carried state, and gives the step's outputs, then the new states. The result is the
outputs stacked along the axis, then the final states.

The cell's body is elaborated once, with the step's shapes, as the block instance at the scan's
path, so its parameters are counted once and keyed under that path. Two nodes bracket it in the
graph: ``scan.step`` takes the sequences and the initial states and gives the cell's inputs;
``scan.stack`` takes the cell's outputs and gives the scan's results. Every node between them is
the body, run once per step: its MACs are the step's times the number of steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from archc import dims
from archc.dims import TensorType
from archc.semantics import provenance as pv
from archc.semantics.context import Body, Place, base_name
from archc.semantics.ir import Module, Network, Node, Ref, Scan, ScanArgs
from archc.semantics.program import did_you_mean
from archc.semantics.values import (
    UNKNOWN,
    BlockLayer,
    BoundArg,
    Layer,
    ScanLayer,
    Tensor,
    describe,
)
from archc.syntax import ast

NOT_A_CELL = "A261"  # the first argument is not a block, or the arguments are not a scan's
INPUTS = "A262"  # the cell takes other than one tensor per sequence and per state
OUTPUTS = "A263"  # the cell gives no output besides its states
AXIS = "A385"  # the axis is the batch's, or not one of the sequence's, or the lengths differ
STATE = "A386"  # a new state of another shape or element type than its state


KEYWORDS = ("state", "dim", "reverse")


def scan_layer(
    args: tuple[BoundArg, ...], expr: ast.Call, error: Callable[..., Exception]
) -> ScanLayer:
    """The value of `scan(cell, sequences..., state=..., dim=1, reverse=false)`."""
    if not args or args[0].name is not None or not isinstance(args[0].value, BlockLayer):
        first = args[0] if args else None
        raise error(
            NOT_A_CELL,
            "`scan` takes a block as its first argument: the cell it applies at each step",
            expr.span if first is None else first.span,
            label="no cell" if first is None else f"{describe(first.value)}, not a block",
            help="write the block with its arguments, e.g. `scan(GRUCell(64), x, state=h0)`",
        )
    cell: BlockLayer = args[0].value
    given = next((a for a in cell.args if isinstance(a.value, Tensor | tuple)), None)
    if given is not None:
        raise error(
            NOT_A_CELL,
            "the cell of `scan` is given its tensors by the scan, one step at a time",
            given.span,
            label="a tensor given to the cell",
            help="give the sequences to `scan` after the cell: `scan(Cell(), x, state=h0)`",
        )
    sequences: list[Tensor] = []
    keywords: dict[str, BoundArg] = {}
    for arg in args[1:]:
        if arg.name is None and isinstance(arg.value, Tensor):
            sequences.append(arg.value)
        elif arg.name is None:
            raise error(
                NOT_A_CELL,
                f"`scan` steps along tensors, but this is {describe(arg.value)}",
                arg.span,
                label="not a tensor",
                help="after the cell come the sequences; `state=`, `dim=` and `reverse=` "
                "are named",
            )
        elif arg.name not in KEYWORDS:
            raise error(
                NOT_A_CELL,
                f"`scan` has no argument `{arg.name}`",
                arg.name_span or arg.span,
                label="unknown argument",
                help=did_you_mean(arg.name, list(KEYWORDS))
                or "its arguments are " + ", ".join(f"`{k}=`" for k in KEYWORDS),
            )
        else:
            keywords[arg.name] = arg
    init = keywords.get("state")
    states = () if init is None else init.value if isinstance(init.value, tuple) else (init.value,)
    if init is not None and not all(isinstance(t, Tensor) for t in states):
        raise error(
            NOT_A_CELL,
            f"`state=` gives the initial states, tensors, but this is {describe(init.value)}",
            init.span,
            label="not tensors",
            help="`state=h0`, or `state=(h0, c0)` for several states",
        )
    dim = keywords.get("dim")
    if dim is not None and (isinstance(dim.value, bool) or not isinstance(dim.value, int)):
        raise error(
            NOT_A_CELL,
            f"`dim=` is a whole number, but this is {describe(dim.value)}",
            dim.span,
            label="not a whole number",
            help="`dim=1` steps along the first axis after the batch",
        )
    for written in (dim, keywords.get("reverse")):
        if written is not None and not isinstance(written.origin, pv.Lit | None):
            raise error(
                NOT_A_CELL,
                f"`{written.name}=` of `scan` is written as a value, not computed from "
                "parameters or sizes",
                written.span,
                label="computed",
                notes=(
                    "the generated loop steps along one axis, in one direction, for every "
                    "instance of its class",
                ),
                help=f"write the value itself, e.g. `{written.name}="
                f"{'1' if written.name == 'dim' else 'true'}`",
            )
    reverse = keywords.get("reverse")
    if reverse is not None and not isinstance(reverse.value, bool):
        raise error(
            NOT_A_CELL,
            f"`reverse=` is `true` or `false`, but this is {describe(reverse.value)}",
            reverse.span,
            label="not a truth value",
        )
    return ScanLayer(
        expr.span,
        None,
        cell,
        tuple(states),
        1 if dim is None else dim.value,
        False if reverse is None else reverse.value,
        tuple(sequences),
    )


class Scanning:
    """Application of `scan`; mixed into the Elaborator."""

    network: Network | None
    scans_made: int
    _next_id: int

    if TYPE_CHECKING:  # the Elaborator's, which comes after this class in its bases

        def instantiate(
            self, layer: BlockLayer, inputs: list[Tensor], place: Place, path: str
        ) -> Any: ...

        def add_node(self, node: Node) -> Node: ...

        def new_id(self) -> int: ...

        def module(self, module: Module) -> None: ...

        def error(self, code: str, message: str, span: Any, **details: Any) -> Exception: ...

        def _check_fresh(self, layer: Layer, fresh: bool, place: Place) -> None: ...

    def apply_scan(self, layer: ScanLayer, inputs: list[Tensor], body: Body, place: Place) -> Any:
        assert self.network is not None and isinstance(layer.cell, BlockLayer)
        cell = layer.cell
        sequences = [*inputs, *layer.sequences]
        assert sequences, "applied with `->` or given its sequences in the call"
        if any(t.type is None for t in [*sequences, *layer.states]):
            return UNKNOWN
        axis, steps = self._axis(layer, sequences)
        self._check_cell_inputs(layer, len(sequences))
        path, fresh = place.name_child(layer.name, base_name(cell.block.name))
        self._check_fresh(layer, fresh, place)
        step_types = [_without(t.type, axis) for t in sequences]  # type: ignore[arg-type]
        step_dims = [_drop(_sizes(t), axis) for t in sequences]
        outer = [*sequences, *layer.states]
        step = self.add_node(
            Node(
                id=self.new_id(),
                kind="scan",
                op="scan.step",
                args=ScanArgs(axis, layer.reverse, len(sequences), len(layer.states)),
                inputs=tuple(t.ref for t in outer),
                outputs=(*step_types, *(t.type for t in layer.states)),
                path=path,
                scope=place.path,
                span=layer.span,
                call_sites=place.call_sites,
                dims=(*step_dims, *(_sizes(t) for t in layer.states)),
            )
        )
        given = [
            Tensor(Ref(step.id, port), t, layer.span, d)
            for port, (t, d) in enumerate(zip(step.outputs, step.dims, strict=True))
        ]
        self.scans_made += 1
        value = self.instantiate(replace(cell, name=None), given, place, path)
        if value is UNKNOWN:
            return UNKNOWN
        made = list(value) if isinstance(value, tuple) else [value]
        self._check_cell_outputs(layer, made, path)
        self._repeat_body(step.id, steps)
        outputs = made[: len(made) - len(layer.states)]
        stacked = [_with(t.type, axis, steps) for t in outputs]  # type: ignore[arg-type]
        if any(t is None for t in stacked):
            raise self._rank_error(layer, axis, outputs)
        stack = self.add_node(
            Node(
                id=self.new_id(),
                kind="scan",
                op="scan.stack",
                args=ScanArgs(axis, layer.reverse, len(sequences), len(layer.states)),
                inputs=tuple(t.ref for t in made),
                outputs=(*stacked, *(t.type for t in layer.states)),  # type: ignore[arg-type]
                path=path,
                scope=place.path,
                span=layer.span,
                call_sites=place.call_sites,
                dims=(
                    *(_put(_sizes(t), axis, sequences[0].dim(axis)) for t in outputs),
                    *(_sizes(t) for t in layer.states),
                ),
            )
        )
        results = tuple(
            Tensor(Ref(stack.id, port), t, layer.span, d)
            for port, (t, d) in enumerate(zip(stack.outputs, stack.dims, strict=True))
        )
        self.network.modules[path].scan = Scan(
            axis,
            steps,
            layer.reverse,
            len(sequences),
            len(layer.states),
            step.inputs,
            tuple(Ref(stack.id, port) for port in range(len(stack.outputs))),
        )
        return results[0] if len(results) == 1 else results

    def _axis(self, layer: ScanLayer, sequences: list[Tensor]) -> tuple[int, dims.Dim]:
        """The axis stepped along, counted with the batch as 0, and its length."""
        first = sequences[0].type
        assert first is not None
        axis = layer.dim + first.rank if layer.dim < 0 else layer.dim
        if not 0 < axis < first.rank:
            raise self.error(
                AXIS,
                f"`scan` steps along axis {layer.dim}, which the sequence of shape {first} "
                "does not have"
                if axis != 0
                else "`scan` cannot step along the batch axis",
                layer.span,
                label=f"dim={layer.dim}",
                rule="0 < dim < rank, the batch being axis 0",
                with_=f"rank {first.rank}: dim is one of 1 to {first.rank - 1}"
                if first.rank > 1
                else f"rank {first.rank}: no axis besides the batch",
                help="`dim=1` steps along the first axis after the batch",
            )
        steps = first.shape[axis]
        for other in sequences[1:]:
            assert other.type is not None
            if other.type.rank <= axis or other.type.shape[axis] != steps:
                raise self.error(
                    AXIS,
                    f"the sequences of `scan` have different lengths along axis {axis}",
                    layer.span,
                    label=f"shapes {first} and {other.type}",
                    notes=(f"the sequence of shape {other.type} is made at {other.span}",),
                    rule="every sequence has as many steps as the first",
                    with_=f"first {first}, this one {other.type}",
                    help="give sequences of one length, or scan them apart",
                )
        return axis, steps

    def _check_cell_inputs(self, layer: ScanLayer, sequences: int) -> None:
        assert isinstance(layer.cell, BlockLayer)
        node = layer.cell.block.node
        declared = [s.name.name for s in node.body if isinstance(s, ast.Input)]
        wanted = sequences + len(layer.states)
        if len(declared) == wanted:
            return
        raise self.error(
            INPUTS,
            f"the cell `{node.name.name}` takes {_count(len(declared), 'tensor input')}, but "
            f"`scan` gives it {wanted}",
            layer.cell.span,
            label=f"takes {', '.join(declared)}",
            rule="a cell takes one step of each sequence, then one tensor per carried state",
            with_=f"{_count(sequences, 'sequence')} + {_count(len(layer.states), 'state')} = "
            f"{wanted}",
            help="give the initial states with `state=`: `state=h0`, or `state=(h0, c0)`",
        )

    def _check_cell_outputs(self, layer: ScanLayer, made: list[Tensor], path: str) -> None:
        assert isinstance(layer.cell, BlockLayer) and self.network is not None
        node = layer.cell.block.node
        states = len(layer.states)
        if len(made) <= states:
            raise self.error(
                OUTPUTS,
                f"the cell `{node.name.name}` gives {_count(len(made), 'tensor')}, but carries "
                f"{_count(states, 'state')} and must give a step's output besides",
                layer.cell.span,
                label=f"gives {len(made)}",
                rule="a cell gives the step's outputs, then one new tensor per state",
                with_=f"{len(made)} given, at least {states} + 1 wanted",
                help="give the step's output first: `out y = ...`, then `out h = ...` for the "
                "new state",
            )
        names = self.network.modules[path].input_names[-states:] if states else ()
        for name, state, new in zip(names, layer.states, made[len(made) - states :], strict=True):
            if new.type != state.type:
                raise self.error(
                    STATE,
                    f"the cell `{node.name.name}` gives the state `{name}` back as {new.type}, "
                    f"but it is {state.type}",
                    layer.cell.span,
                    label=f"state `{name}` changes",
                    rule="each new state has exactly its state's shape and element type",
                    with_=f"`{name}`: {state.type} in, {new.type} out",
                    notes=(f"the new state is made at {new.span}",),
                    help="give back a tensor of the state's shape, or start the state with "
                    "the shape the cell makes",
                )

    def _repeat_body(self, step_id: int, steps: dims.Dim) -> None:
        """The body's nodes run once per step: each counts its MACs that many times. The
        nodes are replaced, never changed, since a recorded block instance holds them."""
        assert self.network is not None
        for node_id in range(step_id + 1, self._next_id + 1):
            if self.network.has_node(node_id):
                node = self.network.node(node_id)
                if node.macs:
                    self.network.replace(replace(node, macs=dims.product((node.macs, steps))))

    def _rank_error(self, layer: ScanLayer, axis: int, outputs: list[Tensor]) -> Exception:
        low = next(t for t in outputs if t.type is not None and t.type.rank < axis)
        return self.error(
            AXIS,
            f"a step's output of shape {low.type} has no axis {axis} to stack the steps along",
            layer.span,
            label=f"dim={layer.dim}",
            rule="the outputs are stacked along the axis the sequences were stepped along",
            with_=f"rank {low.type.rank if low.type else '?'} < {axis}",
            help="step along an earlier axis, or give outputs of a higher rank",
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _without(t: TensorType, axis: int) -> TensorType:
    return replace(t, shape=t.shape[:axis] + t.shape[axis + 1 :])


def _with(t: TensorType, axis: int, steps: dims.Dim) -> TensorType | None:
    if t.rank < axis:
        return None
    return replace(t, shape=(*t.shape[:axis], steps, *t.shape[axis:]))


def _sizes(tensor: Tensor) -> tuple[pv.Expr | None, ...]:
    """The provenance of each of a tensor's sizes (None where a size has none)."""
    assert tensor.type is not None
    return tensor.dims if tensor.dims is not None else (None,) * tensor.type.rank


def _drop(sizes: tuple[pv.Expr | None, ...], axis: int) -> tuple[pv.Expr | None, ...]:
    return sizes[:axis] + sizes[axis + 1 :]


def _put(
    sizes: tuple[pv.Expr | None, ...], axis: int, steps: pv.Expr | None
) -> tuple[pv.Expr | None, ...]:
    return (*sizes[:axis], steps, *sizes[axis:])
