"""The generated network's `reset_parameters` and `init_module`: the spec's `init` rules.

Each rule becomes one `if` in `init_module`, in the order the rules apply, so a later rule
overrides an earlier one exactly as in the spec; `init_reach.py` decides each `if`'s test.
Under it, the rule's scheme sets the tensor, its arguments written from their provenance, so
`normal(std=0.02 / sqrt(2 * layers))` stays an expression of the network's `layers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archc.backends.torch.init_reach import rule_tests
from archc.ops.schema import Symbolic
from archc.ops.spec import HELD
from archc.pysource.exprs import literal
from archc.pysource.layout import INDENT, Node, lay_out
from archc.semantics import provenance as pv
from archc.semantics.inits import Assignment, Scheme
from archc.semantics.ir import Network

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
    previous: Node | None = None
    said: set[tuple[str, ...]] = set()  # the statements under the last `if`
    for group, condition, inner in rule_tests(network):
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
        target = _target(first, inner)
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
        lifted = None if pv.is_number(origin) else network.lift(origin, scope)
        if lifted is not None and not pv.is_number(lifted):
            symbolic[name] = lifted
    if not symbolic:
        return scheme.args
    updates = {k: pv.traced(getattr(scheme.args, k), o, every=True) for k, o in symbolic.items()}
    return scheme.args.with_symbolic(updates, symbolic)


def _written(value: Any, stored: Stored) -> str:
    """A scheme argument as Python: from its provenance, or its literal."""
    origin = value.origin if isinstance(value, Symbolic) else pv.origin_of(value)
    if origin is not None and not pv.is_number(origin):
        text = stored(origin)
        if text is not None:
            return text
    return literal(pv.untraced(value.value if isinstance(value, Symbolic) else value))
