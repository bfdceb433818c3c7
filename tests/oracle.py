"""Generated modules against the reference interpreter (archc/backends/interpret.py).

`check_values` builds a spec's generated module in float64, gives its batch norms running
statistics other than torch's initial zeros and ones, and runs it and the interpreter on the
module's own state_dict and the same random inputs: in eval mode, and in training mode with
every dropout rate set to 0 in the module (`dropout=False` in the interpreter, which then
drops nothing either), so that both runs are deterministic.

Each output is judged one of three ways. It is equal when every value agrees within
`TOLERANCE`, relative to the largest value of the interpreter's output. Where it does not, the
interpreter runs `ROUNDING_RUNS` more times with every floating-point value an op gives moved
by up to a unit in the last place (Monte Carlo arithmetic), and the largest move of each value
is how far rounding alone can carry it at this input. The output is ill-conditioned when every
value that differs by more than `TOLERANCE` differs by at most `ROUNDING_FACTOR` times its own
move: a batch norm over samples that carry no information (variance 0) divides rounding noise
by the square root of its eps, so two correct orders of evaluation disagree far beyond
`TOLERANCE`. Anything else is a mismatch, a failure: a wrong weight, a missing layer or
swapped arguments move well-conditioned values by orders of magnitude more than rounding can.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from archc import api, dims, runtime
from archc.backends.interpret import interpret
from archc.semantics.ir import Network

TOLERANCE = 1e-6
# Runs of the interpreter with every op's result moved by up to a unit in the last place: the
# largest move over them is the estimate of what rounding alone does to each value.
ROUNDING_RUNS = 8
# Another correct order of evaluation rounds each op's result by up to a few units, a sum of n
# terms by about sqrt(n) (where the estimate moves each result by one), so a difference within
# this factor of the estimate is rounding; a miscompile is many orders of magnitude beyond it.
ROUNDING_FACTOR = 100
BATCH = 2
SIZE = 8  # what a symbolic size (T, H, W) is in these runs, unless a test says otherwise


def sizes_of(network: Network, size: int = SIZE) -> dict[str, int]:
    """The batch at BATCH and every symbol of the network's inputs at ``size``."""
    found = {
        str(s)
        for ref in network.inputs.values()
        for d in network.type_of(ref).shape[1:]
        if isinstance(d, dims.Sym)
        for s in d.expr.free_symbols
    }
    return dict.fromkeys(found, size) | {dims.BATCH_NAME: BATCH}


def random_inputs(network: Network, sizes: dict[str, int], seed: int = 0) -> dict[str, Any]:
    """Inputs by name: float64 normals, ids below 2 (every vocabulary has two entries), or
    masks of random booleans."""
    generator = torch.Generator().manual_seed(seed)
    inputs = {}
    for name, ref in network.inputs.items():
        tensor = network.type_of(ref)
        shape = [dims.evaluate(d, sizes) for d in tensor.shape]
        if tensor.dtype == "bool":  # a mask: the first key kept, so no attention row is empty
            inputs[name] = torch.rand(shape, generator=generator) < 0.5
            inputs[name][..., 0] = True
        elif tensor.dtype.startswith("int"):
            inputs[name] = torch.randint(0, 2, shape, generator=generator)
        else:
            inputs[name] = torch.randn(shape, generator=generator, dtype=torch.float64)
    return inputs


def vary_running_statistics(model: torch.nn.Module, seed: int = 0) -> None:
    """Running means from N(0, 1) and variances from [0.5, 1.5): torch's zeros and ones would
    let a norm that ignores them pass."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if key.endswith("running_mean"):
                tensor.copy_(torch.randn(tensor.shape, generator=generator))
            elif key.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)


def silence_dropout(model: torch.nn.Module) -> None:
    """Every dropout rate of the module at 0: dropout modules' `p`, stochastic depth's (a copy
    of archc's helper class, so known by its name), and the `dropout` of recurrent layers and
    attention."""
    for module in model.modules():
        dropping = isinstance(module, torch.nn.modules.dropout._DropoutNd)
        if dropping or type(module).__name__ == "StochasticDepth":
            module.p = 0.0
        elif isinstance(getattr(module, "dropout", None), float):
            module.dropout = 0.0


@dataclass(frozen=True)
class Disagreement:
    """An output on which the module and the interpreter differ by more than TOLERANCE."""

    output: str  # "Net (train) logits"
    difference: float  # the largest, relative to the interpreter's largest value (NaN: NaNs)
    rounding: float  # the largest move rounding alone gave, relative to the same value
    ill_conditioned: bool  # every value that differs lies within ROUNDING_FACTOR of its move
    shapes: str = ""  # the two shapes, where they differ (and nothing else was compared)

    def __str__(self) -> str:
        if self.shapes:
            return f"{self.output}: shape {self.shapes}"
        judged = "ill-conditioned" if self.ill_conditioned else "mismatch"
        return (
            f"{self.output}: differs by {self.difference:.3g} (relative), rounding alone "
            f"by up to {self.rounding:.3g}: {judged}"
        )


@dataclass(frozen=True)
class Verdict:
    """What comparing a spec's networks found: "equal", "ill-conditioned" or "mismatch"."""

    disagreements: tuple[Disagreement, ...] = ()

    @property
    def mismatches(self) -> list[Disagreement]:
        return [d for d in self.disagreements if not d.ill_conditioned]

    @property
    def ill_conditioned(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.ill_conditioned]

    @property
    def outcome(self) -> str:
        if self.mismatches:
            return "mismatch"
        return "ill-conditioned" if self.disagreements else "equal"

    def __str__(self) -> str:
        return "; ".join(map(str, self.mismatches + self.ill_conditioned)) or "equal"


def compare(
    network: Network,
    model: torch.nn.Module,
    inputs: Mapping[str, Any],
    training: bool,
    state: Mapping[str, Any] | None = None,
) -> list[Disagreement]:
    """The outputs on which the module and the interpreter disagree, each judged against what
    rounding alone does to it. The interpreter runs on ``state``, or else on the module's own,
    read before the module runs, so that training updates do not count."""
    if state is None:
        state = {key: tensor.clone() for key, tensor in model.state_dict().items()}
    model.train(training)
    with torch.no_grad():
        produced = model(*inputs.values())
        expected = interpret(network, state, inputs, training=training, dropout=False)
    produced = produced if isinstance(produced, tuple) else (produced,)
    mode = "train" if training else "eval"
    moves: dict[str, torch.Tensor] | None = None  # measured once, where something disagrees
    found = []
    for (name, reference), actual in zip(expected.items(), produced, strict=True):
        output = f"{network.name} ({mode}) {name}"
        if tuple(actual.shape) != tuple(reference.shape):
            shapes = f"{tuple(actual.shape)} vs {tuple(reference.shape)}"
            found.append(Disagreement(output, math.nan, math.nan, False, shapes))
            continue
        difference = runtime.difference(actual, reference)
        if difference <= TOLERANCE:
            continue
        if moves is None:
            moves = rounding_moves(network, state, inputs, training, expected)
        found.append(judge(output, actual, reference, moves[name]))
    return found


def judge(
    output: str, actual: torch.Tensor, reference: torch.Tensor, move: torch.Tensor
) -> Disagreement:
    """The disagreement of ``actual`` with ``reference``, ill-conditioned where each value
    beyond TOLERANCE is within ROUNDING_FACTOR of its ``move``."""
    actual, reference = actual.double(), reference.double()
    finite = reference[torch.isfinite(reference)]
    scale = max(finite.abs().max().item() if finite.numel() else 0.0, runtime.NEGLIGIBLE)
    gaps = torch.where(actual == reference, 0.0, (actual - reference).abs())
    # a NaN gap or move compares false, so it is never excused
    excused = (gaps <= TOLERANCE * scale) | (gaps <= ROUNDING_FACTOR * move)
    difference = runtime.difference(actual, reference)
    return Disagreement(output, difference, move.max().item() / scale, bool(excused.all()))


def rounding_moves(
    network: Network,
    state: Mapping[str, Any],
    inputs: Mapping[str, Any],
    training: bool,
    expected: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """For each output, how far each of its values moves from ``expected`` at most over
    ROUNDING_RUNS runs of the interpreter that round every op's result once more."""
    moves: dict[str, torch.Tensor] = {}
    for run in range(ROUNDING_RUNS):
        rounding = _rounding(torch.Generator().manual_seed(run))
        with torch.no_grad():
            again = interpret(network, state, inputs, training, dropout=False, rounding=rounding)
        for name, reference in expected.items():
            move = (again[name].double() - reference.double()).abs()
            moves[name] = torch.maximum(moves[name], move) if name in moves else move
    return moves


def _rounding(generator: torch.Generator) -> Callable[[Any], Any]:
    """Moves each floating-point value by a random fraction, up to one, of a unit in the
    last place of its type: an error as large as rounding it once more."""

    def round_again(value: Any) -> Any:
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            return value
        unit = torch.finfo(value.dtype).eps
        fraction = torch.rand(value.shape, generator=generator, dtype=torch.float64) * 2 - 1
        return value * (1 + unit * fraction).to(value.dtype)

    return round_again


def compile_spec(
    path: str | Path, overrides: Mapping[str, Any] | None = None, root: str | None = None
) -> tuple[list[Network], ModuleType]:
    """The networks of the spec at ``path`` and the module they compile to, once for all of
    them, as `archc compile` writes it and runtime.build runs it."""
    networks, diagnostics = api.analyse(str(path), overrides=dict(overrides or {}), root=root)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    source = api.render_source(str(path), networks, diagnostics)
    return networks, runtime.load_source(source, f"archc_oracle_{Path(path).stem}")


def check_values(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    size: int = SIZE,
    root: str | None = None,
) -> Verdict:
    """Every network of the spec at ``path``, built, agrees with the interpreter, or differs
    only where the input makes rounding matter (a warning, with the figures)."""
    networks, module = compile_spec(path, overrides, root)
    verdict = check_compiled(networks, module, size, str(path))
    if verdict.ill_conditioned:
        warnings.warn(f"{path}: ill-conditioned: {verdict}", stacklevel=2)
    return verdict


def prepared(
    network: Network, module: ModuleType, size: int = SIZE
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The network's class in ``module`` built in float64, as the comparison runs it (seeded,
    running statistics varied, dropout off), and its inputs at ``size``."""
    cls = getattr(module, runtime.network_class_name(module, network.name))
    torch.manual_seed(0)
    model = cls().to(torch.float64)
    vary_running_statistics(model)
    silence_dropout(model)
    return model, random_inputs(network, sizes_of(network, size))


def check_compiled(
    networks: list[Network], module: ModuleType, size: int = SIZE, label: str = "spec"
) -> Verdict:
    """How each of ``networks``, built from its class in ``module``, compares with the
    interpreter; a mismatch is an AssertionError naming them by ``label``."""
    found: list[Disagreement] = []
    for network in networks:
        model, inputs = prepared(network, module, size)
        for training in (False, True):
            found += compare(network, model, inputs, training)
    verdict = Verdict(tuple(found))
    assert not verdict.mismatches, f"{label}: {verdict}"
    return verdict
