"""How ``forward`` applies a stateless op, with the values a class may take from its arguments.

A stateless op's forward expression carries its argument values (`branch * 0.17`,
`torch.mean(x, dim=1)`). Where the spec computes such a number from the class's parameters or
input sizes (`scale * branch` in `block Block35(scale=0.17)`), the class keeps it as an
attribute set from its provenance (`self.scale = scale`, then `branch * self.scale`), so
instances that differ only in that value share one class. Every other value is written as it
is, and instances that differ there need classes of their own.
"""

from __future__ import annotations

from archc.ops import lookup
from archc.ops.spec import Inferred
from archc.semantics import provenance as pv
from archc.semantics.ir import Node

_MARKER = 1_000_000_009  # stands in for a value while finding where the template writes it


def forward_template(node: Node) -> tuple[str, tuple[str, ...]]:
    """The format template of ``node``'s forward expression (``{0}`` the first input, ``{m}``
    the module) and the arguments it leaves as ``{arg_NAME}``: the numbers the spec computes
    from the class's parameters or input sizes (their provenance is not a literal), which the
    template writes exactly once."""
    op = lookup(node.op)
    assert op is not None
    inferred = Inferred(node.outputs, node.params, node.buffers, node.macs, node.resolved)  # type: ignore[arg-type]
    ctor = op.torch_module(node.args, inferred)
    if ctor is not None:
        return ctor.call, ()
    template = op.torch_expr(node.args, inferred)
    assert template is not None, f"{node.op} has no PyTorch form"
    kept = [
        name
        for name, origin in sorted(node.arg_origins.items())
        if type(getattr(node.args, name, None)) in (int, float)
        and not isinstance(origin, pv.Lit)
        and _written_once(op.torch_expr(node.args.model_copy(update={name: _MARKER}), inferred))
    ]
    markers = {name: _MARKER + position for position, name in enumerate(kept)}
    if kept:
        template = op.torch_expr(node.args.model_copy(update=markers), inferred) or template
        for name, marker in markers.items():
            template = template.replace(str(marker), f"{{arg_{name}}}")
    return template, tuple(kept)


def _written_once(template: str | None) -> bool:
    """Whether the template writes the marker as it is, once (not computed with)."""
    return template is not None and template.count(str(_MARKER)) == 1
