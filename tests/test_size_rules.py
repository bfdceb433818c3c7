"""What a network requires of its symbolic input sizes: derived from the sizes it joins and the
sizes that must stay positive, said once, taken from `assert`s, and checked against brute force."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc import api, dims
from archc.cli import main
from archc.dims import Residues, Sym
from archc.errors import Diagnostic
from archc.semantics.ir import Network
from tests.conftest import ROOT

H = Sym.named("H")
UNET = ROOT / "tests" / "golden" / "unet_tiny" / "input.arch"


def analysed(tmp_path: Path, text: str) -> tuple[Network | None, list[Diagnostic]]:
    spec = tmp_path / "net.arch"
    spec.write_text(text, encoding="utf-8")
    networks, diagnostics = api.analyse(str(spec))
    return (networks[0] if networks else None), diagnostics


def unet(levels: int, asserted: str = "") -> str:
    """A U-Net over a 1-d signal of length H with ``levels`` poolings."""
    lines = ["network UNet {", "    in x: [4, H]"]
    lines += [f"    assert {asserted}"] if asserted else []
    lines += ["    d0 = x -> conv1d(4, 3, padding=1)"]
    lines += [f"    d{i} = d{i - 1} -> maxpool1d(2)" for i in range(1, levels + 1)]
    lines += [f"    u{levels} = d{levels}"]
    lines += [
        f"    u{i} = concat(d{i}, u{i + 1} -> upsample(scale_factor=2), dim=1)"
        f" -> conv1d(4, 3, padding=1)"
        for i in reversed(range(levels))
    ]
    return "\n".join([*lines, "    out u0", "}", ""])


@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_a_unet_needs_a_multiple_of_two_to_the_levels(tmp_path: Path, levels: int) -> None:
    network, diagnostics = analysed(tmp_path, unet(levels))
    assert network is not None
    (warning,) = diagnostics
    assert warning.code == "A275" and warning.severity == "warning"
    assert len(warning.notes) == levels
    size = 2**levels
    rule = "even" if size == 2 else f"a multiple of {size}"
    assert str(network.size_rules[0]) == f"H must be {rule}" + (
        f", at least {size}" if size > 2 else ", at least 2"
    )
    assert warning.help == f"state it in the spec with `assert H % {size} == 0`"


def test_an_assert_states_the_rule_and_silences_it(tmp_path: Path) -> None:
    network, diagnostics = analysed(tmp_path, unet(4, "H % 16 == 0"))
    assert diagnostics == []
    assert network is not None and str(network.size_rules[0]) == (
        "H must be a multiple of 16, at least 16"
    )


def test_a_weaker_assert_leaves_the_rest_to_say(tmp_path: Path) -> None:
    _, diagnostics = analysed(tmp_path, unet(4, "H % 4 == 0"))
    assert [d.code for d in diagnostics] == ["A275"]
    assert "H must be a multiple of 16" in diagnostics[0].message


def test_an_assert_of_a_least_size_raises_the_least(tmp_path: Path) -> None:
    network, diagnostics = analysed(tmp_path, unet(2, "H % 4 == 0 and H >= 64"))
    assert diagnostics == []
    assert network is not None
    assert str(network.size_rules[0]) == "H must be a multiple of 4, at least 64"


def test_an_assert_that_contradicts_a_join_is_an_error(tmp_path: Path) -> None:
    _, diagnostics = analysed(tmp_path, unet(2, "H % 4 == 2"))
    assert [(d.code, d.severity) for d in diagnostics] == [("A276", "error")]


def test_unet_tiny_states_its_rule_once_for_h_and_w() -> None:
    networks, diagnostics = api.analyse(str(UNET))
    assert [d.code for d in diagnostics] == ["A275"]
    assert [str(rule) for rule in networks[0].size_rules] == [
        "H and W must be multiples of 4, at least 4"
    ]


def test_a_window_without_padding_sets_a_least_size(tmp_path: Path) -> None:
    network, diagnostics = analysed(
        tmp_path, "network Net {\n    in x: [4, T]\n    out x -> conv1d(4, 5) -> conv1d(4, 3)\n}\n"
    )
    assert diagnostics == [] and network is not None
    assert [str(rule) for rule in network.size_rules] == ["T must be at least 7"]


def test_a_comparison_that_is_no_assert_reads_as_written(tmp_path: Path) -> None:
    _, diagnostics = analysed(
        tmp_path,
        "network Net {\n    in x: [4, T]\n    out if (T + 1) % 16 == 0 then x -> relu else x\n}\n",
    )
    (error,) = diagnostics
    assert error.code == "A225"
    assert "`(T + 1) % 16 == 0`" in error.message and "Mod" not in error.message


def test_check_and_summary_state_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(UNET)]) == 0
    assert "(H and W must be multiples of 4, at least 4)" in capsys.readouterr().err
    assert main(["summary", str(UNET)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == "Input sizes: H and W must be multiples of 4, at least 4"
    assert main(["summary", str(UNET), "--json"]) == 0
    (network,) = json.loads(capsys.readouterr().out)["networks"]
    (rule,) = network["input_size_rules"]
    assert rule == {
        "rule": "H and W must be multiples of 4, at least 4",
        "sizes": ["H", "W"],
        "modulus": 4,
        "remainders": [0],
        "least": 4,
    }


# --- the arithmetic, against brute force ---------------------------------------------------------

# one step along a path: pool by k (floor division), upsample by k, or pad by p
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("pool"), st.integers(2, 3)),
        st.tuples(st.just("up"), st.integers(2, 3)),
        st.tuples(st.just("pad"), st.integers(-2, 2)),
    ),
    max_size=5,
)


def walk(size: dims.Dim, steps: list[tuple[str, int]]) -> dims.Dim:
    for kind, k in steps:
        size = size // k if kind == "pool" else size * k if kind == "up" else size + k
    return size


@given(STEPS, STEPS)
def test_agreement_is_exactly_the_sizes_that_agree(
    left: list[tuple[str, int]], right: list[tuple[str, int]]
) -> None:
    a, b = walk(H, left), walk(H, right)
    found = dims.agreement(a, b)
    if found is None:
        return  # not a matter of remainders (a linear difference, or equal by algebra)
    symbol, residues = found
    assert symbol == "H"
    for value in range(1, 400):
        equal = dims.evaluate(a, {"H": value}) == dims.evaluate(b, {"H": value})
        assert residues.admits(value) == equal, value


@given(
    st.integers(1, 12).flatmap(
        lambda m: st.tuples(st.just(m), st.frozensets(st.integers(0, m - 1)))
    ),
    st.integers(1, 12).flatmap(
        lambda m: st.tuples(st.just(m), st.frozensets(st.integers(0, m - 1)))
    ),
)
def test_residues_meet_is_the_intersection(
    first: tuple[int, frozenset[int]], second: tuple[int, frozenset[int]]
) -> None:
    a, b = Residues(*first), Residues(*second)
    met = a.meet(b)
    for value in range(200):
        assert met.admits(value) == (a.admits(value) and b.admits(value))
    assert met.covers(a) == all(met.admits(v) for v in range(200) if a.admits(v))


# --- -D sets a symbolic size ---------------------------------------------------------------------


def test_define_sets_a_symbolic_size(capsys: pytest.CaptureFixture[str]) -> None:
    networks, diagnostics = api.analyse(str(UNET), overrides={"H": 64, "W": 32})
    assert diagnostics == []
    assert str(networks[0].type_of(networks[0].outputs["mask"])) == "(N, 2, 64, 32)"
    assert networks[0].size_rules == []
    assert main(["summary", str(UNET), "-D", "H=64", "--depth", "0"]) == 0
    assert capsys.readouterr().out.startswith(
        "UNetTiny: image (N, 1, 64, W) -> mask (N, 2, 64, W); 116,770 params"
    )


def test_define_sets_the_size_of_compiled_code() -> None:
    source = api.compile_source(str(UNET), H=64, W=32)
    assert "# (N, 16, 64, 32)" in source


@pytest.mark.parametrize(
    ("value", "message", "help_"),
    [
        (
            30,
            "-D H=30 does not follow the rule of `UNetTiny`: H and W must be multiples of 4, "
            "at least 4",
            "the nearest sizes that follow it are H=28 and H=32",
        ),
        (
            2,
            "-D H=2 does not follow the rule of `UNetTiny`: H and W must be multiples of 4, "
            "at least 4",
            "the least H that follows it is 4",
        ),
        (0, "-D H=0: a size must be a positive whole number", "e.g. -D H=256"),
        (1.5, "-D H=1.5: a size must be a positive whole number", "e.g. -D H=256"),
    ],
)
def test_a_size_that_breaks_the_rule_is_refused_where_it_is_declared(
    value: object, message: str, help_: str
) -> None:
    networks, diagnostics = api.analyse(str(UNET), overrides={"H": value})
    (error,) = diagnostics
    assert networks == []
    assert (error.code, error.message, error.help) == ("A277", message, help_)
    assert error.span is not None and (error.span.line, error.span.col) == (13, 19)


def test_an_unknown_define_suggests_a_symbolic_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-D", "Hx=64", str(UNET)]) == 2
    assert capsys.readouterr().err == (
        "archc: error: -D Hx: no network here has a parameter or a symbolic size `Hx`; "
        "did you mean `H`?\n"
    )
    assert main(["check", "-D", "depth=64", str(UNET)]) == 2
    assert capsys.readouterr().err.endswith(
        "the parameters are classes, and the symbolic sizes H, W\n"
    )


PAIRS = """network Pairs {
    in x: [T, 8]
    ASSERT
    out x -> reshape(-1, 16) -> linear(4)
}
"""


def test_rows_of_a_reshape_need_a_rule_on_the_size(tmp_path: Path) -> None:
    """Steps read two at a time are whole rows for even T alone: said once as the network's
    rule, as a join is, and silenced by an assert that states it."""
    network, diagnostics = analysed(tmp_path, PAIRS.replace("ASSERT", ""))
    assert network is not None
    (warning,) = diagnostics
    assert warning.code == "A275" and str(network.size_rules[0]) == "T must be even, at least 2"
    assert "the 8*T elements of each sample of (N, T, 8) fill rows of 16" in warning.notes[0]
    assert warning.notes[0].endswith("when T is even")
    assert str(network.node(network.outputs["output"].node).outputs[0]) == "(N, T//2, 4)"
    network, diagnostics = analysed(tmp_path, PAIRS.replace("ASSERT", "assert T % 2 == 0"))
    assert network is not None and diagnostics == []


def test_rows_of_a_reshape_against_an_assert_are_an_error(tmp_path: Path) -> None:
    _, diagnostics = analysed(tmp_path, PAIRS.replace("ASSERT", "assert T % 2 == 1"))
    (error,) = diagnostics
    assert error.code == "A276" and error.span.line == 4
    assert error.message.endswith("only when T is even, and T is odd, as asserted")


@pytest.mark.parametrize("size", [2, 6, 10])
def test_rows_of_a_reshape_compute_what_the_interpreter_computes(
    tmp_path: Path, size: int
) -> None:
    from tests.fuzz.built import compile_checked
    from tests.oracle import check_compiled

    spec = tmp_path / "pairs.arch"
    spec.write_text(PAIRS.replace("ASSERT", "assert T % 2 == 0"), encoding="utf-8")
    networks, module = compile_checked(spec)
    check_compiled(networks, module, size=size, label="pairs")
