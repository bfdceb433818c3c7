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
    for group in _groups(rules):
        condition = _condition(network, group, imports)
        if condition != previous:  # one `if` for consecutive rules on the same layers
            lines += lay_out(INDENT * 2, "if ", condition, ":")
            previous = condition
        first = group[0]
        scheme = first.scheme

        def write(value: Any) -> str:
            return _written(value, stored)

        args = _traced_args(network, scheme, first.rule.scope)
        statement = scheme.scheme.call(args, _target(first), write)
        lines += lay_out(INDENT * 3, "", statement)
    return lines


def _target(assignment: Assignment) -> str:
    """The tensor a rule sets, an attribute of `module`: a tensor the module holds itself
    (`parameter`) is named by the last part of its layer's path."""
    if assignment.parameter == HELD:
        return f"module.{assignment.node.path.rpartition('.')[2]}"
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


def _condition(network: Network, group: list[Assignment], imports: set[str]) -> str | Call:
    nodes = [a.node for a in group]
    rule = group[0].rule
    if group[0].parameter == HELD:  # the modules that hold the tensors
        owners = sorted({n.path.rpartition(".")[0] for n in nodes})
        if len(owners) == 1:
            return f"name == {string(owners[0])}"
        return Call("name in ", tuple(Arg(string(owner)) for owner in owners))
    glob = _module_glob(network, group)
    if glob is not None:
        imports.add("fnmatch")
        return glob
    kind = _torch_class(nodes[0])
    if (
        rule.target.op is not None
        and kind is not None
        and {n.id for n in network.nodes() if _torch_class(n) == kind} == {n.id for n in nodes}
        and not _inner_module_lacks(network, nodes, group[0].parameter)
    ):
        return f"isinstance(module, {kind})"
    if len(nodes) == 1:
        return f"name == {string(nodes[0].path)}"
    return Call("name in ", tuple(Arg(string(n.path)) for n in nodes))


def _inner_module_lacks(network: Network, nodes: list[Node], parameter: str) -> bool:
    """Whether a layer other than ``nodes`` holds a module of its own (a mixture of experts'
    `gate`, an attention's `q_proj` built without a bias) that lacks ``parameter``: its class
    is unknown, so an `isinstance` test could pick it and find nothing to set."""
    chosen = {n.id for n in nodes}
    for node in network.nodes():
        if node.kind != "op" or node.id in chosen:
            continue
        inner = {p.rpartition(".")[0] for p in node.params if "." in p}
        if any(f"{module}.{parameter}" not in node.params for module in inner):
            return True
    return False


def _torch_class(node: Node) -> str | None:
    from archc.backends.torch.structure import inferred_of

    op = lookup(node.op)
    ctor = op.torch_module(node.args, inferred_of(node)) if op else None
    return ctor.path if ctor is not None else None


def _module_glob(network: Network, group: list[Assignment]) -> str | None:
    """The rule's glob as a condition on module names (and, where the glob alone would pick
    other modules too, their class), where it picks exactly the group's layers among every
    module the network's class holds; None otherwise."""
    rule = group[0].rule
    if rule.target.glob is None:
        return None
    glob = join_path(rule.scope, rule.target.glob)
    suffix = f".{group[0].parameter}"
    pattern = glob.removesuffix(suffix) if glob.endswith(suffix) else glob
    ops = [n for n in network.nodes() if n.kind == "op"]
    # modules inside a layer's own module (an attention's out_proj), whose class is unknown
    inner = {join_path(n.path, p.rpartition(".")[0]) for n in ops for p in n.params if "." in p}
    if any(fnmatch.fnmatchcase(path, pattern) for path in inner):
        return None
    wanted = {a.node.path for a in group}
    matched = [n for n in ops if fnmatch.fnmatchcase(n.path, pattern)]
    containers = [path for path in network.modules if fnmatch.fnmatchcase(path, pattern)]
    condition = f"fnmatch.fnmatchcase(name, {string(pattern)})"
    if {n.path for n in matched} == wanted and not containers:
        return condition
    kind = _torch_class(group[0].node)
    if kind is None or {n.path for n in matched if _torch_class(n) == kind} != wanted:
        return None
    return f"{condition} and isinstance(module, {kind})"
