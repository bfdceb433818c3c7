"""How many layers a block instance makes at least, read from the block's body before it is
elaborated, so that a call that would pass the layer limit is refused before the work is done.

Blocks that each apply the next twice double at every level: twenty levels make a million
layers, and building even the first 250,000 of them takes seconds and a gigabyte. The bound
counts only what the body certainly applies: the stages of a chain that starts from a tensor
(`x -> conv2d(64, 3) -> Block(64) * 2`), each op once, each block by its own bound, a repeat by
its written count. A conditional, a layer kept in a variable or a combinator counts nothing, so
the bound never exceeds what elaboration would build.
"""

from __future__ import annotations

from dataclasses import dataclass

from archc.ops import lookup
from archc.semantics.expressions import MAX_REPEAT
from archc.semantics.program import Definition, FileScope
from archc.syntax import ast


@dataclass(frozen=True)
class Least:
    """At least ``layers`` layers; ``largest`` is the block the body applies that makes most of
    them: its name, how many times the body applies it, and its own bound."""

    layers: int
    largest: tuple[str, int, int] | None = None


class Workload:
    """The bound of each block definition, worked out once per elaboration."""

    def __init__(self) -> None:
        self._known: dict[int, Least] = {}
        self._open: set[int] = set()  # recursion is reported elsewhere (A213); it counts 0

    def least(self, definition: Definition) -> Least:
        key = id(definition.node)
        if key in self._known:
            return self._known[key]
        if key in self._open:
            return Least(0)
        self._open.add(key)
        try:
            found = _Body(self, definition).least()
        finally:
            self._open.discard(key)
        self._known[key] = found
        return found


class _Body:
    """Counts what one definition's body applies."""

    def __init__(self, workload: Workload, definition: Definition) -> None:
        self.workload = workload
        self.file: FileScope = definition.file
        node = definition.node
        # a stage written with one of these names is a variable, not an op or a block
        self.local = {p.name.name for p in node.params} | {
            t.name for s in node.body if isinstance(s, ast.Assign) for t in s.targets
        }
        self.statements = node.body
        self.blocks: dict[str, int] = {}  # block name -> times applied

    def least(self) -> Least:
        self.tensors: set[str] = set()
        layers = 0
        for stmt in self.statements:
            if isinstance(stmt, ast.Input):
                self.tensors.add(stmt.name.name)
            elif isinstance(stmt, ast.Assign | ast.Output):
                made = self._tensor(stmt.value)
                if made is not None:
                    layers += made
                    if isinstance(stmt, ast.Assign):
                        self.tensors.update(t.name for t in stmt.targets)
        largest = max(
            ((name, times, self._block_least(name)) for name, times in self.blocks.items()),
            key=lambda item: item[1] * item[2],
            default=None,
        )
        return Least(layers, largest)

    def _tensor(self, expr: ast.Expr) -> int | None:
        """The layers ``expr`` makes at least, if it certainly gives a tensor; else None."""
        if isinstance(expr, ast.Name):
            return 0 if expr.id in self.tensors else None
        if isinstance(expr, ast.Chain):  # `x -> conv2d(64, 3) -> relu`
            head = self._tensor(expr.head)
            return None if head is None else head + sum(self._stage(s, 1) for s in expr.stages)
        if isinstance(expr, ast.Call) and expr.args and expr.args[0].name is None:
            first = self._tensor(expr.args[0].value)  # `Block(x)`: applied at once
            return None if first is None else first + self._stage(expr.func, 1)
        if isinstance(expr, ast.Binary):  # `y + x`: one more layer, if both are tensors
            left, right = self._tensor(expr.left), self._tensor(expr.right)
            return None if left is None or right is None else left + right + 1
        return None

    def _stage(self, expr: ast.Expr, times: int) -> int:
        """The layers ``expr``, applied ``times`` times, makes at least."""
        if isinstance(expr, ast.Call):
            return self._stage(expr.func, times)
        if isinstance(expr, ast.Named | ast.NamedCopies):
            return self._stage(expr.value, times)
        if isinstance(expr, ast.Chain):  # a parenthesised sequence of layers
            return sum(self._stage(part, times) for part in (expr.head, *expr.stages))
        if isinstance(expr, ast.ListExpr) and len(expr.items) == 1:  # `[a -> b]`: one child
            return self._stage(expr.items[0], times)
        if isinstance(expr, ast.Binary) and expr.op == "*":
            for layer, count in ((expr.left, expr.right), (expr.right, expr.left)):
                if isinstance(count, ast.Int) and 1 <= count.value <= MAX_REPEAT:
                    return self._stage(layer, times * count.value)
            return 0
        if not isinstance(expr, ast.Name) or expr.id in self.local:
            return 0
        if lookup(expr.id) is not None:
            return times
        if expr.id in self.file.definitions:
            self.blocks[expr.id] = self.blocks.get(expr.id, 0) + times
            return times * self._block_least(expr.id)
        return 0

    def _block_least(self, name: str) -> int:
        definition = self.file.definitions[name]
        return self.workload.least(definition).layers if definition.kind == "block" else 0
