"""The generated network's `reset_parameters` and `init_module`: the spec's `init` rules.

Each rule becomes one `if` in `init_module`, in the order the rules apply, so a later rule
overrides an earlier one exactly as in the spec. A rule over every layer of a kind reads as
torchvision writes it (`isinstance(module, nn.Conv2d)`); a glob reads as the spec wrote it
(`fnmatch.fnmatchcase(name, "h.*.mlp.*")`) where it picks the same layers among the module's;
any other rule names its layers. A scheme's arguments are written from their provenance, so
`normal(std=0.02 / sqrt(2 * layers))` stays an expression of the network's `layers`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from archc.backends.torch.helpers import derives_from
from archc.ops import lookup
from archc.ops.schema import Symbolic
from archc.ops.spec import HELD
from archc.pysource.exprs import literal, string
from archc.pysource.layout import INDENT, Arg, Call, lay_out
from archc.semantics import provenance as pv
from archc.semantics.inits import Assignment, Scheme
from archc.semantics.ir import Network, Node, join_path

# Python for a provenance in `init_module` (emit.ClassWriter.stored), None where it has none.
Stored = Callable[[pv.Expr], "str | None"]


def init_functions(network: Network) -> dict[str, str]:
    """Module-level functions the rules call (schemes torch lacks), by name."""
    return {
        name: source
        for assignment in network.inits
        for name, source in assignment.scheme.scheme.helpers.items()
    }


def init_methods(
    network: Network | None, own: list[str], stored: Stored, imports: set[str]
) -> list[str]:
    """The lines of ``reset_parameters`` and ``init_module`` (empty when there is nothing to
    initialise): ``network`` is given for a network's class, whose `init` rules they apply;
    ``own`` initialises the tensors the class holds itself; the modules the lines use are
    added to ``imports``."""
    rules = network.inits if network is not None else []
    if not rules and not own:
        return []
    what = "the tensors this module holds" if not rules else "the weights"
    lines = [
        "",
        f"{INDENT}def reset_parameters(self) -> None:",
        f'{INDENT * 2}"""Initialise {what} as the spec says."""',
        *(f"{INDENT * 2}{statement}" for statement in own),
    ]
    if network is None or not rules:
        return lines
    lines += [
        f"{INDENT * 2}for name, module in self.named_modules():",
        f"{INDENT * 3}self.init_module(name, module)",
        "",
        f"{INDENT}def init_module(self, name: str, module: nn.Module) -> None:",
        f'{INDENT * 2}"""The `init` rules for the submodule `name`; others keep PyTorch\'s."""',
    ]
    previous: str | Call | None = None
    said: set[tuple[str, ...]] = set()  # the statements under the last `if`
    groups = _groups(rules)
    classes = _Classes(network)
    globs = [_module_glob(network, group, groups, classes) for group in groups]
    # the tensors each group sets in the turn of the module that holds them
    direct = [
        {_key(network, a) for a in group} if glob is not None and glob[1] else set()
        for group, glob in zip(groups, globs, strict=True)
    ]
    for index, group in enumerate(groups):
        if "." not in group[0].parameter:
            direct[index] = {_key(network, a) for a in group}
    for index, (group, glob) in enumerate(zip(groups, globs, strict=True)):
        later = set().union(*direct[index + 1 :])
        condition = glob[0] if glob is not None else _condition(network, group, later, classes)
        if isinstance(condition, str) and condition.startswith("fnmatch."):
            imports.add("fnmatch")
        if condition != previous:  # one `if` for consecutive rules on the same layers
            lines += lay_out(INDENT * 2, "if ", condition, ":")
            previous, said = condition, set()
        first = group[0]
        scheme = first.scheme

        def write(value: Any) -> str:
            return _written(value, stored)

        args = _traced_args(network, scheme, first.rule.scope)
        target = _target(first, inner=glob is not None and glob[1])
        statements = (
            *lay_out(INDENT * 3, "", scheme.scheme.call(args, target, write)),
            *_zero_rows(group, target),
        )
        if statements not in said:  # the modules a glob picks inside layers, for each tensor
            lines += statements
            said.add(statements)
    return lines


def _zero_rows(group: list[Assignment], target: str) -> list[str]:
    """The statements that zero again the rows of the tensor ``target`` that its module keeps
    zero (`Inferred.resolved["zero_rows"]`: an embedding's padding row), as PyTorch's own
    initialisation and Hugging Face's do after drawing the others. The row is read off the
    module, which holds none for other arguments or for other modules the rule's test picks."""
    attributes = sorted(
        {
            kept[assignment.parameter][0]
            for assignment in group
            if assignment.parameter in (kept := assignment.node.resolved.get("zero_rows", {}))
        }
    )
    owner = target.rpartition(".")[0]
    lines = []
    for attribute in attributes:
        row = f"{owner}.{attribute}"
        lines += [
            f"{INDENT * 3}if {row} is not None:",
            f"{INDENT * 4}nn.init.zeros_({target}[{row}])",
        ]
    return lines


def _target(assignment: Assignment, inner: bool) -> str:
    """The tensor a rule sets, an attribute of `module`: a tensor the module holds itself
    (`parameter`) is named by the last part of its layer's path, and one the test picked the
    module inside a layer for by the last part of its name."""
    if assignment.parameter == HELD:
        return f"module.{assignment.node.path.rpartition('.')[2]}"
    if inner:
        return f"module.{assignment.parameter.rpartition('.')[2]}"
    return f"module.{assignment.parameter}"


def _traced_args(network: Network, scheme: Scheme, scope: str) -> Any:
    """A scheme's arguments with their provenance in the network's terms, for
    :meth:`archc.ops.spec.Args.changed` and :func:`_written`."""
    symbolic: dict[str, pv.Expr] = {}
    for name, origin in scheme.origins.items():
        lifted = None if isinstance(origin, pv.Lit) else network.lift(origin, scope)
        if lifted is not None and not isinstance(lifted, pv.Lit):
            symbolic[name] = lifted
    if not symbolic:
        return scheme.args
    updates = {k: pv.traced(getattr(scheme.args, k), o, every=True) for k, o in symbolic.items()}
    return scheme.args.with_symbolic(updates, symbolic)


def _written(value: Any, stored: Stored) -> str:
    """A scheme argument as Python: from its provenance, or its literal."""
    origin = value.origin if isinstance(value, Symbolic) else pv.origin_of(value)
    if origin is not None and not isinstance(origin, pv.Lit):
        text = stored(origin)
        if text is not None:
            return text
    return literal(pv.untraced(value.value if isinstance(value, Symbolic) else value))


def _groups(assignments: list[Assignment]) -> list[list[Assignment]]:
    """Assignments of one rule to one parameter with one scheme, in the order they apply."""
    groups: dict[tuple[int, str, int], list[Assignment]] = {}
    for assignment in assignments:
        key = (id(assignment.rule), assignment.parameter, id(assignment.scheme))
        groups.setdefault(key, []).append(assignment)
    return list(groups.values())


def _key(network: Network, assignment: Assignment) -> str:
    """The state_dict key of the tensor an assignment sets."""
    return join_path(network.weights_path(assignment.node.path), assignment.parameter)


def _condition(
    network: Network, group: list[Assignment], later: set[str], classes: _Classes
) -> str | Call:
    """The test on `name` and `module` that picks the group's layers: exactly those, except
    for tensors a later rule sets again in the turn of the module that holds them (``later``,
    by state_dict key)."""
    nodes = [a.node for a in group]
    rule = group[0].rule
    if group[0].parameter == HELD:  # the modules that hold the tensors
        owners = sorted({n.path.rpartition(".")[0] for n in nodes})
        if len(owners) == 1:
            return f"name == {string(owners[0])}"
        return Call("name in ", tuple(Arg(string(owner)) for owner in owners))
    kind = classes[nodes[0].id]
    parameter = group[0].parameter
    chosen = {n.id for n in nodes}
    lacking = [n for n in network.nodes() if n.id not in chosen and classes.is_a(n, kind)]
    if (
        rule.target.op is not None
        and kind is not None
        and all(classes.is_a(n, kind) for n in nodes)
        and all(parameter not in n.params and _absent_as_none(n, parameter) for n in lacking)
    ):
        test = f"isinstance(module, {kind})"
        if lacking:  # layers of the kind built without the tensor: nn.Linear(bias=False)
            test += f" and module.{parameter} is not None"
        others = _also_picked(network, nodes, kind, parameter, later)
        if not others:
            return test
        suffixes = sorted({f".{path.rpartition('.')[2]}" for path in others})
        if all("." in path for path in others) and not any(
            n.path.endswith(suffix) for n in nodes for suffix in suffixes
        ):
            ends: str | Call = string(suffixes[0])
            if len(suffixes) > 1:
                ends = Call("", tuple(Arg(string(s)) for s in suffixes), hug=False)
            return Call(f"{test} and not name.endswith", (Arg(ends),))
    if len(nodes) == 1:
        return f"name == {string(nodes[0].path)}"
    return Call("name in ", tuple(Arg(string(n.path)) for n in nodes))


class _Classes(dict[int, "str | None"]):
    """The class of each layer's module, by node id, worked out once: every rule's test asks
    it of every layer."""

    def __init__(self, network: Network) -> None:
        super().__init__()
        self.network = network

    def __missing__(self, node_id: int) -> str | None:
        self[node_id] = found = _torch_class(self.network.node(node_id))
        return found

    def is_a(self, node: Node, kind: str | None) -> bool:
        """Whether ``node``'s module is an instance of the class ``kind``."""
        class_ = self[node.id]
        return kind is not None and class_ is not None and derives_from(class_, kind)


def _absent_as_none(node: Node, parameter: str) -> bool:
    op = lookup(node.op)
    return op is not None and parameter in op.absent_as_none


def _also_picked(
    network: Network, nodes: list[Node], kind: str, parameter: str, later: set[str]
) -> list[str]:
    """The modules other layers hold inside themselves (an attention's `out_proj`) that
    `isinstance(module, kind)` picks and whose ``parameter`` no later rule sets again in their
    own turn. A rule that reaches a module inside a layer through the layer
    (`module.out_proj.weight`) runs in the layer's turn, before the inner module's, so it
    cannot undo what a test on the inner module sets."""
    chosen = {network.weights_path(n.path) for n in nodes}
    picked = []
    for node in network.holders():
        if node.kind != "op" or node.path in chosen:
            continue
        for owner, class_ in _submodules(node).items():
            if derives_from(class_, kind):
                key = join_path(owner, parameter)
                if key not in node.params or join_path(node.path, key) not in later:
                    picked.append(join_path(node.path, owner))
    return picked


def _submodules(node: Node) -> dict[str, str]:
    from archc.backends.torch.structure import inferred_of

    op = lookup(node.op)
    return op.torch_submodules(node.args, inferred_of(node)) if op else {}


def _torch_class(node: Node) -> str | None:
    from archc.backends.torch.structure import inferred_of

    op = lookup(node.op)
    ctor = op.torch_module(node.args, inferred_of(node)) if op else None
    return ctor.path if ctor is not None else None


def _module_glob(
    network: Network, group: list[Assignment], groups: list[list[Assignment]], classes: _Classes
) -> tuple[str, bool] | None:
    """The rule's glob as a condition on module names (and, where the glob alone would pick
    other modules too, their class), where it picks exactly the modules that hold the group's
    tensors, and whether those are modules inside the layers (an attention's `out_proj`, for
    `"h.*.attn.out_proj.weight"`); else where it picks exactly the group's layers; None
    otherwise. The glob is tried cut at each dot, from the right (`"h.*.attn.*weight"` names
    the layers `"h.*.attn"`)."""
    rule = group[0].rule
    parameter = group[0].parameter
    if rule.target.glob is None or parameter == HELD:
        return None
    glob = join_path(rule.scope, rule.target.glob)
    cuts = [glob[:i] for i in range(len(glob) - 1, 0, -1) if glob[i] == "."]
    owner, _, name = parameter.rpartition(".")
    if owner:
        # the rule's tensors of this name in every module it picks inside the layers
        holders = {
            join_path(network.weights_path(a.node.path), a.parameter.rpartition(".")[0])
            for other in groups
            if other[0].rule is rule and other[0].scheme is group[0].scheme
            for a in other
            if a.parameter.rpartition(".")[2] == name and "." in a.parameter
        }
        for pattern in cuts:
            if _matching(network, pattern) == holders:
                return _named(pattern), True
    for pattern in cuts:
        condition = _picking(network, group, pattern, classes)
        if condition is not None:
            return condition, False
    return None


def _matching(network: Network, pattern: str) -> set[str]:
    """Every module of the network's class whose name ``pattern`` matches: layers, the
    modules they hold inside themselves, and containers."""
    ops = [n for n in network.holders() if n.kind == "op"]
    inner = {join_path(n.path, path) for n in ops for path in _submodules(n)}
    paths = {n.path for n in ops} | inner | set(network.modules)
    return {path for path in paths if fnmatch.fnmatchcase(path, pattern)}


def _named(pattern: str) -> str:
    if not any(c in pattern for c in "*?["):  # a cut that names one module
        return f"name == {string(pattern)}"
    return f"fnmatch.fnmatchcase(name, {string(pattern)})"


def _picking(
    network: Network, group: list[Assignment], pattern: str, classes: _Classes
) -> str | None:
    """A condition that ``pattern`` over module names makes, picking the group's layers and
    no other module, or None."""
    ops = [n for n in network.nodes() if n.kind == "op"]
    # modules inside a layer's own module (an attention's out_proj): the group's tensors are
    # set through the layers
    inner = {join_path(n.path, path) for n in ops for path in _submodules(n)}
    if any(fnmatch.fnmatchcase(path, pattern) for path in inner):
        return None
    wanted = {a.node.path for a in group}
    matched = [n for n in ops if fnmatch.fnmatchcase(n.path, pattern)]
    containers = [path for path in network.modules if fnmatch.fnmatchcase(path, pattern)]
    condition = _named(pattern)
    if {n.path for n in matched} == wanted and not containers:
        return condition
    kind = classes[group[0].node.id]
    if kind is None or {n.path for n in matched if classes.is_a(n, kind)} != wanted:
        return None
    return f"{condition} and isinstance(module, {kind})"
