"""Recurrent layers: rnn, lstm, gru over batch-first sequences (N, T, input_size).

Parameter names and shapes are torch's (``weight_ih_l0``, ``bias_hh_l1_reverse``,
``weight_hr_l0`` for a projected LSTM), so checkpoints of ``nn.LSTM`` and friends load as is.
``output`` picks what the layer yields:

- ``"sequence"``: every step's hidden state of the last layer, (N, T, D*H_out);
- ``"last"``: the final hidden state of the last layer, (N, D*H_out): for a bidirectional net
  the forward direction's state after step T-1 followed by the backward direction's state after
  step 0 (its own last step), i.e. torch's ``h_n`` for the last layer, directions concatenated.

D is 2 for a bidirectional net, else 1; H_out is ``proj_size`` when set, else ``hidden_size``.

States are batch first, like every tensor in archc: the initial states ``h0`` (and ``c0`` for an
LSTM) are optional inputs of shape (N, L*D, H_out) (``c0``: (N, L*D, hidden_size)), zeros where
not given, and ``return_state=true`` adds the final states, in the same layout, as outputs
after the sequence. torch keeps its states as (L*D, N, H_out) even with ``batch_first``, so a
layer that takes or gives states is one of archc's ``Stateful*`` subclasses of torch's module
(archc/torch_helpers.py), which transpose them: same parameters, same state_dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from archc import dims
from archc.dims import TensorType
from archc.ops.position import sequence_width
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import (
    DTYPE,
    INVALID,
    MAX_COUNT,
    Ctor,
    Execution,
    Finding,
    Inferred,
    NonNegativeInt,
    Op,
    PositiveInt,
    Probability,
    fail,
)

# A state input whose shape or type is not the one the layer's state has
STATE_SHAPE = "A380"
# An LSTM given one of its two initial states without the other
STATE_PAIR = "A381"
# return_state=true with output="last": the last step is the final hidden state already
STATE_WITH_LAST = "A382"


class RecurrentArgs(Args):
    hidden_size: PositiveInt
    num_layers: PositiveInt = 1
    bias: bool = True
    dropout: Probability = 0.0
    bidirectional: bool = False
    output: Literal["sequence", "last"] = "sequence"
    return_state: bool = False


class RnnArgs(RecurrentArgs):
    nonlinearity: Literal["tanh", "relu"] = "tanh"


class LstmArgs(RecurrentArgs):
    proj_size: NonNegativeInt = 0


def _out_size(args: RecurrentArgs) -> int:
    """H_out: the width of each direction's hidden state as the next layer sees it."""
    return getattr(args, "proj_size", 0) or args.hidden_size


def _findings(args: RecurrentArgs, op: str) -> tuple[Finding, ...]:
    if args.dropout > 0 and args.num_layers == 1:
        # torch accepts it with a UserWarning: the dropout sits between layers, so it never runs
        return (
            Finding(
                INVALID,
                f"{op} dropout={args.dropout} has no effect with num_layers=1: it is applied "
                "between stacked layers only",
                arg="dropout",
                help="drop `dropout`, or add a `dropout` op after the layer",
                severity="warning",
            ),
        )
    return ()


_OUTPUTS = (
    '; input (N, T, input_size), batch first; output="sequence" gives (N, T, D*H_out), '
    'output="last" the last layer\'s final state (N, D*H_out), directions concatenated; '
    "initial states h0 (N, L*D, H_out) given by name, zeros otherwise; return_state=true also "
    "gives the final states h_n (N, L*D, H_out)"
)

# torch's constructor keywords in its order, around the batch_first this op always sets
_BEFORE_BATCH_FIRST = ("num_layers", "nonlinearity", "bias")
_AFTER_BATCH_FIRST = ("dropout", "bidirectional", "proj_size")


# (hidden state, cell state) of one step; the cell state is unused but by the LSTM
Pair = tuple[Any, Any]


class _Recurrent(Op):
    family = "recurrent"
    Args = RecurrentArgs
    positional = ("hidden_size", "num_layers")
    torch_positional = (None, "hidden_size", "num_layers")
    inputs = ("x", "h0")
    rule = (
        '(N, T, input_size) -> (N, T, D*H_out), or (N, D*H_out) with output="last"; '
        "h0, h_n: (N, L*D, H_out)"
    )
    torch_class: str
    gates: int  # gate matrices per cell: rows of weight_ih are gates * hidden_size
    # LSTM returns (output, (h_n, c_n)), the others (output, h_n)
    cell_state: ClassVar[bool] = False

    def infer(self, args: RecurrentArgs, inputs: Sequence[TensorType]) -> Inferred:
        x, *given = inputs
        input_size = sequence_width(x, self.name)
        if args.num_layers > MAX_COUNT:
            raise fail(
                INVALID,
                f"{self.name} num_layers={args.num_layers} stacks more than {MAX_COUNT:,} layers",
                arg="num_layers",
                label="too many layers",
                help="no real network stacks this many recurrent layers",
            )
        directions = 2 if args.bidirectional else 1
        width = directions * _out_size(args)
        if args.output == "sequence":
            out = TensorType((x.shape[0], x.shape[1], width), x.dtype)
        else:
            out = TensorType((x.shape[0], width), x.dtype)
        states = self._states(args, x)
        for name, state in zip(self.inputs[1:], given, strict=False):
            _check_state(self.name, name, state, states[name], args)
        if len(given) not in (0, len(states)):
            raise fail(
                STATE_PAIR,
                f"{self.name} is given h0 without c0: it starts from both states or from none",
                rule="h0 and c0 together, or neither",
                help="give `c0=` too, or leave out `h0=` to start from zeros",
                label="c0 missing",
            )
        if args.return_state and args.output == "last":
            raise fail(
                STATE_WITH_LAST,
                f'{self.name} output="last" with return_state=true: the last step is the '
                "final hidden state, which return_state gives already",
                arg="return_state",
                help='use output="sequence" with return_state=true: the final states hold the '
                "last step",
                label="gives the final state twice",
            )
        params, per_step = self._parameters(args, input_size)
        return Inferred(
            outputs=(out, *states.values()) if args.return_state else (out,),
            params=params,
            macs=x.shape[1] * per_step,
            resolved={"input_size": input_size, "initial_states": len(given)},
            findings=_findings(args, self.name),
        )

    def _states(self, args: RecurrentArgs, x: TensorType) -> dict[str, TensorType]:
        """The type of each state, initial or final, by its input's name: (N, L*D, width)."""
        stacked = args.num_layers * (2 if args.bidirectional else 1)
        widths = {"h0": _out_size(args), "c0": args.hidden_size}
        return {
            name: TensorType((x.shape[0], stacked, widths[name]), x.dtype)
            for name in self.inputs[1:]
        }

    def _parameters(
        self, args: RecurrentArgs, input_size: int
    ) -> tuple[dict[str, tuple[int, ...]], int]:
        """torch's parameter shapes in registration order, and the MACs of one time step."""
        hidden, out_size = args.hidden_size, _out_size(args)
        rows = self.gates * hidden
        directions = ("", "_reverse") if args.bidirectional else ("",)
        params: dict[str, tuple[int, ...]] = {}
        per_step = 0
        for layer in range(args.num_layers):
            layer_in = input_size if layer == 0 else len(directions) * out_size
            for suffix in directions:
                tag = f"l{layer}{suffix}"
                params[f"weight_ih_{tag}"] = (rows, layer_in)
                params[f"weight_hh_{tag}"] = (rows, out_size)
                if args.bias:
                    params[f"bias_ih_{tag}"] = (rows,)
                    params[f"bias_hh_{tag}"] = (rows,)
                per_step += rows * (layer_in + out_size)
                if out_size != hidden:
                    params[f"weight_hr_{tag}"] = (out_size, hidden)
                    per_step += out_size * hidden
        return params, per_step

    def label(self, args: RecurrentArgs, inferred: Inferred) -> str:
        text = f"{self.name} {args.hidden_size}"
        if args.num_layers > 1:
            text += f" ×{args.num_layers}"
        if args.bidirectional:
            text += " bi"
        if _out_size(args) != args.hidden_size:
            text += f", proj {_out_size(args)}"
        return text + (", last" if args.output == "last" else "")

    def torch_module(self, args: RecurrentArgs, inferred: Inferred) -> Ctor:
        fields = type(args).fields
        before = [name for name in _BEFORE_BATCH_FIRST if name in fields]
        after = [name for name in _AFTER_BATCH_FIRST if name in fields]
        kwargs = (*args.changed(*before), ("batch_first", True), *args.changed(*after))
        stateful = args.return_state or inferred.resolved["initial_states"] > 0
        return Ctor(
            f"Stateful{self.torch_class[3:]}" if stateful else self.torch_class,
            (inferred.resolved["input_size"], args.hidden_size),
            kwargs,
            self._stateful_call(args) if stateful else self._call(args),
        )

    def execute(self, args: RecurrentArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        x, *given = run.inputs
        directions = ("", "_reverse") if args.bidirectional else ("",)
        sequence, finals = x, []
        for layer in range(args.num_layers):
            if layer:  # dropout sits between stacked layers
                p = run.drop_rate(args.dropout)
                sequence = run.F.dropout(sequence, p, training=True) if p else sequence
            runs = []
            for number, suffix in enumerate(directions):
                # the states of layer l and direction d are at l*D + d along axis 1
                start = tuple(s[:, layer * len(directions) + number] for s in given)
                tag = f"l{layer}{suffix}"
                runs.append(self._direction(args, run, sequence, tag, bool(suffix), start))
            sequence = run.torch.cat([steps for steps, _ in runs], dim=2)
            finals += [last for _, last in runs]
        if args.return_state:
            stacked = (run.torch.stack(list(kind), dim=1) for kind in zip(*finals, strict=True))
            return (sequence, *list(stacked)[: len(self.inputs) - 1])
        if args.output == "sequence":
            return (sequence,)
        return (run.torch.cat([h for h, _ in finals[-len(directions) :]], dim=1),)

    def _direction(
        self,
        args: RecurrentArgs,
        run: Execution,
        x: Any,
        tag: str,
        backward: bool,
        start: tuple[Any, ...],
    ) -> tuple[Any, Pair]:
        """One layer in one direction over (N, T, I), from the (hidden, cell) state ``start``
        (zeros for each missing): every step's hidden state (N, T, H_out) in time order, and
        the (hidden, cell) state after its last step."""
        state = run.state
        weights = (state[f"weight_ih_{tag}"], state[f"weight_hh_{tag}"])
        biases = (state[f"bias_ih_{tag}"], state[f"bias_hh_{tag}"]) if args.bias else (0.0, 0.0)
        projection = state.get(f"weight_hr_{tag}")
        zeros = (
            x.new_zeros(x.shape[0], _out_size(args)),
            x.new_zeros(x.shape[0], args.hidden_size),
        )
        hidden, cell = (*start, *zeros[len(start) :])
        outputs = []
        steps = range(x.shape[1] - 1, -1, -1) if backward else range(x.shape[1])
        for t in steps:
            from_input = x[:, t] @ weights[0].T + biases[0]
            from_hidden = hidden @ weights[1].T + biases[1]
            hidden, cell = self.step(args, run.torch, from_input, from_hidden, (hidden, cell))
            if projection is not None:
                hidden = hidden @ projection.T
            outputs.append(hidden)
        if backward:
            outputs.reverse()
        return run.torch.stack(outputs, dim=1), (hidden, cell)

    def step(self, args: Any, torch: Any, from_input: Any, from_hidden: Any, state: Pair) -> Pair:
        """One cell update from the gate rows of the input and of the hidden state, and the
        (hidden, cell) state before it: the new hidden state (before any projection) and cell
        state (unchanged where there is none)."""
        raise NotImplementedError

    def _stateful_call(self, args: RecurrentArgs) -> str:
        """How forward calls a Stateful* module, which returns (output, h_n[, c_n]) with the
        states batch first."""
        if args.return_state:
            return "{m}({inputs})"
        if args.output == "sequence":
            return "{m}({inputs})[0]"
        return "{m}({inputs})[1]" + ("[:, -2:].flatten(1)" if args.bidirectional else "[:, -1]")

    def _call(self, args: RecurrentArgs) -> str:
        if args.output == "sequence":
            return "{m}({0})[0]"
        # h_n is (num_layers * D, N, H_out); the last layer's D states, batch first, joined
        state = "{m}({0})[1]" + ("[0]" if self.cell_state else "")
        if args.bidirectional:
            return state + "[-2:].transpose(0, 1).flatten(1)"
        return state + "[-1]"


@register
class Rnn(_Recurrent):
    name = "rnn"
    summary = (
        "Elman RNN, h_t = nonlinearity(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), as nn.RNN"
        + _OUTPUTS
    )
    Args = RnnArgs
    params_rule = (
        "per layer and direction: weight_ih H·I + weight_hh H·H + bias_ih H + bias_hh H "
        "(bias=true); I = input_size in layer 0, D·H above it (D = 2 if bidirectional, else 1)"
    )
    torch_class = "nn.RNN"
    gates = 1

    def label(self, args: RnnArgs, inferred: Inferred) -> str:
        text = super().label(args, inferred)
        return text + (", relu" if args.nonlinearity == "relu" else "")

    def step(
        self, args: RnnArgs, torch: Any, from_input: Any, from_hidden: Any, state: Pair
    ) -> Pair:
        total = from_input + from_hidden
        return (torch.relu(total) if args.nonlinearity == "relu" else torch.tanh(total)), state[1]


@register
class Lstm(_Recurrent):
    name = "lstm"
    summary = (
        "long short-term memory, as nn.LSTM: gates i, f, g, o; `proj_size` > 0 projects each "
        "hidden state to proj_size (LSTMP), so H_out = proj_size" + _OUTPUTS
    )
    Args = LstmArgs
    params_rule = (
        "per layer and direction: weight_ih 4H·I + weight_hh 4H·H_out + bias_ih 4H + bias_hh 4H "
        "(bias=true) + weight_hr H_out·H (proj_size > 0); H_out = proj_size or H; "
        "I = input_size in layer 0, D·H_out above it (D = 2 if bidirectional, else 1)"
    )
    inputs = ("x", "h0", "c0")
    rule = (
        '(N, T, input_size) -> (N, T, D*H_out), or (N, D*H_out) with output="last"; '
        "h0, h_n: (N, L*D, H_out); c0, c_n: (N, L*D, hidden_size)"
    )
    torch_class = "nn.LSTM"
    gates = 4
    cell_state = True

    def step(
        self, args: LstmArgs, torch: Any, from_input: Any, from_hidden: Any, state: Pair
    ) -> Pair:
        i, f, g, o = (from_input + from_hidden).chunk(4, dim=1)
        cell = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(cell), cell

    def infer(self, args: LstmArgs, inputs: Sequence[TensorType]) -> Inferred:
        if args.proj_size >= args.hidden_size:
            raise fail(
                INVALID,
                f"lstm proj_size={args.proj_size} must be smaller than "
                f"hidden_size={args.hidden_size}",
                rule="0 <= proj_size < hidden_size",
                with_=f"{args.proj_size} >= {args.hidden_size}",
                arg="proj_size",
                help="use proj_size=0 for no projection, or a smaller proj_size",
            )
        return super().infer(args, inputs)


@register
class Gru(_Recurrent):
    name = "gru"
    summary = "gated recurrent unit, as nn.GRU: gates r, z, n" + _OUTPUTS
    params_rule = (
        "per layer and direction: weight_ih 3H·I + weight_hh 3H·H + bias_ih 3H + bias_hh 3H "
        "(bias=true); I = input_size in layer 0, D·H above it (D = 2 if bidirectional, else 1)"
    )
    torch_class = "nn.GRU"
    gates = 3

    def step(
        self, args: RecurrentArgs, torch: Any, from_input: Any, from_hidden: Any, state: Pair
    ) -> Pair:
        # the reset gate scales the hidden state's contribution to n, its bias included
        input_r, input_z, input_n = from_input.chunk(3, dim=1)
        hidden_r, hidden_z, hidden_n = from_hidden.chunk(3, dim=1)
        reset = torch.sigmoid(input_r + hidden_r)
        update = torch.sigmoid(input_z + hidden_z)
        candidate = torch.tanh(input_n + reset * hidden_n)
        return (1 - update) * candidate + update * state[0], state[1]


def _check_state(
    op: str, name: str, given: TensorType, expected: TensorType, args: RecurrentArgs
) -> None:
    """An initial state must have the layer's state shape and the input's element type."""
    if given.dtype != expected.dtype:
        raise fail(
            DTYPE,
            f"{op} {name} is {given.dtype}, but the input is {expected.dtype}",
            rule=f"{name} has the input's element type",
            help=f"give a {expected.dtype} state",
            arg=name,
            label=f"a {given.dtype} state",
        )
    agree = given.rank == expected.rank and all(
        dims.same(a, b) for a, b in zip(given.shape, expected.shape, strict=True)
    )
    if not agree:
        _, stacked, width = expected.shape
        feature = "hidden_size" if name == "c0" else "H_out"
        directions = 2 if args.bidirectional else 1
        raise fail(
            STATE_SHAPE,
            f"{op} {name} must be {expected}, got {given}",
            rule=f"{name}: (N, num_layers * directions, {feature})",
            with_=f"num_layers * directions = {args.num_layers} * {directions} = {stacked}, "
            f"{feature} = {width}",
            help="states are batch first, one row per layer and direction, as return_state "
            "gives them",
            arg=name,
            label=f"{dims.show_shape(given.shape)}, not {dims.show_shape(expected.shape)}",
        )
