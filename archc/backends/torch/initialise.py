"""The generated network's `reset_parameters` and `init_module`: the spec's `init` rules.

Each rule becomes one `if` in `init_module`, in the order the rules apply, so a later rule
overrides an earlier one exactly as in the spec. A rule over every layer of a kind reads as
torchvision writes it (`isinstance(module, nn.Conv2d)`); any other rule names its layers.
"""

from __future__ import annotations

from archc.ops import lookup
from archc.pysource.layout import INDENT, Arg, Call, lay_out
from archc.semantics.inits import Assignment
from archc.semantics.ir import Network, Node
from archc.syntax import ast


def init_functions(network: Network) -> dict[str, str]:
    """Module-level functions the rules call (schemes torch lacks), by name."""
    return {
        name: source
        for assignment in network.inits
        for name, source in assignment.scheme.scheme.helpers.items()
    }


def init_methods(network: Network | None, own: list[str]) -> list[str]:
    """The lines of ``reset_parameters`` and ``init_module`` (empty when there is nothing to
    initialise): ``network`` is given for a network's class, whose `init` rules they apply;
    ``own`` initialises the tensors the class holds itself."""
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
        condition = _condition(network, group)
        if condition != previous:  # one `if` for consecutive rules on the same layers
            lines += lay_out(INDENT * 2, "if ", condition, ":")
            previous = condition
        first = group[0]
        statement = first.scheme.scheme.call(first.scheme.args, f"module.{first.parameter}")
        lines += lay_out(INDENT * 3, "", statement)
    return lines


def _groups(assignments: list[Assignment]) -> list[list[Assignment]]:
    """Assignments of one rule to one parameter with one scheme, in the order they apply."""
    groups: dict[tuple[int, str, int], list[Assignment]] = {}
    for assignment in assignments:
        key = (id(assignment.rule), assignment.parameter, id(assignment.scheme))
        groups.setdefault(key, []).append(assignment)
    return list(groups.values())


def _condition(network: Network, group: list[Assignment]) -> str | Call:
    nodes = [a.node for a in group]
    rule = group[0].rule
    kind = _torch_class(nodes[0])
    if (
        isinstance(rule.target, ast.Path)
        and lookup(rule.target.parts[0]) is not None
        and kind is not None
        and {n.id for n in network.nodes() if _torch_class(n) == kind} == {n.id for n in nodes}
    ):
        return f"isinstance(module, {kind})"
    if len(nodes) == 1:
        return f'name == "{nodes[0].path}"'
    return Call("name in ", tuple(Arg(f'"{n.path}"') for n in nodes))


def _torch_class(node: Node) -> str | None:
    from archc.backends.torch.emit import inferred_of

    op = lookup(node.op)
    ctor = op.torch_module(node.args, inferred_of(node)) if op else None
    return ctor.path if ctor is not None else None
