"""Buffers a class computes in ``__init__``: the build-time constants `buffer` holds.

A buffer's value is computed from sizes alone (archc/ops/constants.py), so the class computes it
once, where it registers it, with the torch calls `forward` would make (one statement per op,
named as the spec names the values), and drops its batch axis of 1 to store it:

```python
coords = torch.arange(window).unsqueeze(0)
...
self.register_buffer("relative_position_index", index[0])
```

The ops that compute only buffers are left out of ``forward``, which reads the buffer
(`self.relative_position_index.unsqueeze(0)`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archc.backends.torch.naming import RESERVED, identifier, member
from archc.backends.torch.stateless import forward_template
from archc.backends.torch.structure import relative
from archc.ops.spec import HELD
from archc.pysource.exprs import string
from archc.pysource.layout import INDENT, Arg, Call, lay_out, structure
from archc.semantics.ir import Network, Node, Ref

if TYPE_CHECKING:
    from archc.backends.torch.emit import ClassWriter


def holds_buffer(node: Node | None) -> bool:
    """Whether ``node`` holds a buffer its class computes (`buffer`)."""
    return node is not None and HELD in node.buffers


def init_only(network: Network, scope: str) -> set[int]:
    """The ids of the nodes in the class at ``scope`` that compute buffers and nothing else:
    ``forward`` leaves them out."""
    nodes = [n for n in network.within(scope) if n.kind == "op"]
    constant: set[int] = set()
    for node in nodes:
        if all(ref.node in constant for ref in node.inputs):
            constant.add(node.id)
    found: set[int] = set()
    for node in reversed(nodes):
        if node.id not in constant or holds_buffer(node):
            continue
        consumers = network.consumers(node.id)
        if consumers and all(c in found or holds_buffer(network.node(c)) for c in consumers):
            found.add(node.id)
    return found


def buffer_lines(writer: ClassWriter, node: Node, attr: str) -> list[str]:
    """The statements of ``__init__`` that compute the buffer ``node`` holds (those not written
    for an earlier buffer of the class) and register it as ``attr``."""
    network = writer.network
    lines: list[str] = []
    for source in _sources(network, node):
        if source.id in writer.constants:
            continue
        assert source.scope == node.scope, "elaboration keeps a buffer's value in its block"
        inputs = [_read(writer.constants, ref) for ref in source.inputs]
        template, kept = forward_template(source)
        values = {
            f"arg_{name}": _operand(template, name, writer.expressor.origin(origin) or text)
            for name, origin, text in kept
        }
        module = member("self", relative(source.path, node.scope))
        expression = template.format(*inputs, m=module, inputs=", ".join(inputs), **values)
        name = _name(writer, source)
        writer.constants[source.id] = name
        lines += lay_out(INDENT * 2, f"{name} = ", structure(expression))
    (value,) = node.inputs
    args = [Arg(string(attr)), Arg(f"{_read(writer.constants, value)}[0]")]
    args += [Arg("False", prefix="persistent=")] if "transient" in node.resolved else []
    return lines + lay_out(INDENT * 2, "", Call("self.register_buffer", tuple(args)))


def _operand(template: str, name: str, text: str) -> str:
    """``text`` as the value ``name`` of ``template``: in parentheses where it stands beside an
    operator (`x - {number}` with `height - window`), as is where it is a whole argument."""
    placeholder = f"{{arg_{name}}}"
    start = template.index(placeholder)
    before, after = template[:start].rstrip(), template[start + len(placeholder) :].lstrip()
    whole = before.endswith(("(", ",", "=")) and after.startswith((")", ","))
    if whole or text.isidentifier() or text.replace(".", "", 1).isdigit():
        return text
    return f"({text})"


def _sources(network: Network, node: Node) -> list[Node]:
    """The nodes ``node``'s value is computed from, in the order they were made."""
    found: dict[int, Node] = {}
    pending = [ref.node for ref in node.inputs]
    while pending:
        source = network.node(pending.pop())
        if source.id not in found:
            found[source.id] = source
            pending += [ref.node for ref in source.inputs]
    return [found[k] for k in sorted(found)]


def _read(names: dict[int, str], ref: Ref) -> str:
    return names[ref.node] if ref.port == 0 else f"{names[ref.node]}[{ref.port}]"


def _name(writer: ClassWriter, node: Node) -> str:
    """The spec's name for the value, else the op's, free among the constructor's names."""
    wish = node.value_names.get((node.scope, 0)) or node.op
    base = identifier(wish)
    taken = set(writer.constants.values()) | set(writer.parameters) | RESERVED | {"self"}
    name, count = base, 1
    while name in taken:
        count += 1
        name = f"{base}{count}"
    return name
