"""Which spec parameters a generated network class may take as constructor arguments.

A network class takes the spec's parameters it writes expressions with (`nn.Embedding(vocab,
d_model)`), so `GPT2(vocab=50304)` builds what `-D vocab=50304` compiles. That promise fails
when a value computed from a parameter was written as a number: a size inferred from a shape
(`nn.Linear(512, tags)`, where 512 is twice `hidden`) or a loop the parameter unrolled. Such a
parameter must not be taken, so its value is written as a number too (and `-D` changes it).

A parameter is faithful when compiling with another value of it changes nothing in the module
but that value: :func:`fixed_parameters` compiles the network again with the parameters
changed (all at once first; when that fails, each half of them, and so on down to one at a
time) and compares the modules without the annotations that depend on the values alone (shape
comments, counts, defaults).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archc.backends.torch.emit import Options, emit_module
from archc.semantics.ir import Network
from archc.syntax.ast import names_read

# Changed all at once, the parameters are multiplied by distinct powers of two (2, 4, 8, ...):
# a value computed from two of them (d_model // heads) still changes, and one that divides
# another mostly still does (768 * 4 is a multiple of 12 * 32). Parameters that repeat counts
# are written with get the smallest: the copy is compiled, and 64 times GPT-2 XL's 48 layers
# would take seconds to write out.

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

    def together(names: list[str]) -> dict[str, Any]:
        return {n: _changed(network.args[n], 2 ** (i + 1)) for i, n in enumerate(names)}

    def unfaithful(names: list[str]) -> set[str]:
        """Of ``names``, which changed together change more than their values, the halves
        tried when all at once fail (one unfaithful parameter among many costs a few)."""
        if len(names) == 1:
            # alone, doubled: the likeliest to stay valid (heads still divides d_model)
            return set() if same({names[0]: _changed(network.args[names[0]], 2)}) else set(names)
        if same(together(names)):
            return set()
        half = len(names) // 2
        return unfaithful(names[:half]) | unfaithful(names[half:])

    counts = _count_parameters(network)
    names = sorted(taken[network.name], key=lambda name: name not in counts)
    tried = [n for n in names if _changed(network.args[n], 2) is not None]
    return frozenset(
        {n for n in names if n not in tried} | (unfaithful(tried) if tried else set())
    )


def _count_parameters(network: Network) -> set[str]:
    """The names repeat counts are written with, anywhere in the network (`Block * layers`):
    a parameter of the network, or of a block it passes one to under the same name."""
    return {
        name
        for module in network.modules.values()
        if module.repeat_written is not None
        for name in names_read(module.repeat_written)
    }


def _changed(value: Any, factor: int) -> Any:
    """Another valid-looking value of a parameter, or None for one not to try (text, tuples)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value * factor if value else 1
    if isinstance(value, float):
        return value / factor if value else 0.25
    return None
