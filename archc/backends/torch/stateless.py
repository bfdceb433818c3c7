"""How ``forward`` applies a stateless op, with the values a class may take from its arguments.

A stateless op's forward expression (``Op.torch_expr``, a template) carries values: a scale
factor, an axis, split sizes. Where the spec computes one from the class's parameters or input
sizes (`scale * branch` in `block Block35(scale=0.17)`, split sizes `(dt_rank, 8)`), the class
keeps it as an attribute set from its provenance (`self.scale = scale`, then
`branch * self.scale`), so instances that differ only in that value share one class. Every
other value is written as its literal, and instances that differ there need classes of their
own.
"""

from __future__ import annotations

from archc.backends.torch.structure import traced_inputs
from archc.ops import lookup
from archc.pysource.exprs import literal
from archc.semantics import provenance as pv
from archc.semantics.ir import Node

# A value the class keeps as an attribute: its name in the template, its provenance, and its
# literal (written where the provenance has no Python form in the class).
Kept = tuple[str, pv.Expr, str]


def module_class(node: Node) -> str | None:
    """The class of the module ``node``'s op builds (`nn.Linear`, `TransposedLinear`), None
    for a stateless op: an argument may choose it, so instances that differ there cannot
    share a class, whatever their arguments' provenance."""
    op = lookup(node.op)
    assert op is not None
    ctor = op.torch_module(*traced_inputs(node))
    return None if ctor is None else ctor.path


def forward_template(node: Node, cached: bool = False) -> tuple[str, tuple[Kept, ...]]:
    """The format template of ``node``'s forward expression (``{0}`` the first input, ``{m}``
    the module; with ``cached``, the call that takes a KV cache) and the values it leaves as
    ``{arg_NAME}``: those the spec computes from the class's parameters or input sizes (their
    provenance is not a literal), which the class keeps as attributes. Every other value is
    written into it as its literal."""
    op = lookup(node.op)
    assert op is not None
    args, inferred = traced_inputs(node)
    ctor = op.torch_module(args, inferred)
    if ctor is not None:
        return (ctor.cached_call if cached and ctor.cached_call else ctor.call), ()
    template = op.torch_expr(args, inferred)
    assert template is not None, f"{node.op} has no PyTorch form"
    text, kept = template.text, []
    for name, value in template.values:
        origin = pv.origin_of(value)
        written = literal(pv.untraced(value))
        if origin is not None and not isinstance(origin, pv.Lit):
            kept.append((name, origin, written))
            written = f"{{arg_{name}}}"
        else:
            written = written.replace("{", "{{").replace("}", "}}")
        text = text.replace(f"{{{name}}}", written)
    return text, tuple(kept)
