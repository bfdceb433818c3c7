"""Provenance: every value elaboration computes says how its definition computed it.

``Network.verify()`` checks that each recorded provenance gives the value itself with the
instance's arguments; these tests run it over every spec, golden case and a fixed-seed sample
of generated specs, and check that the provenance is the right one where values coincide
(the case where working a value back from numbers goes wrong).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from archc import api, dims
from archc.semantics import provenance as pv
from archc.semantics.ir import Network, Node, dump
from archc.semantics.provenance import Apply, Lit, Param, Size, Traced
from tests.conftest import MIX, ROOT
from tests.fuzz.choices import RandomChoices
from tests.fuzz.valid import valid_spec

SPECS = sorted(
    [
        *(ROOT / "specs").glob("*.arch"),
        *(ROOT / "examples" / "specs").glob("*.arch"),
        *(ROOT / "tests" / "golden").glob("*/input.arch"),
    ]
)


def networks(path: Path) -> list[Network]:
    found, diagnostics = api.analyse(str(path))
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return found


def elaborate(tmp_path: Path, text: str) -> Network:
    spec = tmp_path / "spec.arch"
    spec.write_text(text)
    (network,) = networks(spec)
    network.verify()
    return network


def shown(node: Node) -> dict[str, str]:
    """A node's provenance other than literals, written out: arguments, then inferred sizes."""
    origins = {**node.arg_origins, **node.resolved_origins}
    return {name: pv.show(o) for name, o in origins.items() if not isinstance(o, Lit)}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_provenance_gives_its_value(path: Path) -> None:
    for network in networks(path):
        network.verify()
        assert any(node.arg_origins for node in network.nodes())


@pytest.mark.parametrize("seed", range(40))
def test_generated_specs_have_exact_provenance(tmp_path: Path, seed: int) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(valid_spec(RandomChoices(seed)))
    for network in networks(spec):
        network.verify()


def test_equal_values_keep_their_own_provenance(tmp_path: Path) -> None:
    """dt_rank and d_conv are both 4: the projection's input width is dt_rank's, not d_conv's."""
    network = elaborate(tmp_path, MIX)
    nodes = {node.path: node for node in network.nodes()}
    assert shown(nodes["mix.dt_proj"]) == {"out_features": "d_inner", "in_features": "dt_rank"}
    assert shown(nodes["mix.conv1d"])["padding"] == "d_conv - 1"
    assert shown(nodes["mix.conv1d"])["in_channels"] == "x.shape[2]"
    assert pv.show(network.modules["mix"].arg_origins["dt_rank"]) == "dt_rank"


def test_bottleneck_widths_come_from_its_parameters() -> None:
    (network,) = networks(ROOT / "specs" / "resnet50.arch")
    nodes = {node.path: node for node in network.nodes()}
    assert shown(nodes["layer2.0.conv3"])["out_channels"] == "planes * expansion"
    assert (
        shown(nodes["layer2.0.conv3"])["in_channels"] == "int(planes * (base_width / 64)) * groups"
    )
    assert shown(nodes["layer2.0.conv2"])["groups"] == "groups"
    assert shown(nodes["layer2.0.conv1"])["in_channels"] == "x.shape[1]"
    assert shown(nodes["layer2.0.conv2"])["stride"] == "stride"
    # the call's arguments, in the network's own terms
    assert pv.show(network.modules["layer2.0"].arg_origins["planes"]) == "128"


def test_sizes_cross_block_boundaries(tmp_path: Path) -> None:
    """An output's sizes are moved into the caller's terms: the inner block's width becomes
    the outer block's parameter, and a block that gives back its input gives back its size."""
    network = elaborate(
        tmp_path,
        """
block Widen(width) {
    in x
    out x -> conv2d(width * 2, 1)
}
block Same {
    in x
    out x
}
block Outer(base) {
    in x
    y = x -> Widen(base + 1) -> Same -> Same
    out y -> batchnorm2d as norm -> conv2d(y.channels // 2, 1) as halved
}
network N(c=4) {
    in x: [3, 8, 8]
    out x -> Outer(c) -> Outer(c) -> flatten -> linear(5, bias=false)
}
""",
    )
    nodes = {node.path: node for node in network.nodes()}
    assert shown(nodes["outer1.norm"]) == {"num_features": "(base + 1) * 2"}
    assert shown(nodes["outer1.halved"])["out_channels"] == "(base + 1) * 2 // 2"
    assert shown(nodes["outer2.widen1.conv1"])["in_channels"] == "x.shape[1]"
    assert pv.show(nodes["linear1"].dims[0][-1]) == "5"
    # in the network, what came out of the blocks is in terms of the network's parameter
    assert shown(nodes["linear1"])["in_features"] == "(c + 1) * 2 // 2 * 8 * 8"
    assert pv.show(nodes["outer2.halved"].dims[0][1]) == "(base + 1) * 2 // 2"


def test_repeat_counts_and_defaults(tmp_path: Path) -> None:
    network = elaborate(
        tmp_path,
        """
block Unit(width, out_width=width * 2) {
    in x
    out x -> linear(out_width) -> linear(width)
}
network N(layers=3, w=8) {
    in x: [8]
    out x -> Unit(w) * layers as stack
}
""",
    )
    assert network.modules["stack"].repeat_origin == Param("layers")
    assert pv.show(network.modules["stack.0"].arg_origins["out_width"]) == "w * 2"
    nodes = {node.path: node for node in network.nodes()}
    assert shown(nodes["stack.1.linear1"]) == {
        "out_features": "out_width",
        "in_features": "x.shape[1]",
    }


def test_dump_shows_provenance(tmp_path: Path) -> None:
    network = elaborate(
        tmp_path,
        "block B(c) {\n in x\n out x -> conv2d(c * 2, 1)\n}\n"
        "network N {\n in x: [3, 8, 8]\n out x -> B(4)\n}\n",
    )
    assert (
        "conv2d[out_channels=8 {c * 2}, kernel_size=1](%1)  # b1.conv1, 32 params, "
        "in_channels {x.shape[1]}" in dump(network)
    )


def test_traced_integers_record_their_arithmetic() -> None:
    width = Traced(32, Size("x", 3))
    kernel = Traced(3, Param("k"))
    out = (width + 2 * 1 - kernel) // 1 + 1
    assert out == 32 and isinstance(out, Traced)
    assert pv.show(out.origin) == "x.shape[3] + 2 - k + 1"
    assert pv.evaluate(out.origin, {"k": 5}, {("x", 3): 10}) == 8
    assert not isinstance(pv.untraced((out, [1])[0]), Traced)


def test_show_writes_only_the_parentheses_needed() -> None:
    a, b, c = Param("a"), Param("b"), Param("c")
    assert pv.show(Apply("-", (a, Apply("-", (b, c))))) == "a - (b - c)"
    assert pv.show(Apply("-", (Apply("-", (a, b)), c))) == "a - b - c"
    assert pv.show(Apply("*", (Apply("+", (a, b)), c))) == "(a + b) * c"
    assert pv.show(Apply("/", (Lit(0.02), Apply("sqrt", (Apply("*", (Lit(2), a)),))))) == (
        "0.02 / sqrt(2 * a)"
    )
    assert pv.show(Apply("if", (Apply("!=", (a, Lit(1))), b, c))) == "if a != 1 then b else c"


EXPRESSIONS = st.recursive(
    st.one_of(
        st.integers(-5, 5).map(Lit),
        st.sampled_from([Param("a"), Param("b"), Size("x", 1)]),
    ),
    lambda inner: st.tuples(st.sampled_from(["+", "-", "*", "max"]), inner, inner).map(
        lambda t: Apply(t[0], (t[1], t[2]))
    ),
    max_leaves=8,
)


@given(EXPRESSIONS, st.integers(1, 9), st.integers(1, 9), st.integers(1, 9))
def test_substituting_then_evaluating_is_evaluating_with_the_values(
    expr: pv.Expr, a: int, b: int, size: int
) -> None:
    """Moving an expression into a caller's terms keeps its value: the callee's parameters
    become the caller's expressions, which the caller's values then evaluate."""
    caller = {"a": Apply("+", (Param("p"), Lit(1))), "b": Param("q")}
    moved = pv.substitute(expr, caller, lambda name, axis: Param("s"))
    assert moved is not None
    direct = pv.evaluate(expr, {"a": a + 1, "b": b}, {("x", 1): size})
    assert pv.evaluate(moved, {"p": a, "q": b, "s": size}, {}) == direct


LITERALS = st.one_of(
    st.integers(-3, 3), st.sampled_from([0.5, -0.0, 2.0, True, False, None, (1, 2)])
).map(Lit)
FOLDED = st.recursive(
    st.one_of(LITERALS, st.sampled_from([Param("a"), Param("b"), Param("c"), Size("x", 2)])),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "//", "/", "%", "==", "<"]), inner, inner).map(
            lambda t: Apply(t[0], (t[1], t[2]))
        ),
        st.tuples(st.sampled_from(["neg", "not", "abs"]), inner).map(
            lambda t: Apply(t[0], (t[1],))
        ),
        st.tuples(inner, inner, inner).map(lambda t: Apply("if", t)),
        st.tuples(inner, inner).map(lambda t: Apply("index", (Apply("tuple", t), Lit(1)))),
    ),
    max_leaves=10,
)


def _rebuilt(expr: pv.Expr, params: dict[str, pv.Expr], size: pv.Expr | None) -> Any:
    """What substituting means: each leaf replaced, then every operator applied again."""
    if isinstance(expr, Lit):
        return expr
    if isinstance(expr, Param):
        return params.get(expr.name)
    if isinstance(expr, Size):
        return size
    args = [_rebuilt(a, params, size) for a in expr.args]
    return None if None in args else pv.apply(expr.fn, *args)


@given(FOLDED, LITERALS, st.sampled_from([Lit(7), Lit(7.0), Param("p"), None]))
def test_substituting_folds_literals_as_apply_does(
    expr: pv.Expr, literal: Lit, size: pv.Expr | None
) -> None:
    """Moving an expression into a caller where its leaves are numbers folds it as applying
    each operator to them would, literal types and operations that cannot fold included."""
    params = {"a": literal, "b": Apply("+", (Param("p"), Lit(1))), "c": Lit(3)}
    moved = pv.substitute(expr, params, lambda name, axis: size)
    expected = _rebuilt(expr, params, size)
    assert pv.written_alike(moved, expected), (pv.show(moved), pv.show(expected))


@given(FOLDED, LITERALS, LITERALS, st.sampled_from([Lit(7), Lit(7.0), Lit(True), None]))
@example(Apply("+", (Param("a"), Param("c"))), Lit((1, 2)), Lit((1, 2)), None)  # not a number
@example(Apply("//", (Size("x", 2), Param("a"))), Lit(0), Lit(1), Lit(7))  # written out
def test_folding_with_the_callers_literals_is_substituting(
    expr: pv.Expr, a: Lit, c: Lit, size: Lit | None
) -> None:
    """Where folded gives a literal, substitute gives that literal, of the same type."""
    params: dict[str, pv.Expr] = {"a": a, "b": Apply("+", (Param("p"), Lit(1))), "c": c}
    known = {"a": a.value, "c": c.value}
    sizes = {} if size is None else {("x", 2): size.value}
    literal = pv.folded(expr, known, sizes)
    if literal is not None:
        moved = pv.substitute(expr, params, lambda name, axis: size)
        assert pv.written_alike(literal, moved), (pv.show(literal), pv.show(moved))


SIZE_ARITHMETIC = st.recursive(
    st.one_of(
        st.integers(-4, 4).map(Lit), st.sampled_from([Param("a"), Param("c"), Size("x", 2)])
    ),
    lambda inner: st.tuples(st.sampled_from(["+", "-", "*"]), inner, inner).map(
        lambda t: Apply(t[0], (t[1], t[2]))
    ),
    max_leaves=10,
)


@given(SIZE_ARITHMETIC, st.integers(1, 64), st.integers(1, 64), st.integers(1, 64))
def test_arithmetic_on_the_callers_numbers_folds(expr: pv.Expr, a: int, c: int, size: int) -> None:
    """What a block gives back is mostly arithmetic on sizes: every such expression folds,
    to the literal substitute gives."""
    literal = pv.folded(expr, {"a": a, "c": c}, {("x", 2): size})
    if isinstance(expr, Apply):
        moved = pv.substitute(expr, {"a": Lit(a), "c": Lit(c)}, lambda name, axis: Lit(size))
        assert literal is not None and pv.written_alike(literal, moved)
    else:
        assert literal is None  # a leaf is the caller's own expression


SHAPE_SIZES = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 2), st.just(dims.BATCH)),  # few values: literals that match
        st.one_of(st.none(), st.integers(0, 2).map(Lit), st.just(Lit(True)), st.just(Param("a"))),
    ),
    max_size=4,
)


@given(SHAPE_SIZES)
def test_a_shapes_sizes_trace_and_untrace_as_each_size_alone(pairs: list[tuple[Any, Any]]) -> None:
    """The shape-wide helpers a shape rule runs on agree with traced, origin_of and untraced
    on each size: a size whose provenance is its own integer literal is left plain, and a
    shape with nothing traced in it is given back as it is."""
    sizes = tuple(size for size, _ in pairs)
    origins = tuple(origin for _, origin in pairs)
    shape = pv.traced_sizes(sizes, origins)
    for size, origin, got in zip(sizes, origins, shape, strict=True):
        plain = (
            type(size) is not int  # a symbol
            or origin is None
            or (type(origin) is Lit and type(origin.value) is int and origin.value == size)
        )
        assert got is size if plain else type(got) is Traced and got == size
        if type(got) is Traced:
            assert pv.written_alike(got.origin, pv.traced(size, origin).origin)
    assert [pv.show(o) for o in pv.size_origins(shape)] == [
        pv.show(pv.origin_of(size)) for size in shape
    ]
    back = pv.untraced(shape)
    assert back == sizes and [type(b) for b in back] == [type(s) for s in sizes]
    if all(type(size) is int for size in shape):
        assert back is shape


def test_a_definitions_signature_records_its_defaults_as_provenance(tmp_path: Path) -> None:
    """What a backend needs of a definition, recorded on its modules: names, defaults in the
    definition's own terms (a constant is its value, an earlier parameter a parameter), inputs
    in order, and which parameters each call gave."""
    network = elaborate(
        tmp_path,
        "WIDTH = 8\n"
        "block Unit(c=WIDTH, k=2 * 1 + 1, h=c * 2, tag) {\n"
        "    in x\n    in y\n"
        "    out (x + y) -> conv2d(h, k, padding=1)\n}\n"
        "network N() {\n    in x: [8, 8, 8]\n    out x -> Unit(x, tag=1)\n}\n",
    )
    (unit,) = [m for m in network.modules.values() if m.kind == "block"]
    signature = unit.signature
    assert signature is not None and network.modules[""].signature is not None
    assert [(p.name, p.default) for p in signature.params] == [
        ("c", Lit(8)),
        ("k", Lit(3)),
        ("h", Apply("*", (Param("c"), Lit(2)))),
        ("tag", None),
    ]
    assert (signature.name, signature.kind, signature.inputs) == ("Unit", "block", ("x", "y"))
    assert unit.given == ("tag",)


def test_expressions_written_alike_have_literals_of_the_same_types() -> None:
    def width(literal: Lit) -> Apply:
        return Apply("+", (Apply("*", (Param("planes"), Size("x", 1))), literal))

    assert pv.written_alike(width(Lit(1)), width(Lit(1)))
    assert pv.written_alike(Lit((1, 2.5)), Lit((1, 2.5)))
    # equal, but shown otherwise
    assert width(Lit(1)) == width(Lit(True))
    assert not pv.written_alike(width(Lit(1)), width(Lit(True)))
    assert not pv.written_alike(Lit(4), Lit(4.0))
    assert not pv.written_alike(Lit(0.0), Lit(-0.0))
    assert not pv.written_alike(Lit((1, 2)), Lit((1, 2.0)))
    assert not pv.written_alike(Param("planes"), Size("x", 1))
    assert not pv.written_alike(Apply("-", (Param("a"), Lit(1))), Apply("+", (Param("a"), Lit(1))))


@pytest.mark.parametrize("fn", ["+", "-", "*", "//", "%"])
@pytest.mark.parametrize("number", [0, 1, 2, -1])
def test_traced_arithmetic_records_what_apply_gives(fn: str, number: int) -> None:
    a = Traced(6, Param("a"))
    for left, right in ((a, number), (number, a)):
        if fn in ("//", "%") and right == 0:
            continue
        result = pv.BINARY[fn](left, right)
        assert isinstance(result, Traced)
        assert int(result) == pv.BINARY[fn](int(left), int(right))
        expected = pv.apply(fn, pv.origin_of_int(left), pv.origin_of_int(right), integers=True)
        assert result.origin == expected
