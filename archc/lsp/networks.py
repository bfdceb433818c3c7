"""Elaborating a document's networks again only where an edit changed what they read.

Each network's result is kept with the top-level nodes its elaboration can read: its own
definition, the file's `init` rules, and every block, network and constant whose name appears
in the text of a node already read (looked up in the file that node was written in, so blocks
of a `use`d file bring in what they name there). A name counts wherever it appears in the text,
so the set can hold more than elaboration reads, never less.

On the next version of the document, a network's kept result is

* reused whole when it read the very same node objects: the pieces of a document that did not
  move keep their trees (:mod:`archc.lsp.pieces`), so the same objects mean the same text at
  the same place. A result with diagnostics also needs the same names in scope, since a
  diagnostic may suggest one of them (`did you mean ...?`);
* reused for its diagnostics alone when it had none and the nodes have the same texts in the
  same files, but some moved (an edit above them changed the length of the text). Positions
  only reach the spans a result reports, so "no diagnostics" still holds; the graph, whose
  spans moved, is dropped, and elaborated again only when a feature asks for it (a hover);
* elaborated again otherwise.

Networks are elaborated one at a time, each by its own :class:`Elaborator`: what one network's
elaboration leaves behind (evaluated constants) never changes another's result, so this gives
exactly the diagnostics of one elaboration of the whole file.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Any

from archc.errors import Diagnostic
from archc.semantics.elaborate import Elaborator, elaborate
from archc.semantics.ir import Network
from archc.semantics.program import Definition, FileScope
from archc.syntax import ast

Node = ast.Definition | ast.Assign | ast.InitRule
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
# A kept graph refers to the whole syntax tree of the version it was elaborated in (through its
# definitions' files). Graphs from more versions than this are dropped, oldest first, so that
# old trees do not pile up; a hover elaborates a dropped one again.
GRAPH_VERSIONS = 3


@dataclass(frozen=True)
class Read:
    """A top-level node that a network's elaboration may read, and the file it is in."""

    node: Node
    file: FileScope

    @property
    def text(self) -> str:
        span = self.node.span
        return span.source.text[span.start : span.end]

    @property
    def content(self) -> tuple[str, str]:
        """The file and the text: what elaborating the node depends on, wherever it is."""
        return self.node.span.file, self.text


def reads(definition: Definition) -> list[Read]:
    """What elaborating the network ``definition`` may read, itself first."""
    found: list[Read] = []
    seen: set[int] = set()
    pending = [Read(rule, definition.file) for rule in reversed(definition.file.inits)]
    pending.append(Read(definition.node, definition.file))  # a stack: the network comes first
    while pending:
        read = pending.pop()
        if id(read.node) in seen:
            continue
        seen.add(id(read.node))
        found.append(read)
        file = read.file
        for name in _names(read.text):
            named = file.definitions.get(name)
            if named is not None:
                pending.append(Read(named.node, named.file))
            if name in file.constants:
                pending.append(Read(file.constants[name], file))
    return found


@functools.lru_cache(maxsize=4096)
def _names(text: str) -> tuple[str, ...]:
    """The names in a node's text, each once, in a fixed order; kept by text, since most nodes
    are the same from one check to the next."""
    return tuple(sorted(set(_WORD.findall(text)), reverse=True))


def _scope(found: list[Read]) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """The names visible in each file read, in the order a suggestion considers them."""
    files = {id(read.file): read.file for read in found}.values()
    return tuple((f.source.path, tuple(f.constants), tuple(f.definitions)) for f in files)


@dataclass(frozen=True)
class Result:
    """One network elaborated: what it read, and what came of it."""

    nodes: tuple[Node, ...]
    texts: tuple[tuple[str, str], ...]
    scope: tuple[Any, ...] | None  # the names in scope, kept where there are diagnostics
    diagnostics: list[Diagnostic]
    network: Network | None  # None where the network could not be elaborated, or was dropped
    has_graph: bool  # False once the graph is dropped
    version: int  # the check that elaborated it

    def read_same_nodes(self, found: list[Read]) -> bool:
        return len(found) == len(self.nodes) and all(
            read.node is node for read, node in zip(found, self.nodes, strict=True)
        )

    def holds_for(self, found: list[Read]) -> bool:
        """Whether elaborating what ``found`` holds gives these very diagnostics (and graph,
        if it is kept)."""
        return self.read_same_nodes(found) and (
            not self.diagnostics or self.scope == _scope(found)
        )

    def moved_to(self, found: list[Read]) -> Result | None:
        """This result, without its graph, for ``found`` where those are the same texts moved
        elsewhere and there are no diagnostics to move (see the module); None otherwise."""
        if self.diagnostics or self.texts != tuple(read.content for read in found):
            return None
        return replace(self.dropped(), nodes=tuple(read.node for read in found))

    def dropped(self) -> Result:
        return replace(self, network=None, has_graph=False)


def _elaborate(definition: Definition, found: list[Read], version: int) -> Result:
    elaborator = Elaborator()
    network = elaborator.network_of(definition, {})
    diagnostics = elaborator.diagnostics
    return Result(
        tuple(read.node for read in found),
        tuple(read.content for read in found),
        _scope(found) if diagnostics else None,
        diagnostics,
        network,
        True,
        version,
    )


class Slot:
    """One network of one version of the document."""

    def __init__(self, cache: Elaborations, definition: Definition, found: list[Read]) -> None:
        self.cache = cache
        self.definition = definition
        self.found = found

    def uses(self, node: Any) -> bool:
        return any(read.node is node for read in self.found)

    def network(self) -> Network | None:
        """The graph, elaborating it now if it is not kept."""
        kept = self.cache.results.get(self.definition.name)
        if kept is None or not kept.has_graph or not kept.holds_for(self.found):
            kept = _elaborate(self.definition, self.found, self.cache.version)
            self.cache.results[self.definition.name] = kept
        return kept.network


class Elaborations:
    """The kept results of one document's networks, by network name.

    Called as :func:`archc.semantics.elaborate.elaborate` is (it is the ``elaborate_file`` of
    :func:`archc.api.analyse_loaded`), it returns every diagnostic, and the graphs that it kept
    or elaborated; :attr:`slots` holds every network of that call, for :class:`Networks`.
    """

    def __init__(self) -> None:
        self.results: dict[str, Result] = {}
        self.slots: list[Slot] = []
        self.version = 0

    def __call__(
        self,
        file: FileScope,
        network: str | None = None,
        overrides: dict[str, Any] | None = None,
        strict: bool = False,
    ) -> tuple[list[Network], list[Diagnostic]]:
        if network is not None or overrides or strict:  # not what the server asks for
            return elaborate(file, network, overrides, strict)
        self.version += 1
        results: dict[str, Result] = {}
        self.slots = []
        for definition in file.own_networks():
            slot = Slot(self, definition, reads(definition))
            kept = self.results.get(definition.name)
            if kept is not None and kept.holds_for(slot.found):
                result = kept
            else:
                moved = kept.moved_to(slot.found) if kept is not None else None
                result = moved or _elaborate(definition, slot.found, self.version)
            results[definition.name] = result
            self.slots.append(slot)
        self.results = _drop_old_graphs(results)
        networks = [r.network for r in self.results.values() if r.network is not None]
        return networks, [d for r in self.results.values() for d in r.diagnostics]


def _drop_old_graphs(results: dict[str, Result]) -> dict[str, Result]:
    versions = sorted({r.version for r in results.values() if r.network is not None})
    oldest_kept = versions[-GRAPH_VERSIONS] if len(versions) > GRAPH_VERSIONS else 0
    return {
        name: result.dropped() if result.network and result.version < oldest_kept else result
        for name, result in results.items()
    }


class Networks:
    """The networks of one analysed version, elaborated where needed when first asked for.

    Elaborating touches the document's cache, so only the thread that checks the document may
    ask (the server's worker).
    """

    def __init__(self, slots: list[Slot]) -> None:
        self._slots = slots

    def all(self) -> list[Network]:
        return self._networks(self._slots)

    def using(self, nodes: list[Any]) -> list[Network]:
        """The networks whose elaboration reads any of ``nodes`` (top-level items)."""
        return self._networks([s for s in self._slots if any(s.uses(node) for node in nodes)])

    @staticmethod
    def _networks(slots: list[Slot]) -> list[Network]:
        found = [slot.network() for slot in slots]
        return [network for network in found if network is not None]
