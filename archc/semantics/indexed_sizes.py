"""The sizes of a repeat's copies that read their index, as one expression of it.

`[linear(w * (i + 1))] * n` gives copy k a width of `w * (k + 1)`, so copy k after the first
takes `w * k`: the sizes its layers are built with follow the index too. Elaboration records
each copy's sizes with the literal index folded in (`w * 2`); this module derives, from the
same provenance, the expression every copy shares with the index left as
provenance.COPY_INDEX, so that a backend can write the copies as one loop over the count and
the caller sees the repeat's output sizes in terms of the count (`w * n`, not `w * 3`).

Nothing is matched by value. Each op the copy's body applies has its shape rule traced again,
given its arguments' shared provenance (Node.index_origins) and its inputs' shared sizes; a
block the body calls has the sizes its body gives moved out with the shared provenance of its
arguments and inputs. The first copy takes the repeat's input; a later copy takes the
previous copy's output, whose shared sizes are the previous copy's with the index one less.
The expressions of the second copy serve every later one where they close: traced again on
the second copy's own output moved back by one, they give themselves. Every copy made is then
checked to have exactly its own provenance at its index. Where any step fails, no copy
records shared sizes, and a backend lists the copies as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

from archc.ops import lookup
from archc.ops.spec import ShapeError
from archc.semantics import application
from archc.semantics import provenance as pv
from archc.semantics.ir import Module, Network, Node, Ref
from archc.semantics.values import Tensor

Sizes: TypeAlias = tuple[pv.Expr | None, ...]
_INDEX = pv.COPY_INDEX.name


@dataclass
class Made:
    """What one copy of a repeat made: the tensors it took and gave, and the nodes it added
    (ids ``first < id <= last``)."""

    inputs: list[Tensor]
    first: int
    last: int
    outputs: list[Tensor]


@dataclass
class _Walked:
    """A copy's sizes as the expression of the index: each tensor's, each op's resolved
    values (by node id) and each block call's input sizes (by module path)."""

    sizes: dict[Ref, Sizes] = field(default_factory=dict)
    resolved: dict[int, dict[str, pv.Expr]] = field(default_factory=dict)
    blocks: dict[str, tuple[Sizes | None, ...]] = field(default_factory=dict)


def share(network: Network, body: str, copies: list[Made], count: pv.Expr | None) -> list[Tensor]:
    """Records on each copy's nodes and block calls the sizes they share with the index left
    as COPY_INDEX (Node.index_resolved, Node.index_dims, Module.index_input_dims), where those
    read it and give every copy its own; ``body`` is the path of the instance whose body
    wrote the repeat. Gives the repeat's outputs, their sizes in terms of ``count`` where
    they follow the index."""
    outputs = copies[-1].outputs if copies else []
    if len(copies) < 2 or any(len(c.outputs) != len(c.inputs) for c in copies):
        return outputs

    def walk(made: Made, known: dict[Ref, Any]) -> _Walked | None:
        return _walk(network, body, made, known)

    first = walk(copies[0], {t.ref: t.dims for t in copies[0].inputs})
    if first is None:
        return outputs
    later = walk(copies[1], _given(copies[1], first.sizes.get))
    if later is None or not _reads_index_anywhere(later):
        return outputs  # nearly every repeat: no size follows the index
    # the next copy takes the second's output as the second took the first's
    after = {t.ref: u.ref for t, u in zip(copies[1].inputs, copies[1].outputs, strict=True)}
    again = walk(copies[1], _given(copies[1], lambda ref: later.sizes.get(after[ref])))
    if again is None or not _same_walk(again, later):
        return outputs
    shared = [first] + [_renamed(network, later, copies[1], c) for c in copies[1:]]
    if any(w is None for w in shared) or not all(
        _holds(network, w, made, k)  # type: ignore[arg-type]
        for k, (w, made) in enumerate(zip(shared, copies, strict=True))
    ):
        return outputs
    for walked in shared:
        _record(network, walked)  # type: ignore[arg-type]
    if count is None:
        return outputs
    last = shared[-1]
    assert last is not None
    return [_counted(t, last.sizes.get(t.ref), count) for t in outputs]


def _given(made: Made, previous: Callable[[Ref], Sizes | None]) -> dict[Ref, Any]:
    """The sizes of the tensors a later copy takes: the previous copy's, the index one
    back; a tensor the previous copy did not make keeps its own."""
    given: dict[Ref, Any] = {}
    for tensor in made.inputs:
        sizes = previous(tensor.ref)
        given[tensor.ref] = tensor.dims if sizes is None else _back(sizes)
    return given


def _back(sizes: Sizes) -> Sizes:
    return tuple(None if d is None else _at(d, pv.COPY_INDEX, 1) for d in sizes)


def _at(expr: pv.Expr, index: pv.Expr, less: int) -> pv.Expr:
    """``expr`` with the index ``index - less``, a number added to the index folded in
    (`w * (i + 1)` one back is `w * i`), so that the expression reads as written."""
    if expr == pv.COPY_INDEX:
        return _plus(index, -less)
    if not isinstance(expr, pv.Apply):
        return expr
    if expr.fn in ("+", "-") and len(expr.args) == 2:
        left, right = expr.args
        if left == pv.COPY_INDEX and isinstance(right, pv.Lit) and type(right.value) is int:
            return _plus(index, (right.value if expr.fn == "+" else -right.value) - less)
        number = isinstance(left, pv.Lit) and type(left.value) is int
        if expr.fn == "+" and right == pv.COPY_INDEX and number:
            return _plus(index, left.value - less)  # type: ignore[union-attr]
    return pv.apply(expr.fn, *(_at(a, index, less) for a in expr.args))


def _plus(index: pv.Expr, number: int) -> pv.Expr:
    if number == 0:
        return index
    if number > 0:
        return pv.apply("+", index, pv.Lit(number))
    return pv.apply("-", index, pv.Lit(-number))


def _walk(network: Network, body: str, made: Made, known: dict[Ref, Any]) -> _Walked | None:
    """The sizes of what ``made`` holds, given those of the tensors it takes (``known``)."""
    walked = _Walked(dict(known))
    for node_id in range(made.first + 1, made.last + 1):
        node = network.node(node_id)
        owner = _child_block(network, node.scope, body)
        if owner is None:
            if not _op(network, node, walked):
                return None
        elif owner.path not in walked.blocks and not _block(network, owner, walked):
            return None
    return walked


def _child_block(network: Network, scope: str, body: str) -> Module | None:
    """The block call in the body at ``body`` that holds ``scope``; None for the body's own."""
    found = None
    path = scope
    while path != body and path:
        module = network.modules.get(path)
        if module is not None and module.kind == "block":
            found = module
        path = path.rpartition(".")[0]
    return found


def _op(network: Network, node: Node, walked: _Walked) -> bool:
    op = lookup(node.op)
    if op is None:
        return False
    tensors = []
    for ref in node.inputs:
        if ref not in walked.sizes:
            return False  # a tensor from outside the chain of copies
        tensors.append(Tensor(ref, network.type_of(ref), node.span, walked.sizes[ref]))
    origins = {**node.arg_origins, **node.index_origins}
    try:
        _, dims, resolved = application.run_rule(op, node.args, origins, tensors)
    except (ShapeError, ArithmeticError, TypeError, ValueError):
        return False
    walked.resolved[node.id] = {k: pv.simplify(e) for k, e in resolved.items()}
    for port, sizes in enumerate(dims):
        walked.sizes[Ref(node.id, port)] = tuple(
            None if d is None else pv.simplify(d) for d in sizes
        )
    return True


def _block(network: Network, module: Module, walked: _Walked) -> bool:
    """A block call's input sizes, and the sizes its body gives moved out with its
    arguments' and inputs' shared provenance."""
    if any(ref not in walked.sizes for ref in module.inputs):
        return False
    given = tuple(walked.sizes[ref] for ref in module.inputs)
    walked.blocks[module.path] = given
    arguments = {**module.arg_origins, **module.index_origins}

    def size(name: str, axis: int) -> pv.Expr | None:
        if name not in module.input_names:
            return None
        sizes = given[module.input_names.index(name)]
        return sizes[axis] if sizes is not None and axis < len(sizes) else None

    for ref in module.outputs:
        if ref in module.inputs:
            continue  # given back as it was taken
        node = network.node(ref.node)
        inner = network.instance_of(node).path
        sizes: list[pv.Expr | None] = []
        for d in node.dims[ref.port] if ref.port < len(node.dims) else ():
            own = None if d is None else network.lift(d, inner, module.path)
            moved = None if own is None else pv.substitute(own, arguments, size)
            sizes.append(None if moved is None else pv.simplify(moved))
        walked.sizes[ref] = tuple(sizes)
    return True


def _same_walk(a: _Walked, b: _Walked) -> bool:
    return (
        _same_map(a.resolved, b.resolved)
        and _same_map(a.blocks, b.blocks)
        and _same_map(a.sizes, b.sizes)
    )


def _same_map(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def _same(a: Any, b: Any) -> bool:
    """Whether two shared values are equal for every index and parameter."""
    if isinstance(a, dict):
        return isinstance(b, dict) and _same_map(a, b)
    if isinstance(a, tuple) and not isinstance(a, pv.Apply):
        return (
            isinstance(b, tuple)
            and not isinstance(b, pv.Apply)
            and len(a) == len(b)
            and all(map(_same, a, b))
        )
    if a is None or b is None:
        return a is b
    return pv.written_alike(a, b) or pv.equal_for_all_values(a, b)


def _renamed(network: Network, walked: _Walked, model: Made, made: Made) -> _Walked | None:
    """The second copy's shared sizes (``walked``, of ``model``) given to the nodes, tensors
    and block calls of the later copy ``made`` at the same places; None where it made
    others."""
    size = made.last - made.first
    if size != model.last - model.first:
        return None
    shift = made.first - model.first
    moved = _Walked()
    for ref, sizes in walked.sizes.items():
        own = ref.node > model.first and ref.node <= model.last
        moved.sizes[Ref(ref.node + shift, ref.port) if own else ref] = sizes
    for node_id, resolved in walked.resolved.items():
        if network.node(node_id + shift).op != network.node(node_id).op:
            return None
        moved.resolved[node_id + shift] = resolved
    for path, given in walked.blocks.items():
        other = _same_place(network, path, model, made)
        if other is None:
            return None
        moved.blocks[other] = given
    moved.sizes = {r: s for r, s in moved.sizes.items() if made.first < r.node <= made.last}
    return moved


def _same_place(network: Network, path: str, model: Made, made: Made) -> str | None:
    """The path, in ``made``, of the block call at ``path`` in ``model``: the one whose
    nodes are at the same places."""
    module = network.modules[path]
    nodes = [r.node for r in module.outputs if model.first < r.node <= model.last]
    if not nodes:
        return None
    shift = made.first - model.first
    node = network.node(nodes[0] + shift)
    within = network.node(nodes[0]).path[len(path) :]
    if not node.path.endswith(within):
        return None
    return node.path[: len(node.path) - len(within)]


def _holds(network: Network, walked: _Walked, made: Made, index: int) -> bool:
    """Whether the shared sizes give exactly the copy's own provenance at its ``index``: its
    ops', its block calls' and its outputs'."""
    at = pv.Lit(index)

    def own(expr: pv.Expr | None, recorded: pv.Expr | None) -> bool:
        if expr is None or recorded is None:
            return expr is recorded
        bound = pv.bound(expr, _INDEX, at)
        return pv.written_alike(bound, recorded) or pv.equal_for_all_values(bound, recorded)

    for node_id, resolved in walked.resolved.items():
        node = network.node(node_id)
        if resolved.keys() != node.resolved_origins.keys() or not all(
            own(e, node.resolved_origins[k]) for k, e in resolved.items()
        ):
            return False
        for port, recorded in enumerate(node.dims):
            sizes = walked.sizes.get(Ref(node_id, port))
            if sizes is None or len(sizes) != len(recorded):
                return False
            if not all(map(own, sizes, recorded)):
                return False
    for path, given in walked.blocks.items():
        recorded_inputs = network.modules[path].input_dims
        if len(given) != len(recorded_inputs):
            return False
        for sizes, recorded in zip(given, recorded_inputs, strict=True):
            if sizes is None or recorded is None:
                if sizes is not recorded:
                    return False
            elif len(sizes) != len(recorded) or not all(map(own, sizes, recorded)):
                return False
    for tensor in made.outputs:
        sizes = walked.sizes.get(tensor.ref)
        if sizes is None or tensor.dims is None or len(sizes) != len(tensor.dims):
            return False
        if not all(map(own, sizes, tensor.dims)):
            return False
    return True


def _reads_index(expr: pv.Expr | None) -> bool:
    return expr is not None and _INDEX in pv.reads(expr)


def _reads_index_anywhere(walked: _Walked) -> bool:
    return any(_reads_index(e) for r in walked.resolved.values() for e in r.values()) or any(
        _reads_index(d) for s in walked.sizes.values() for d in s
    )


def _record(network: Network, walked: _Walked) -> None:
    for node_id, resolved in walked.resolved.items():
        node = network.node(node_id)
        node.index_resolved = {k: e for k, e in resolved.items() if _reads_index(e)}
        dims = tuple(walked.sizes[Ref(node_id, p)] for p in range(len(node.dims)))
        if any(_reads_index(d) for sizes in dims for d in sizes):
            node.index_dims = dims
    for path, given in walked.blocks.items():
        if any(_reads_index(d) for sizes in given if sizes is not None for d in sizes):
            network.modules[path].index_input_dims = given


def _counted(tensor: Tensor, sizes: Sizes | None, count: pv.Expr) -> Tensor:
    """The repeat's output ``tensor``, its sizes that follow the index in terms of the
    count: the last copy's, whose index is one less than the count."""
    if sizes is None or tensor.dims is None or not any(map(_reads_index, sizes)):
        return tensor
    dims = tuple(
        own if not _reads_index(d) else _at(d, count, 1)  # type: ignore[arg-type]
        for d, own in zip(sizes, tensor.dims, strict=True)
    )
    return replace(tensor, dims=dims)
