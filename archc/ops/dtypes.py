"""Element types: what an elementwise result holds, and the checks that keep torch from failing.

torch promotes silently where it can (float32 + float64 is float64) and fails where it cannot
(float32 @ float64, `exp` of a mask's bools in some kernels), in both cases far from the spec.
archc decides statically instead, on a smaller set of rules: tensors of two floating-point types
never meet (A330: convert one where it is made), booleans are for masks and conditions, not for
arithmetic (A308), and integers and booleans combine with floats into the float type, and with
numbers as torch combines them.
"""

from __future__ import annotations

from collections.abc import Sequence

from archc import dims
from archc.dims import TensorType
from archc.ops.spec import DTYPE, fail

FLOATS = ("float32", "float64", "float16", "bfloat16")
INTEGERS = ("int64", "int32")
BOOL = "bool"
# The element type of a tensor mixed with floats: torch's default dtype.
DEFAULT_FLOAT = "float32"
MIXED = "A330"  # two floating-point element types meet in one op


def is_float(dtype: str) -> bool:
    return dtype in FLOATS


def combined(inputs: Sequence[TensorType], op: str, booleans: bool = False) -> str:
    """The element type of an elementwise result of ``inputs``: their floating-point type if any
    holds one, else int64 over int32, else bool (only where ``booleans`` allows).

    Raises A330 for two floating-point types and A308 for a boolean operand where ``booleans``
    is false.
    """
    floats = sorted({t.dtype for t in inputs if is_float(t.dtype)}, key=FLOATS.index)
    if len(floats) > 1:
        shown = " and ".join(f"{dims.show_shape(t.shape)} {t.dtype}" for t in inputs)
        raise fail(
            MIXED,
            f"{op} mixes element types {floats[0]} and {floats[1]}",
            rule="the tensors an op combines hold one floating-point type",
            with_=shown,
            help=f"declare the inputs with one element type (`{floats[0]}[...]`), or build the "
            "whole network in another with build(dtype=...)",
            label=f"{floats[0]} with {floats[1]}",
        )
    if not booleans:
        for tensor in inputs:
            needs_numbers(tensor, op)
    if floats:
        return floats[0]
    integers = [t.dtype for t in inputs if t.dtype in INTEGERS]
    if integers:
        return "int64" if "int64" in integers else integers[0]
    return BOOL


def needs_numbers(tensor: TensorType, op: str) -> None:
    """A308 for a boolean tensor where an op computes with numbers."""
    if tensor.dtype == BOOL:
        raise fail(
            DTYPE,
            f"{op} computes with numbers, but {dims.show_shape(tensor.shape)} holds booleans",
            rule="arithmetic takes integer or floating-point tensors; booleans are masks",
            with_=f"{dims.show_shape(tensor.shape)} bool",
            help="choose values with where(mask, x, y) or masked_fill(x, mask, value)",
            label="a boolean tensor",
        )


def needs_float(tensor: TensorType, op: str) -> None:
    """A308 for a tensor that does not hold floating-point numbers, where an op needs them."""
    if not is_float(tensor.dtype):
        raise fail(
            DTYPE,
            f"{op} computes in floating point, but {dims.show_shape(tensor.shape)} holds "
            f"{tensor.dtype}",
            rule="input dtype = a floating-point type",
            with_=f"{dims.show_shape(tensor.shape)} {tensor.dtype}",
            help="choose float values by the mask with where(mask, x, y)"
            if tensor.dtype == BOOL
            else "make it floating point first: `x * 1.0` is float32",
            label=f"{tensor.dtype} input",
        )


def needs_bool(tensor: TensorType, op: str, role: str) -> None:
    """A308 for a ``role`` (a condition, a mask) that is not a boolean tensor."""
    if tensor.dtype != BOOL:
        raise fail(
            DTYPE,
            f"{op} takes a boolean {role}, but {dims.show_shape(tensor.shape)} holds "
            f"{tensor.dtype}",
            rule=f"{role} dtype = bool",
            with_=f"{dims.show_shape(tensor.shape)} {tensor.dtype}",
            help=f"make the {role} with a comparison, such as `x > 0`, or declare it `bool[...]`",
            label=f"a {tensor.dtype} {role}",
        )


def with_number(dtype: str, number: int | float, op: str) -> str:
    """The element type of a tensor of ``dtype`` combined with a number by ``op`` (+ - * /):
    true division and a float number make an integer tensor float32, as in torch."""
    if dtype in INTEGERS and (isinstance(number, float) or op == "/"):
        return DEFAULT_FLOAT
    return dtype
