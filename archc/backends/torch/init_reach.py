"""Which modules each `init` rule reaches: the test on `name` and `module` that picks them.

`init_module` runs once per submodule, so each rule becomes a test that picks exactly the
modules holding the tensors the rule sets. A rule over every layer of a kind is a class test
(`isinstance(module, nn.Conv2d)`), excluding modules inside other layers that a later rule
sets again; a glob is tested on module names (`fnmatch.fnmatchcase(name, "h.*.mlp.*")`) where
it picks the same modules, cut at a dot where the rule names a tensor inside them; any other
rule names its layers. The class of each layer's module is worked out once per network.
"""

from __future__ import annotations

import fnmatch
from typing import NamedTuple

from archc.backends.torch.helpers import derives_from
from archc.ops import lookup
from archc.ops.spec import HELD
from archc.pysource import layout
from archc.pysource.exprs import string
from archc.pysource.layout import Arg, Call, Operation
from archc.semantics.inits import Assignment
from archc.semantics.ir import Network, Node, join_path


class RuleTest(NamedTuple):
    """The test that picks the modules holding one group's tensors."""

    group: list[Assignment]  # one rule, one tensor name, one scheme, in the order they apply
    condition: layout.Node
    inner: bool  # the test picks modules inside the layers, named by the tensor's last part


def rule_tests(network: Network) -> list[RuleTest]:
    """The network's `init` rules as tests, in the order they apply."""
    groups = _groups(network.inits)
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
    tests = []
    for index, (group, glob) in enumerate(zip(groups, globs, strict=True)):
        if glob is not None:
            tests.append(RuleTest(group, *glob))
            continue
        later = set().union(*direct[index + 1 :])
        tests.append(RuleTest(group, _condition(network, group, later, classes), False))
    return tests


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


def _all(tests: list[str | Call]) -> layout.Node:
    """The tests joined by `and`."""
    return tests[0] if len(tests) == 1 else Operation(tuple(tests), ("and",) * (len(tests) - 1))


def _condition(
    network: Network, group: list[Assignment], later: set[str], classes: _Classes
) -> layout.Node:
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
        tests: list[str | Call] = [f"isinstance(module, {kind})"]
        if lacking:  # layers of the kind built without the tensor: nn.Linear(bias=False)
            tests.append(f"module.{parameter} is not None")
        others = _also_picked(network, nodes, kind, parameter, later)
        if not others:
            return _all(tests)
        suffixes = sorted({f".{path.rpartition('.')[2]}" for path in others})
        if all("." in path for path in others) and not any(
            n.path.endswith(suffix) for n in nodes for suffix in suffixes
        ):
            ends: str | Call = string(suffixes[0])
            if len(suffixes) > 1:
                ends = Call("", tuple(Arg(string(s)) for s in suffixes), hug=False)
            return _all([*tests, Call("not name.endswith", (Arg(ends),))])
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
