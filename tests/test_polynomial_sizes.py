"""Symbolic sizes that only sums and products touch stay polynomials, without sympy: their
values and their text are sympy's, and the zoo's sequence models never import it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc import dims
from archc.dims import Dim, Sym

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = [Sym.named("H"), Sym.named("W"), Sym.named("T")]

# one step: add, subtract or multiply by a number or a symbol
OPERANDS = st.one_of(st.integers(-4, 4), st.sampled_from(SYMBOLS))
STEPS = st.lists(st.tuples(st.sampled_from("+-*"), OPERANDS, st.booleans()), max_size=8)


def apply(value: Dim, steps: list[tuple[str, Dim, bool]]) -> Dim:
    for op, operand, swapped in steps:
        left, right = (operand, value) if swapped else (value, operand)
        value = left + right if op == "+" else left - right if op == "-" else left * right
    return value


@given(STEPS, st.integers(1, 50), st.integers(1, 50), st.integers(1, 50))
def test_a_polynomial_has_the_value_sympy_gives(
    steps: list[tuple[str, Dim, bool]], h: int, w: int, t: int
) -> None:
    value = apply(Sym.named("H"), steps)
    sizes = {"H": h, "W": w, "T": t}
    if isinstance(value, int):
        return
    assert value._poly is not None
    symbols = {s: sizes[str(s)] for s in value.expr.free_symbols}
    assert dims.evaluate(value, sizes) == int(value.expr.subs(symbols))


@given(st.integers(-9, 9).filter(bool), st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4))
def test_a_single_term_reads_as_sympy_prints_it(coefficient: int, factors: list[Sym]) -> None:
    value: Dim = coefficient
    for factor in factors:
        value = value * factor
    assert isinstance(value, Sym)
    assert str(value) == dims._display(dims._sympy_of(value._poly or {}))


def test_floors_and_quotients_leave_the_polynomials() -> None:
    h = Sym.named("H")
    halved = (4 * h) // 2  # exact: still a polynomial
    assert isinstance(halved, Sym) and halved._poly is not None and str(halved) == "2*H"
    assert dims.same(halved, 2 * h) is True and (4 * h) % 2 == 0
    assert str((h + 1) // 2) == "(H + 1)//2" and ((h + 1) // 2)._poly is None


@pytest.mark.parametrize(
    "spec", ["gpt2.arch", "bert_base.arch", "qwen2.arch", "transformer.arch", "vit_b_16.arch"]
)
def test_compiling_a_sequence_model_never_imports_sympy(spec: str, tmp_path: Path) -> None:
    program = (
        "import sys; from archc.cli import main; "
        f"code = main(['compile', {str(ROOT / 'specs' / spec)!r}, '-o', "
        f"{str(tmp_path / 'model.py')!r}, '--quiet']); "
        "assert code == 0, code; assert 'sympy' not in sys.modules, 'sympy was imported'"
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=ROOT)
