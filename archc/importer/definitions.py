"""Spec bodies for functions that torch.fx keeps whole (`torch.fx.wrap`), held once here.

fx records a call of such a function, given the calling module's parameters and buffers as
tensors, and never its body. A function defined here is written as the statements that compute
it, in the body of the block of the module that calls it: the module's parameters become its
layers under their own names (`qkv.weight` is `linear(...) as qkv`), so the module's state_dict
loads unchanged. Each definition is keyed by the function's module and name, checks the
arguments it is given, and raises :class:`Unsupported` for those it does not cover.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archc.importer.body import Term
from archc.importer.layers import Layer, Unsupported
from archc.importer.terms import Literal, named
from archc.importer.terms import call as written


@dataclass(frozen=True)
class Held:
    """A parameter or buffer of the calling module given to the function: its name from the
    module (`qkv.weight`) and shape."""

    name: str
    shape: tuple[int, ...]

    @property
    def layer(self) -> str:
        """The name of the layer holding it (`qkv` for `qkv.weight`)."""
        return self.name.rpartition(".")[0]


@dataclass
class Call:
    """A call as its definition reads it: each argument by the function's parameter name (a
    tensor computed in the body as its value name, a tensor the module holds as :class:`Held`,
    other values as they are), the shapes of the computed tensors, the value the call makes,
    and a tensor of the body the definition's parameters read their batch from."""

    arguments: dict[str, Any]
    shapes: dict[str, tuple[Any, ...]]
    output: str
    source: str
    lit: Literal
    terms: list[Term] = field(default_factory=list)

    def add(
        self, text: str, inputs: list[str], roles: tuple[str, ...] = (), last: bool = False
    ) -> str:
        """A statement computing ``text`` from ``inputs`` (`{0}`, `{1}`), which ``roles``
        name, and its value's name."""
        value = self.output if last else f"{self.output}__{len(self.terms)}"
        self.terms.append(Term(text, inputs, value, False, roles=list(roles)))
        return value

    def tensor(self, name: str) -> str:
        value = self.arguments.get(name)
        if not isinstance(value, str):
            raise Unsupported(f"its `{name}` is not a tensor the body computes")
        return value

    def held(self, name: str) -> Held | None:
        value = self.arguments.get(name)
        if value is not None and not isinstance(value, Held):
            raise Unsupported(f"its `{name}` is not a tensor the module holds")
        return value


Definition = Callable[[Call], None]


def bound(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A call's arguments by the function's parameter names, defaults filled in."""
    signature = inspect.signature(target)
    arguments = signature.bind(*args, **kwargs)
    arguments.apply_defaults()
    return dict(arguments.arguments)


def definition(target: Any) -> Definition | None:
    """The definition held for ``target``, a function fx keeps whole, if any."""
    module, name = getattr(target, "__module__", ""), getattr(target, "__name__", "")
    return DEFINITIONS.get(f"{module}.{name}")


def _square(call: Call, sizes: Any, what: str) -> int:
    values = list(sizes)
    if len(values) != 2 or values[0] != values[1]:
        raise Unsupported(f"its {what} {values} is not square, which the definition needs")
    return int(values[0])


def _relative_position_bias(call: Call) -> None:
    """torchvision's `_get_relative_position_bias`: the (1, heads, w*w, w*w) bias of each pair
    of a window's tokens, rows of the learned table picked by the relative-position index,
    which the module keeps as a buffer and the spec computes as one."""
    window = _square(call, call.arguments["window_size"], "window")
    table = call.held("relative_position_bias_table")
    index = call.held("relative_position_index")
    if table is None or index is None:
        raise Unsupported("it is given no table or no index")
    span = 2 * window - 1
    if table.shape[:1] != (span * span,) or index.shape != (window**4,):
        raise Unsupported("its table or index is not of the window's size")
    lit = call.lit
    w, s = lit("window", window), lit("span", span)
    starts = call.add(f"arange(0, {w} * {s}, {s}) -> unsqueeze(2)", [])
    token = call.add(f"{{0}} + (arange({w}) -> unsqueeze(1)) -> flatten(1)", [starts], ("starts",))
    pairs = call.add(
        f"({{0}} -> unsqueeze(2)) - ({{0}} -> unsqueeze(1)) + ({w} - 1) * ({s} + 1)",
        [token],
        ("token",),
    )
    held = call.add(f"{{0}} -> flatten(1) -> buffer as {index.name}", [pairs], ("pairs",))
    parameter = Layer("parameter", (("shape", table.shape),), (("exact", True),))
    rows = call.add(f"{{0}} -> {named(written(parameter, lit), table.name)}", [call.source])
    tokens = lit("tokens", window * window)
    call.add(
        f"{{0}}[{{1}}] -> reshape({tokens}, {tokens}, -1) -> permute(0, 3, 1, 2)",
        [rows, held],
        ("table", "index"),
        last=True,
    )


def _shifted_window_attention(call: Call) -> None:
    """torchvision's `shifted_window_attention`: multi-head self-attention within windows of
    w x w tokens of an (N, H, W, C) map, padded to whole windows, shifted by s tokens (none
    where one window covers the map), with the relative-position bias, and -100 added to the
    scores of tokens the shift brought from other regions."""
    if call.arguments.get("logit_scale") is not None:
        raise Unsupported("its cosine attention (`logit_scale`, Swin V2) has no definition yet")
    x = call.tensor("input")
    bias = call.tensor("relative_position_bias")
    qkv, proj = call.held("qkv_weight"), call.held("proj_weight")
    if qkv is None or proj is None:
        raise Unsupported("its projections are not layers the module holds")
    shape = call.shapes[x]
    if len(shape) != 4 or not all(isinstance(size, int) for size in shape[1:]):
        raise Unsupported("its input is not a map (N, H, W, C) of fixed sizes")
    _, height, width, dim = shape
    window = _square(call, call.arguments["window_size"], "window")
    size = _square(call, (height, width), "map")
    heads = int(call.arguments["num_heads"])
    side = size + (window - size % window) % window
    shift = 0 if window >= side else _square(call, call.arguments["shift_size"], "shift")
    lit = call.lit
    w, h, d = lit("window", window), lit("heads", heads), lit("dim", dim)
    pad, rows = lit("pad", side - size), lit("rows", side // window)
    windows, tokens = lit("windows", (side // window) ** 2), lit("tokens", window * window)
    s, n = lit("shift", shift), lit("side", side)

    # shifted windows see tokens of up to three regions along each axis
    along = call.add(f'arange({n}, dtype="float32")', [])
    last = call.add(f"{{0}} - ({n} - {w}) + 1.0 -> clamp(min=0.0, max=1.0)", [along], ("along",))
    band = call.add(
        f"{{0}} + ({{1}} - ({n} - {s}) + 1.0 -> clamp(min=0.0, max=1.0))",
        [last, along],
        ("last", "along"),
    )
    region = call.add(
        f"({{0}} -> unsqueeze(2)) * 3.0 + ({{0}} -> unsqueeze(1)) -> reshape({rows}, {w}, "
        f"{rows}, {w}) -> permute(0, 1, 3, 2, 4) -> reshape({windows}, {tokens})",
        [band],
        ("band",),
    )
    mask = call.add(
        "(({0} -> unsqueeze(2)) - ({0} -> unsqueeze(3)) -> abs -> clamp(max=1.0)) * -100.0 "
        "-> unsqueeze(2) -> buffer(persistent=false) as attn_mask",
        [region],
        ("region",),
    )
    qkv_bias = "" if call.held("qkv_bias") else ", bias=false"
    proj_bias = "" if call.held("proj_bias") else ", bias=false"
    # a map padded to whole windows is cut back to its size at the end
    padded = f" -> pad(0, 0, 0, {pad}, 0, {pad})" if side != size else ""
    cut = f" -> pad(0, 0, 0, -{pad}, 0, -{pad})" if side != size else ""
    grouped = call.add(
        f"{{0}}{padded} -> roll((-{s}, -{s}), (1, 2)) "
        f"-> reshape({rows}, {w}, {rows}, {w}, {d}) -> permute(0, 1, 3, 2, 4, 5) "
        f"-> reshape({windows}, {tokens}, {d}) -> linear(3 * {d}{qkv_bias}) as {qkv.layer} "
        f"-> reshape({windows}, {tokens}, 3, {h}, {d} // {h}) -> permute(0, 3, 1, 4, 2, 5)",
        [x],
    )
    scale = lit("scale", (dim // heads) ** -0.5)
    query = call.add(f"({{0}} -> select(1, 0)) * {scale}", [grouped], ("qkv",))
    key = call.add("{0} -> select(1, 1) -> transpose(-2, -1)", [grouped], ("qkv",))
    value = call.add("{0} -> select(1, 2)", [grouped], ("qkv",))
    scores = call.add(
        "matmul({0}, {1}) + ({2} -> unsqueeze(1)) + {3} -> softmax(-1) "
        f"-> dropout({lit('attention_dropout', float(call.arguments['attention_dropout']))})",
        [query, key, bias, mask],
        ("query", "key", "bias", "mask"),
    )
    call.add(
        f"matmul({{0}}, {{1}}) -> permute(0, 1, 3, 2, 4) -> reshape({windows}, {tokens}, {d}) "
        f"-> linear({d}{proj_bias}) as {proj.layer} "
        f"-> dropout({lit('dropout', float(call.arguments['dropout']))}) "
        f"-> reshape({rows}, {rows}, {w}, {w}, {d}) -> permute(0, 1, 3, 2, 4, 5) "
        f"-> reshape({n}, {n}, {d}) -> roll(({s}, {s}), (1, 2)){cut}",
        [scores, value],
        ("scores", "value"),
        last=True,
    )


def _patch_merging_pad(call: Call) -> None:
    """torchvision's `_patch_merging_pad`: an (N, H, W, C) map padded to even sides, each 2x2
    group of tokens concatenated, (N, H/2, W/2, 4C)."""
    x = call.tensor("x")
    shape = call.shapes[x]
    if len(shape) != 4 or not all(isinstance(size, int) for size in shape[1:3]):
        raise Unsupported("its input is not a map (N, H, W, C) of fixed sizes")
    lit = call.lit
    padded = x
    if shape[1] % 2 or shape[2] % 2:
        right, bottom = lit("pad", shape[2] % 2), lit("pad", shape[1] % 2)
        padded = call.add(f"{{0}} -> pad(0, 0, 0, {right}, 0, {bottom})", [x])
    parts = [
        call.add(f"{{0}} -> slice(1, {row}, none, 2) -> slice(2, {column}, none, 2)", [padded])
        for column in (0, 1)
        for row in (0, 1)
    ]
    call.add("concat({0}, {1}, {2}, {3}, dim=3)", parts, ("x0", "x1", "x2", "x3"), last=True)


DEFINITIONS: dict[str, Definition] = {
    "torchvision.models.swin_transformer._get_relative_position_bias": _relative_position_bias,
    "torchvision.models.swin_transformer.shifted_window_attention": _shifted_window_attention,
    "torchvision.models.swin_transformer._patch_merging_pad": _patch_merging_pad,
}
