"""A block instance elaborated again aside, with some of its repeats given other counts and
some of its parameters other values.

A block's generated class must be right for every count the spec accepts. Where the instances
of a class never had some count of a repeat the spec computes (none made no copy of
`(conv2d(c, 3) -> relu) * n`, or none made two), what the class builds for it is still the
spec's: the backend asks (ir.Network.recounted) for an instance elaborated again with those
counts, as speculation.py elaborates the alternative of a conditional not taken. It is made
where the network made the instance, with the same arguments, inputs and names, every repeat
named given its count in place of its own (context.Body.recounts), and then taken out again,
every trace of it: nodes, modules, diagnostics, names given to the tensors it read, ties,
shared layers. What it made is handed back in a network of its own (Network.with_instance),
or the first error the spec reports for those counts. A parameter given another value
(ir.Rebind) is how a class learns what it builds for arguments under which a conditional goes
the way none of its instances went (optional.py).

Each block call is recorded as it is made (Call). An instance copied with its parent
(replay.py, rerun.py) has no call of its own: the nearest enclosing instance that has one is
elaborated again, which makes it too, under the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archc.errors import Diagnostic, Span
from archc.semantics import provenance as pv
from archc.semantics import replay, sizes
from archc.semantics.application import TooLarge
from archc.semantics.context import Names, Place
from archc.semantics.expressions import ElabError
from archc.semantics.ir import Network, Rebind, Recount, Recounted
from archc.semantics.values import BlockLayer, Tensor


@dataclass(frozen=True)
class Call:
    """A block call as instantiate was given it: what elaborates the instance again."""

    layer: BlockLayer
    inputs: tuple[Tensor, ...]
    call_sites: tuple[Span, ...]
    blocks: tuple[str, ...]


@dataclass(frozen=True)
class Recounter:
    """Elaborates block instances of ``network`` aside (ir.Recounter): the elaborator that
    made it, the calls it recorded, and what the network's asserts assumed of its sizes."""

    elaborator: Any
    calls: dict[str, Call]
    assumed: sizes.Assumptions

    def __call__(
        self, network: Network, path: str, counts: tuple[Recount, ...], values: tuple[Rebind, ...]
    ) -> Recounted:
        at = path
        while at not in self.calls:
            if not at:
                return Recounted(None, None)
            at = at.rpartition(".")[0]
        recounts: dict[str, dict[Span, int]] = {}
        params: dict[str, dict[str, Any]] = {path: dict(values)} if values else {}
        for instance, span, count in counts:
            recounts.setdefault(instance, {})[span] = count
            origin = _origins(network, instance).get(span)
            if isinstance(origin, pv.Param):  # `* n`: the spec elaborated with n = count
                params.setdefault(instance, {})[origin.name] = count
        nodes, modules, refusal = _aside(self, network, at, recounts, params)
        if refusal is not None:
            return Recounted(None, None, refusal)
        view = network.with_instance(at, nodes, modules)
        return Recounted(view, view.modules.get(path))


def _origins(network: Network, path: str) -> dict[Span, pv.Expr | None]:
    """The provenance of the count of each repeat the body of the block instance at
    ``path`` computes, by the repeat's span."""
    instance = network.modules.get(path)
    if instance is None:
        return {}
    found: dict[Span, pv.Expr | None] = {looped.span: looped.origin for looped in instance.looped}
    for module in network.modules.values():
        if module.counted and network.instance_of_path(module.path) is instance:
            found.update((counted.span, counted.origin) for counted in module.counted)
    return found


def _aside(
    recounter: Recounter,
    network: Network,
    at: str,
    recounts: dict[str, dict[Span, int]],
    params: dict[str, dict[str, Any]],
) -> tuple[list[Any], list[Any], Diagnostic | None]:
    """The nodes and modules the call at ``at`` makes with ``recounts``, each parameter of
    ``params`` given its value, or the first error it reports; the elaborator and
    ``network`` left as they were."""
    elaborator = recounter.elaborator
    call = recounter.calls[at]
    saved = {name: getattr(elaborator, name) for name in _STATE}
    modules, ties, applications = dict(network.modules), len(network.ties), network.applications
    read = {t.ref.node for t in call.inputs if network.has_node(t.ref.node)}
    names = {i: dict(network.node(i).value_names) for i in read}
    first = max(network._nodes, default=0)
    elaborator.network = network
    elaborator._next_id = first
    elaborator._connections = 0
    elaborator._modules_made = []
    elaborator.diagnostics = []
    elaborator.rules = []
    elaborator._equations = []
    elaborator._assumed = sizes.Assumptions(
        dict(recounter.assumed.residues), dict(recounter.assumed.least)
    )
    elaborator.shared_uses = dict(elaborator.shared_uses)
    elaborator._calls = {}
    elaborator._recounts = recounts
    elaborator._recounted_params = params
    network.applications = dict(applications)
    place = Place(at.rpartition(".")[0], Names(frozenset()), call.call_sites, call.blocks)
    failure: Diagnostic | None = None
    try:
        with replay.disabled():  # a copy of another instance would not see the counts
            elaborator.instantiate(call.layer, list(call.inputs), place, at)
    except ElabError as exc:
        failure = exc.diagnostic
    except TooLarge as exc:
        failure = Diagnostic("A222", str(exc), exc.span or call.layer.span, with_=exc.with_)
    finally:  # whatever happened, the network and the elaborator are as they were
        errors = [d for d in elaborator.diagnostics if d.is_error]
        ids = range(first + 1, elaborator._next_id + 1)
        made = [network.node(i) for i in ids if network.has_node(i)]
        made_modules = list(elaborator._modules_made)
        network.drop([n.id for n in made])
        network.modules.clear()
        network.modules.update(modules)
        del network.ties[ties:]
        network.applications = applications
        for node_id, value_names in names.items():
            network.node(node_id).value_names = value_names
        for name, value in saved.items():
            setattr(elaborator, name, value)
    refusal = errors[0] if errors else failure
    if refusal is not None:
        return [], [], refusal
    return made, made_modules, None


# what elaborating an instance changes in the elaborator, restored after it
_STATE = (
    "network",
    "_next_id",
    "_connections",
    "_modules_made",
    "diagnostics",
    "rules",
    "_equations",
    "_assumed",
    "shared_uses",
    "shared_made",
    "scans_made",
    "_calls",
    "_recounts",
    "_recounted_params",
)
