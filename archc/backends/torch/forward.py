"""The ``forward`` method of a generated class: one statement per layer or child module.

Variables follow the spec: a value the spec named keeps its name, and the layers leading to it
in a chain use that name too (``y = self.conv1(x)``, ``y = self.bn1(y)``). Otherwise a chain
rebinds its input's variable once that input is no longer needed, and starts a fresh ``out``
where the input is still needed later (a skip connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archc import dims
from archc.backends.torch.naming import RESERVED, identifier
from archc.backends.torch.stateless import forward_template
from archc.backends.torch.structure import Item, is_chain, relative, scope_items
from archc.pysource.layout import INDENT, LINE_LENGTH, Arg, Call, lay_out, structure
from archc.semantics.ir import Module, Network, Node, Ref

if TYPE_CHECKING:
    from archc.backends.torch.emit import ClassWriter


@dataclass
class Step:
    item: Item
    access: str  # how forward reaches the module: `self.conv1`, `self.stage[0]`


def steps(network: Network, path: str) -> list[Step]:
    """Forward statements of the scope at ``path``, in the order the spec computes them.

    A child block or a chain container is one call. The layers of any other container (the
    parts of a dense block, say) are called one by one, in order with the layers around them.
    """
    found: list[Step] = []
    seen: set[str] = set()
    chains: dict[str, bool] = {}  # asked for every layer inside: a repeat of 48 blocks has 700
    for node in network.within(path):
        if node.kind == "input":
            continue
        access, scope = "self", path
        for attr in relative(node.path, path).split("."):
            key = f"{scope}.{attr}" if scope else attr
            module = network.modules.get(key)
            member = _member(access, attr, _container(network, scope) if scope != path else None)
            if module is not None and key not in chains:
                chains[key] = is_chain(network, module)
            if module is None or module.kind == "block" or chains[key]:
                if key not in seen:
                    seen.add(key)
                    found.append(Step(_item(network, attr, node, module), member))
                break
            access, scope = member, key
    return found


def _container(network: Network, path: str) -> str:
    """How the emitter holds a container that is not a chain: a list unless a child is named."""
    named = any(not item.attr.isdigit() for item in scope_items(network, path))
    return "dict" if named else "list"


def _item(network: Network, attr: str, node: Node, module: Module | None) -> Item:
    if module is not None:
        return Item(attr, module=module, inputs=module.inputs, outputs=module.outputs)
    outputs = tuple(Ref(node.id, port) for port in range(len(node.outputs)))
    return Item(attr, node=node, inputs=node.inputs, outputs=outputs)


def _member(access: str, attr: str, container: str | None) -> str:
    """`self.attr`, `self.stage[0]` (an nn.ModuleList) or `self.stage["conv"]` (a ModuleDict)."""
    if container is None:
        return f"{access}.{attr}"
    return f"{access}[{attr}]" if container == "list" else f'{access}["{attr}"]'


def forward_lines(writer: ClassWriter) -> list[str]:
    per_instance = [steps(n, m.path) for n, m in writer.info.instances]
    ours = per_instance[0]
    network, module = writer.network, writer.module
    names = _Variables(writer.input_names)
    wanted = _wanted_names(network, module.path, ours, module.outputs)
    remaining = _uses(ours, module.outputs)
    variables: dict[Ref, str] = {}
    for name, ref in zip(writer.input_names, module.inputs, strict=True):
        variables[ref] = names.bind(name, ref)
    body: list[str] = []
    for position, step in enumerate(ours):
        inputs = [variables[ref] for ref in step.item.inputs]
        for ref in step.item.inputs:
            remaining[ref] -= 1
        outs = []
        for ref in step.item.outputs:
            wishes = [wanted.get(ref)]
            if len(step.item.inputs) == 1 and remaining[step.item.inputs[0]] == 0:
                wishes.append(inputs[0])
            outs.append(names.choose(wishes, ref, remaining))
            variables[ref] = outs[-1]
        head, expression = f"{', '.join(outs)} = ", _expression(step, inputs, writer)
        comment = _shape_comment(
            [p[position] for p in per_instance], [n for n, _ in writer.info.instances]
        )
        line = f"{INDENT * 2}{head}{expression}"
        if len(line) > LINE_LENGTH:  # wrapped as ruff wraps it, without its comment
            body += lay_out(INDENT * 2, head, structure(expression))
            continue
        if comment and len(line) + len(comment) + 2 <= LINE_LENGTH:
            line += f"  {comment}"
        body.append(line)
    results = [variables[ref] for ref in module.outputs]
    body.append(f"{INDENT * 2}return {', '.join(results)}")
    arguments = (Arg("self"), *(Arg(f"{n}: torch.Tensor") for n in names.inputs))
    returns = (
        "torch.Tensor"
        if len(results) == 1
        else f"tuple[{', '.join(['torch.Tensor'] * len(results))}]"
    )
    signature = lay_out(INDENT, "def ", Call("forward", arguments), f" -> {returns}:")
    return [*signature, *body]


def _expression(step: Step, inputs: list[str], writer: ClassWriter) -> str:
    item = step.item
    if item.node is None:
        return f"{step.access}({', '.join(inputs)})"
    node = item.node
    template, kept = forward_template(node)
    writer.uses_functional |= template.startswith("F.")
    values = {
        f"arg_{name}": writer.kept_value(origin, (name, f"{item.attr}_{name}"), text)
        for name, origin, text in kept
    }
    return template.format(*inputs, m=step.access, inputs=", ".join(inputs), **values)


def _shape_comment(matching: list[Step], networks: list[Network]) -> str | None:
    shapes = set()
    for step, network in zip(matching, networks, strict=True):
        types = [network.type_of(ref) for ref in step.item.outputs]
        if any(t is None for t in types):
            return None
        shapes.add(", ".join(dims.show_shape(t.shape) for t in types))  # type: ignore[union-attr]
    return f"# {shapes.pop()}" if len(shapes) == 1 else None


def _uses(found: list[Step], outputs: tuple[Ref, ...]) -> dict[Ref, int]:
    uses: dict[Ref, int] = {}
    for step in found:
        for ref in step.item.inputs:
            uses[ref] = uses.get(ref, 0) + 1
        for ref in step.item.outputs:
            uses.setdefault(ref, 0)
    for ref in outputs:
        uses[ref] = uses.get(ref, 0) + 1
    return uses


def _wanted_names(
    network: Network, scope: str, found: list[Step], outputs: tuple[Ref, ...]
) -> dict[Ref, str]:
    """The spec's names for values, spread back along the chains that compute them."""
    wanted: dict[Ref, str] = {}
    for step in found:
        for ref in step.item.outputs:
            name = _spec_name(network, ref, scope)
            if name is not None:
                wanted[ref] = name
    uses = _uses(found, outputs)
    producer = {ref: step for step in found for ref in step.item.outputs}
    for step in reversed(found):
        if len(step.item.outputs) != 1 or len(step.item.inputs) != 1:
            continue
        name = wanted.get(step.item.outputs[0])
        source = step.item.inputs[0]
        if name and source in producer and uses[source] == 1 and source not in wanted:
            wanted[source] = name
    return wanted


def _spec_name(network: Network, ref: Ref, scope: str) -> str | None:
    return network.node(ref.node).value_names.get((scope, ref.port))


class _Variables:
    """Local variable names of one forward method, reused once their value is dead."""

    def __init__(self, inputs: list[str]) -> None:
        self.inputs: list[str] = []
        self.holder: dict[str, Ref] = {}
        self._input_wishes = inputs

    def bind(self, wish: str, ref: Ref) -> str:
        name = _safe(wish)
        while name in self.holder:
            name += "_"
        self.holder[name] = ref
        self.inputs.append(name)
        return name

    def choose(self, wishes: list[str | None], ref: Ref, remaining: dict[Ref, int]) -> str:
        for wish in [*wishes, "out"]:
            if wish is None:
                continue
            base = _safe(wish)
            candidate, count = base, 1
            while not self._free(candidate, remaining):
                count += 1
                candidate = f"{base}{count}"
            if candidate == base or wish == "out":
                self.holder[candidate] = ref
                return candidate
        raise AssertionError("unreachable: `out` always yields a name")

    def _free(self, name: str, remaining: dict[Ref, int]) -> bool:
        holder = self.holder.get(name)
        return holder is None or remaining.get(holder, 0) == 0


def _safe(wish: str) -> str:
    name = identifier(wish)
    return f"{name}_" if name in RESERVED else name


__all__: list[Any] = ["forward_lines", "steps"]
