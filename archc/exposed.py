"""Which spec parameters a generated network class may take as constructor arguments.

A network class takes the spec's parameters it writes expressions with (`nn.Embedding(vocab,
d_model)`), so `GPT2(vocab=50304)` builds what `-D vocab=50304` compiles. That promise fails
when a value computed from a parameter was written as a number: a size inferred from a shape
(`nn.Linear(512, tags)`, where 512 is twice `hidden`) or a loop the parameter unrolled. Such a
parameter must not be taken, so its value is written as a number too (and `-D` changes it).

A parameter is faithful when compiling with another value of it changes nothing in the module
but that value: :func:`fixed_parameters` compiles the network again with the parameters
changed (all at once first, then one by one when that fails) and compares the modules without
the annotations that depend on the values alone (shape comments, counts, defaults).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archc.backends.torch.emit import Options, emit_module
from archc.semantics.ir import Network

# Changed all at once, the parameters are multiplied by distinct powers of two (2, 4, 8, ...):
# a value computed from two of them (d_model // heads) still changes, and one that divides
# another mostly still does (768 * 4 is a multiple of 12 * 32).

Elaborate = Callable[[str, dict[str, Any]], Network | None]


def fixed_parameters(
    networks: list[Network], spec_path: str, spec_text: str, elaborate: Elaborate
) -> dict[str, frozenset[str]]:
    """For each network, the parameters its class must write as values.

    ``elaborate(name, args)`` elaborates the network ``name`` with all its parameters given,
    returning None when the spec rejects those values.
    """
    fixed: dict[str, frozenset[str]] = {}
    for network in networks:
        fixed[network.name] = _fixed(network, spec_path, spec_text, elaborate)
    return fixed


def _fixed(
    network: Network, spec_path: str, spec_text: str, elaborate: Elaborate
) -> frozenset[str]:
    bare = Options(annotate=False)
    reference, taken = emit_module([network], spec_path, spec_text, bare)

    def same(changes: dict[str, Any]) -> bool:
        twin = elaborate(network.name, {**network.args, **changes})
        return twin is not None and emit_module([twin], spec_path, spec_text, bare)[0] == reference

    names = taken[network.name]
    together = {n: _changed(network.args[n], 2 ** (i + 1)) for i, n in enumerate(names)}
    tried = {n: v for n, v in together.items() if v is not None}
    untried = {n for n in names if n not in tried}
    if not tried or same(tried):
        return frozenset(untried)
    # One at a time, each doubled: the likeliest to stay valid (heads still divides d_model).
    return frozenset(untried | {n for n in tried if not same({n: _changed(network.args[n], 2)})})


def _changed(value: Any, factor: int) -> Any:
    """Another valid-looking value of a parameter, or None for one not to try (text, tuples)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value * factor if value else 1
    if isinstance(value, float):
        return value / factor if value else 0.25
    return None
