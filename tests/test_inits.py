"""Init schemes (archc.inits) and LSUV (archc.init).

Each scheme's emitted statement is executed on large tensors and its sample statistics are
checked against the scheme's definition, with fans and gains worked out here from the shape,
independently of the code under test. LSUV is checked by measuring every layer's output.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archc import inits, torch_helpers
from archc.init import lsuv
from archc.inits import SchemeError, gain, gain_mismatch, nonlinearity_of, resolve_scheme
from archc.pysource import layout
from tests.conftest import ROOT, RUFF, RUFF_SETTINGS, assert_ruff_formatted, needs_ruff

MATRIX = (512, 1024)
CONV = (256, 128, 3, 3)
TRUNCATED_STD = 0.87962566103423978  # std of a standard normal cut to [-2, 2]


def initialise(shape: tuple[int, ...], name: str | float, **args: Any) -> torch.Tensor:
    """A tensor of ``shape`` filled by executing the statement the scheme emits."""
    scheme, validated = resolve_scheme(name, args)
    namespace: dict[str, Any] = {"torch": torch, "nn": nn}
    for source in scheme.helpers.values():
        exec(source, namespace)
    namespace["tensor"] = torch.full(shape, float("nan"))
    exec(scheme.emit(validated, "tensor"), namespace)
    return namespace["tensor"]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def within_one_std(values: torch.Tensor, std: float) -> float:
    return (values.abs() < std).double().mean().item()


# --- sample statistics ---------------------------------------------------------------------------


def test_uniform_covers_its_interval() -> None:
    torch.manual_seed(0)
    values = initialise(MATRIX, "uniform", a=-0.5, b=1.5)
    assert values.min() >= -0.5 and values.max() <= 1.5
    assert values.min() < -0.49 and values.max() > 1.49
    assert values.mean().item() == pytest.approx(0.5, abs=0.01)
    assert values.std().item() == pytest.approx(2 / math.sqrt(12), rel=0.01)


def test_uniform_defaults_to_the_unit_interval() -> None:
    torch.manual_seed(0)
    values = initialise(MATRIX, "uniform")
    assert values.min() >= 0 and values.max() <= 1
    assert values.mean().item() == pytest.approx(0.5, abs=0.01)


def test_normal_has_its_mean_and_std() -> None:
    torch.manual_seed(0)
    values = initialise(MATRIX, "normal", mean=0.3, std=0.02)
    assert values.mean().item() == pytest.approx(0.3, abs=1e-3)
    assert values.std().item() == pytest.approx(0.02, rel=0.01)
    assert within_one_std(values - 0.3, 0.02) == pytest.approx(0.6827, abs=0.01)


def _truncated_moments(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    """Mean and std of a normal(mean, std) cut to [a, b], from the textbook formulas."""

    def pdf(x: float) -> float:
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    def cdf(x: float) -> float:
        return (1 + math.erf(x / math.sqrt(2))) / 2

    alpha, beta = (a - mean) / std, (b - mean) / std
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    variance = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift**2
    return mean + std * shift, std * math.sqrt(variance)


def test_trunc_normal_stays_in_bounds_with_the_truncated_moments() -> None:
    torch.manual_seed(0)
    values = initialise(MATRIX, "trunc_normal", mean=0.1, std=1, a=-1, b=1.5)
    assert values.min() >= -1 and values.max() <= 1.5
    assert values.min() < -0.99 and values.max() > 1.49
    mean, std = _truncated_moments(0.1, 1, -1, 1.5)
    assert values.mean().item() == pytest.approx(mean, abs=0.005)
    assert values.std().item() == pytest.approx(std, rel=0.01)


def test_trunc_normal_bounds_are_absolute_values() -> None:
    torch.manual_seed(0)
    values = initialise(MATRIX, "trunc_normal", std=0.02)
    # [-2, 2] is 100 standard deviations wide here: nothing is cut
    assert values.std().item() == pytest.approx(0.02, rel=0.01)


@pytest.mark.parametrize(
    ("name", "args", "value"),
    [
        ("constant", {"value": 0.25}, 0.25),
        ("const", {"value": -3}, -3.0),
        (7, {}, 7.0),
        (0.5, {}, 0.5),
        ("zeros", {}, 0.0),
        ("ones", {}, 1.0),
    ],
)
def test_constants_fill_every_element(
    name: str | float, args: dict[str, Any], value: float
) -> None:
    values = initialise((64, 32, 3), name, **args)
    assert torch.equal(values, torch.full_like(values, value))


def _he(nonlinearity_gain: float, mode: str) -> Any:
    return lambda fan_in, fan_out: (
        nonlinearity_gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    )


def _glorot(gain_: float) -> Any:
    return lambda fan_in, fan_out: gain_ * math.sqrt(2 / (fan_in + fan_out))


def _scaled(scale: float, mode: str) -> Any:
    def std(fan_in: int, fan_out: int) -> float:
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        return math.sqrt(scale / fan)

    return std


# (scheme, arguments, shape, the std the definition gives from (fan_in, fan_out), distribution)
FAN_SCALED = [
    ("xavier_uniform", {}, MATRIX, _glorot(1), "uniform"),
    ("xavier_uniform", {"gain": 2}, CONV, _glorot(2), "uniform"),
    ("glorot_normal", {}, MATRIX, _glorot(1), "normal"),
    ("xavier_normal", {"gain": 0.5}, CONV, _glorot(0.5), "normal"),
    # kaiming passes its a=0 as leaky_relu's slope, so the default gain is relu's
    ("kaiming_uniform", {}, MATRIX, _he(math.sqrt(2), "fan_in"), "uniform"),
    ("he_uniform", {"a": 0.2}, CONV, _he(math.sqrt(2 / 1.04), "fan_in"), "uniform"),
    (
        "kaiming_normal",
        {"mode": "fan_out", "nonlinearity": "relu"},
        CONV,
        _he(math.sqrt(2), "fan_out"),
        "normal",
    ),
    ("he_normal", {"nonlinearity": "tanh"}, MATRIX, _he(5 / 3, "fan_in"), "normal"),
    ("variance_scaling", {}, MATRIX, _scaled(1, "fan_in"), "truncated"),
    *[
        ("variance_scaling", {"scale": 2, "mode": mode, "distribution": distribution}, shape,
         _scaled(2, mode), kind)
        for mode in ("fan_in", "fan_out", "fan_avg")
        for distribution, kind in (
            ("truncated_normal", "truncated"), ("untruncated_normal", "normal"),
            ("uniform", "uniform"),
        )
        for shape in (MATRIX, CONV)
    ],
    ("lecun_normal", {}, CONV, _scaled(1, "fan_in"), "truncated"),
    ("lecun_uniform", {}, MATRIX, _scaled(1, "fan_in"), "uniform"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "shape", "expected", "distribution"), FAN_SCALED)
def test_fan_scaled_schemes_have_the_defined_std(
    name: str, args: dict[str, Any], shape: tuple[int, ...], expected: Any, distribution: str
) -> None:
    torch.manual_seed(0)
    values = initialise(shape, name, **args)
    std = expected(*fans(shape))
    assert values.std().item() == pytest.approx(std, rel=0.02)
    assert values.mean().item() == pytest.approx(0, abs=0.01 * std)
    largest = values.abs().max().item()
    if distribution == "uniform":
        bound = math.sqrt(3) * std
        assert 0.99 * bound < largest <= bound * (1 + 1e-6)
    elif distribution == "truncated":
        # the draw is cut at two of its own standard deviations, which exceed the target std
        bound = 2 * std / TRUNCATED_STD
        assert 0.99 * bound < largest <= bound * (1 + 1e-6)
    else:
        assert largest > 4 * std
        assert within_one_std(values, std) == pytest.approx(0.6827, abs=0.01)


@pytest.mark.parametrize(
    ("shape", "gain_"), [((256, 1024), 2.0), ((1024, 256), 1.0), ((64, 32, 3, 3), 1.5)]
)
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(
    shape: tuple[int, ...], gain_: float
) -> None:
    torch.manual_seed(0)
    matrix = initialise(shape, "orthogonal", gain=gain_).reshape(shape[0], -1).double()
    if matrix.shape[0] > matrix.shape[1]:
        matrix = matrix.T
    product = matrix @ matrix.T
    identity = torch.eye(matrix.shape[0], dtype=torch.float64)
    assert torch.allclose(product, gain_**2 * identity, atol=1e-4)


@pytest.mark.parametrize(
    ("conv", "size"), [(F.conv1d, (37,)), (F.conv2d, (17, 19)), (F.conv3d, (7, 8, 9))]
)
@pytest.mark.parametrize("name", ["dirac", "identity"])
def test_dirac_makes_a_convolution_the_identity(
    conv: Any, size: tuple[int, ...], name: str
) -> None:
    weight = initialise((16, 16, *(3,) * len(size)), name)
    x = torch.randn(2, 16, *size)
    assert torch.equal(conv(x, weight, padding=1), x)


def test_dirac_with_groups_is_the_identity_of_a_grouped_convolution() -> None:
    weight = initialise((64, 32, 3, 3), "dirac", groups=2)
    x = torch.randn(2, 64, 10, 10)
    assert torch.equal(F.conv2d(x, weight, padding=1, groups=2), x)


def test_dirac_with_more_outputs_than_inputs_copies_then_zeroes() -> None:
    weight = initialise((24, 16, 1, 1), "dirac")
    x = torch.randn(3, 16, 5, 5)
    y = F.conv2d(x, weight)
    assert torch.equal(y[:, :16], x)
    assert not y[:, 16:].any()


@pytest.mark.parametrize("layout", ["interleaved", "halves"])
def test_sinusoidal_fills_the_table_sinusoidal_positions_holds(layout: str) -> None:
    table = initialise((50, 16), "sinusoidal", layout=layout)
    expected = torch_helpers.SinusoidalPositions(50, 16, layout=layout).pe
    torch.testing.assert_close(table, expected, rtol=0, atol=1e-5)  # the buffer's float32 angles


def test_sinusoidal_halves_are_whispers_sinusoids() -> None:
    length, channels = 30, 12  # transformers' `sinusoids`, written out
    increment = math.log(10000) / (channels // 2 - 1)
    inverse = torch.exp(-increment * torch.arange(channels // 2, dtype=torch.float64))
    scaled = torch.arange(length, dtype=torch.float64)[:, None] * inverse[None, :]
    expected = torch.cat([scaled.sin(), scaled.cos()], dim=1).float()
    table = initialise((length, channels), "sinusoidal", layout="halves")
    torch.testing.assert_close(table, expected, rtol=0, atol=1e-6)


def test_sinusoidal_refuses_an_odd_or_too_narrow_width() -> None:
    scheme, args = resolve_scheme("sinusoidal", {"layout": "halves"})
    assert scheme.check_shape((10, 8), args) is None
    assert "width 7 must be even and at least 4" in str(scheme.check_shape((10, 7), args))
    assert "width 2 must be even and at least 4" in str(scheme.check_shape((10, 2), args))
    assert "1-d" in str(scheme.check_shape((10,), args))


@pytest.mark.parametrize("shape", [(30, 30), (30, 50), (50, 30)])
def test_eye_is_the_identity_matrix(shape: tuple[int, int]) -> None:
    assert torch.equal(initialise(shape, "eye"), torch.eye(*shape))


# --- reproducibility and ranks -------------------------------------------------------------------

CANONICAL = [scheme.name for scheme in inits.all_schemes()]
DETERMINISTIC = {"constant", "zeros", "ones", "dirac", "eye", "sinusoidal"}
# A shape every scheme fits: 2-d for eye and sinusoidal, a conv weight for dirac, anything else.
FITTING = {"eye": (40, 60), "sinusoidal": (40, 16), "dirac": (16, 8, 3, 3)}
ARGUMENTS = {"constant": {"value": 0.5}}


@pytest.mark.parametrize("name", CANONICAL)
def test_same_seed_gives_bit_identical_values(name: str) -> None:
    shape, args = FITTING.get(name, (64, 32, 3, 3)), ARGUMENTS.get(name, {})
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        runs.append(initialise(shape, name, **args))
    assert torch.equal(runs[0], runs[1])
    assert torch.equal(runs[0], runs[2]) == (name in DETERMINISTIC)


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("rank", range(7))
def test_rank_check_agrees_with_torch(name: str, rank: int) -> None:
    """A rank the scheme accepts runs; a rank it refuses makes torch (or the helper) fail."""
    scheme = inits.lookup(name)
    assert scheme is not None
    message = scheme.check_rank(rank)
    shape = (4,) * rank
    if message is None:
        initialise(shape, name, **ARGUMENTS.get(name, {}))
    else:
        assert f"{rank}-d" in message and f"`{name}`" in message
        with pytest.raises((ValueError, IndexError, RuntimeError)):
            initialise(shape, name, **ARGUMENTS.get(name, {}))


@pytest.mark.parametrize(
    ("name", "rank", "message"),
    [
        (
            "xavier_uniform",
            1,
            "`xavier_uniform` needs a tensor with at least 2 dimensions, not a 1-d one",
        ),
        ("kaiming_normal", 1, "at least 2 dimensions"),
        ("orthogonal", 0, "at least 2 dimensions, not a 0-d one"),
        ("variance_scaling", 1, "at least 2 dimensions"),
        ("lecun_normal", 1, "at least 2 dimensions"),
        ("dirac", 2, "`dirac` needs a tensor with 3 to 5 dimensions, not a 2-d one"),
        ("dirac", 6, "3 to 5 dimensions, not a 6-d one"),
        ("eye", 3, "`eye` needs a tensor with exactly 2 dimensions, not a 3-d one"),
    ],
)
def test_rank_messages(name: str, rank: int, message: str) -> None:
    scheme = inits.lookup(name)
    assert scheme is not None
    assert message in (scheme.check_rank(rank) or "")


def test_rank_fits() -> None:
    for name, rank in [("normal", 1), ("zeros", 0), ("xavier_normal", 4), ("dirac", 5)]:
        scheme = inits.lookup(name)
        assert scheme is not None and scheme.check_rank(rank) is None


def test_dirac_groups_must_divide_the_output_channels() -> None:
    scheme, args = resolve_scheme("dirac", {"groups": 3})
    assert scheme.check_shape((64, 32, 3, 3), args) == (
        "`dirac` groups=3 must divide the 64 output channels"
    )
    assert scheme.check_shape((63, 32, 3, 3), args) is None
    assert "2-d" in (scheme.check_shape((63, 32), args) or "")


# --- emitted text --------------------------------------------------------------------------------

GOLDEN = {
    ("uniform", ()): "nn.init.uniform_(module.weight)",
    ("uniform", (("a", -0.1), ("b", 0.1))): "nn.init.uniform_(module.weight, a=-0.1, b=0.1)",
    ("normal", (("std", 0.02),)): "nn.init.normal_(module.weight, std=0.02)",
    ("normal", (("mean", 1), ("std", 1))): "nn.init.normal_(module.weight, mean=1)",
    ("trunc_normal", (("std", 0.02),)): "nn.init.trunc_normal_(module.weight, std=0.02)",
    ("trunc_normal", (("mean", 0.5), ("a", 0), ("b", 1))): "nn.init.trunc_normal_(module.weight, mean=0.5, a=0, b=1)",
    ("constant", (("value", 1),)): "nn.init.constant_(module.weight, 1)",
    ("const", (("value", -0.5),)): "nn.init.constant_(module.weight, -0.5)",
    (0, ()): "nn.init.constant_(module.weight, 0)",
    ("zeros", ()): "nn.init.zeros_(module.weight)",
    ("ones", ()): "nn.init.ones_(module.weight)",
    ("xavier_uniform", ()): "nn.init.xavier_uniform_(module.weight)",
    ("glorot_uniform", (("gain", 1.5),)): "nn.init.xavier_uniform_(module.weight, gain=1.5)",
    ("xavier_normal", ()): "nn.init.xavier_normal_(module.weight)",
    ("glorot_normal", ()): "nn.init.xavier_normal_(module.weight)",
    ("kaiming_uniform", ()): "nn.init.kaiming_uniform_(module.weight)",
    ("he_uniform", (("a", 0.2), ("mode", "fan_out"))): "nn.init.kaiming_uniform_(module.weight, a=0.2, mode=\"fan_out\")",
    ("kaiming_normal", (("mode", "fan_out"), ("nonlinearity", "relu"))): "nn.init.kaiming_normal_(module.weight, mode=\"fan_out\", nonlinearity=\"relu\")",
    ("he_normal", (("a", 0.1), ("mode", "fan_out"), ("nonlinearity", "leaky_relu"))): "nn.init.kaiming_normal_(module.weight, a=0.1, mode=\"fan_out\")",
    ("orthogonal", ()): "nn.init.orthogonal_(module.weight)",
    ("orthogonal", (("gain", 1.4142135623730951),)): "nn.init.orthogonal_(module.weight, gain=1.4142135623730951)",
    ("variance_scaling", ()): "variance_scaling_(module.weight)",
    ("variance_scaling", (("scale", 2), ("mode", "fan_avg"), ("distribution", "uniform"))): "variance_scaling_(module.weight, scale=2, mode=\"fan_avg\", distribution=\"uniform\")",
    ("variance_scaling", (("scale", 0.1), ("distribution", "untruncated_normal"))): "variance_scaling_(module.weight, scale=0.1, distribution=\"untruncated_normal\")",
    ("lecun_normal", ()): "variance_scaling_(module.weight)",
    ("lecun_uniform", ()): "variance_scaling_(module.weight, distribution=\"uniform\")",
    ("dirac", ()): "nn.init.dirac_(module.weight)",
    ("identity", (("groups", 2),)): "nn.init.dirac_(module.weight, groups=2)",
    ("eye", ()): "nn.init.eye_(module.weight)",
    ("sinusoidal", ()): "sinusoidal_(module.weight)",
    ("sinusoidal", (("base", 100.0), ("layout", "halves"))): "sinusoidal_(module.weight, base=100.0, layout=\"halves\")",
}  # fmt: skip


def _emit(name: str | float, args: tuple[tuple[str, Any], ...]) -> str:
    scheme, validated = resolve_scheme(name, dict(args))
    return scheme.emit(validated, "module.weight")


@pytest.mark.parametrize(("key", "expected"), GOLDEN.items(), ids=[str(k[0]) for k in GOLDEN])
def test_emitted_statement(key: tuple[Any, Any], expected: str) -> None:
    assert _emit(*key) == expected


def test_golden_table_covers_every_name() -> None:
    assert {name for name, _ in GOLDEN if isinstance(name, str)} == set(inits.names())


def test_positional_arguments_bind_in_torch_order() -> None:
    scheme, args = resolve_scheme("variance_scaling", positional=(2, "fan_out", "uniform"))
    assert scheme.emit(args, "w") == (
        'variance_scaling_(w, scale=2, mode="fan_out", distribution="uniform")'
    )
    assert (
        resolve_scheme("normal", {"std": 0.1}, positional=(0.5,))[1]
        == resolve_scheme("normal", {"mean": 0.5, "std": 0.1})[1]
    )
    assert resolve_scheme("trunc_normal", positional=(0, 1, -3, 3))[1].a == -3


def test_every_called_function_is_torch_or_a_helper_the_scheme_carries() -> None:
    for scheme in inits.all_schemes():
        called = scheme.function
        assert called.startswith("nn.init.") or called in scheme.helpers, scheme.name
        for name, source in scheme.helpers.items():
            assert source.startswith(f"def {name}("), name


LONG_TENSOR = "self.transformer.blocks.attention.output_projection.weight"


def _generated_file(tensor: str, keys: list[tuple[Any, Any]]) -> str:
    """A module as the generator writes one: helpers, then init statements in a method."""
    helpers = {n: s for scheme in inits.all_schemes() for n, s in scheme.helpers.items()}
    body = []
    for name, args in keys:
        scheme, validated = resolve_scheme(name, dict(args))
        body += layout.lay_out(" " * 12, "", scheme.call(validated, tensor))
    return (
        "import torch\nfrom torch import nn\n\n\n"
        + "\n\n".join(helpers.values())
        + "\n\nclass Network(nn.Module):\n"
        + "    def init_module(self, name: str, module: nn.Module) -> None:\n"
        + "        if isinstance(module, nn.Conv2d):\n"
        + "\n".join(body)
        + "\n"
    )


@needs_ruff
@pytest.mark.parametrize("tensor", ["module.weight", LONG_TENSOR])
def test_emitted_code_is_ruff_formatted_and_clean(tmp_path: Path, tensor: str) -> None:
    path = tmp_path / "generated.py"
    path.write_text(_generated_file(tensor, list(GOLDEN)), encoding="utf-8")
    assert_ruff_formatted(path.read_text(encoding="utf-8"))
    select = ["--select", "E,F,W,I,B,UP,SIM,RUF"]
    linted = subprocess.run(
        [RUFF, "check", *RUFF_SETTINGS, *select, str(path)],  # type: ignore[list-item]
        capture_output=True,
        text=True,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_long_statements_are_wrapped_and_stay_one_statement() -> None:
    source = _generated_file(LONG_TENSOR, [("kaiming_normal", (("a", 0.1), ("mode", "fan_out")))])
    assert "            nn.init.kaiming_normal_(\n" in source
    compile(source, "<generated>", "exec")


def test_generated_file_runs_on_a_real_module() -> None:
    namespace: dict[str, Any] = {}
    exec(_generated_file("module.weight", [("variance_scaling", (("scale", 2),))]), namespace)
    torch.manual_seed(0)
    conv = nn.Conv2d(128, 256, 3)
    namespace["Network"]().init_module("conv", conv)
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (128 * 9)), rel=0.02)


def test_values_render_as_ruff_writes_them() -> None:
    assert _emit("trunc_normal", (("std", 0.02 / math.sqrt(2 * 12)),)) == (
        "nn.init.trunc_normal_(module.weight, std=0.004082482904638631)"
    )
    assert _emit("constant", (("value", 1e-05),)) == "nn.init.constant_(module.weight, 1e-05)"


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "message", "help_", "arg"),
    [
        ("kaiming_norml", {}, "unknown init scheme `kaiming_norml`", "did you mean `kaiming_normal`?", None),
        ("glorot_uniforn", {}, "unknown init scheme", "did you mean `glorot_uniform`?", None),
        ("spline", {}, "unknown init scheme `spline`", "known schemes: uniform, normal,", None),
        ("normal", {"stdd": 0.1}, "`normal` has no argument `stdd`", "did you mean `std`?", "stdd"),
        ("normal", {"variance": 0.1}, "`normal` has no argument `variance`", "`normal` takes `mean`, `std`", "variance"),
        ("zeros", {"value": 0}, "`zeros` has no argument `value`", "`zeros` takes no arguments", "value"),
        ("normal", {"std": "0.1"}, '`std` of `normal` must be a number, not "0.1"', None, "std"),
        ("normal", {"std": True}, "`std` of `normal` must be a number, not true", None, "std"),
        ("dirac", {"groups": 2.0}, "`groups` of `dirac` must be an integer, not 2.0", None, "groups"),
        ("normal", {"std": -0.1}, "`std` of `normal` must be greater than or equal to 0, not -0.1", "the rule is `std >= 0`; the nearest is 0", "std"),
        ("trunc_normal", {"std": 0}, "`std` of `trunc_normal` must be greater than 0, not 0", "the rule is `std > 0`; any value above 0", "std"),
        ("normal", {"mean": float("nan")}, "`mean` of `normal` must be a finite number, not nan", None, "mean"),
        ("kaiming_normal", {"mode": "fan_avg"}, '`mode` of `kaiming_normal` must be one of "fan_in", "fan_out", not "fan_avg"', None, "mode"),
        ("kaiming_uniform", {"nonlinearity": "reLU"}, "`nonlinearity` of `kaiming_uniform` must be one of", 'did you mean "relu"?', "nonlinearity"),
        ("variance_scaling", {"distribution": "truncated"}, "`distribution` of `variance_scaling` must be one of", None, "distribution"),
        ("uniform", {"a": 1, "b": -1}, "`uniform`: a=1 must be below b=-1", None, None),
        ("trunc_normal", {"a": 3}, "`trunc_normal`: a=3 must be below b=2", None, None),
        ("constant", {}, "`constant` needs the argument `value`", "e.g. constant(value=...)", "value"),
        (True, {}, "true is not an init scheme", "write a scheme name or a number", None),
        (0.5, {"std": 1}, "a plain number is a constant and takes no arguments", None, None),
    ],
)  # fmt: skip
def test_invalid_schemes_and_arguments(
    name: Any, args: dict[str, Any], message: str, help_: str | None, arg: str | None
) -> None:
    with pytest.raises(SchemeError) as caught:
        resolve_scheme(name, args)
    error = caught.value
    assert message in error.message
    assert str(error) == error.message
    if help_ is None:
        assert error.help is None
    else:
        assert help_ in (error.help or "")
    assert error.arg == arg


def test_positional_binding_errors() -> None:
    with pytest.raises(
        SchemeError, match=r"`normal` takes 2 positional arguments, got 3"
    ) as caught:
        resolve_scheme("normal", positional=(0, 1, 2))
    assert caught.value.help == "its arguments in order: (mean, std)"
    with pytest.raises(SchemeError, match="`normal` got argument `std` twice"):
        resolve_scheme("normal", {"std": 1}, positional=(0, 2))
    with pytest.raises(SchemeError, match="`eye` takes 0 positional arguments, got 1"):
        resolve_scheme("eye", positional=(1,))


def test_validated_arguments_are_immutable_and_keep_ints() -> None:
    _, args = resolve_scheme("uniform", {"a": -1, "b": 1})
    assert (args.a, args.b) == (-1, 1) and isinstance(args.a, int)
    with pytest.raises(AttributeError, match="frozen"):
        args.a = 0  # type: ignore[misc]


def test_registry_names_and_aliases() -> None:
    aliases = {
        "const": "constant", "glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
        "he_uniform": "kaiming_uniform", "he_normal": "kaiming_normal", "identity": "dirac",
    }  # fmt: skip
    for alias, name in aliases.items():
        assert inits.lookup(alias) is inits.lookup(name)
    assert len(CANONICAL) == len(set(CANONICAL)) == 17
    assert set(inits.names()) == set(CANONICAL) | set(aliases)


def test_every_scheme_in_the_language_docs_resolves() -> None:
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text[text.index("### Schemes") : text.index("## 12.")]
    documented = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", section, re.MULTILINE))
    names = {name for pair in documented for name in pair if name}
    assert len(names) >= 10
    assert names <= set(inits.names())


def test_the_static_path_does_not_import_torch() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        from archc.inits import resolve_scheme
        scheme, args = resolve_scheme("lecun_normal")
        print(scheme.emit(args, "w"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "variance_scaling_(w)"


# --- gains and nonlinearities --------------------------------------------------------------------

TORCH_NONLINEARITIES = [
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "selu", "leaky_relu",
]  # fmt: skip


@pytest.mark.parametrize("nonlinearity", TORCH_NONLINEARITIES)
def test_gain_matches_torch(nonlinearity: str) -> None:
    assert gain(nonlinearity) == pytest.approx(nn.init.calculate_gain(nonlinearity))


@pytest.mark.parametrize("slope", [0, 0.2, 1, 3])
def test_leaky_relu_gain_depends_on_its_slope(slope: float) -> None:
    assert gain("leaky_relu", slope) == pytest.approx(nn.init.calculate_gain("leaky_relu", slope))


def test_gain_of_an_activation_torch_has_no_gain_for() -> None:
    assert gain("gelu") is None and gain("silu") is None


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("xavier_uniform", {}, "linear"),
        ("glorot_normal", {"gain": math.sqrt(2)}, "relu"),
        ("xavier_normal", {"gain": 1.2}, None),
        ("orthogonal", {"gain": 5 / 3}, "tanh"),
        ("kaiming_normal", {}, "leaky_relu"),
        ("he_uniform", {"nonlinearity": "relu"}, "relu"),
        ("kaiming_normal", {"nonlinearity": "selu"}, "selu"),
        ("variance_scaling", {"scale": 2}, "relu"),
        ("variance_scaling", {}, "linear"),
        ("lecun_normal", {}, "linear"),
        ("lecun_uniform", {}, "linear"),
        ("normal", {"std": 0.02}, None),
        ("zeros", {}, None),
        ("dirac", {}, None),
        ("eye", {}, None),
    ],
)
def test_nonlinearity_of(name: str, args: dict[str, Any], expected: str | None) -> None:
    assert nonlinearity_of(*resolve_scheme(name, args)) == expected


@pytest.mark.parametrize(
    ("name", "args", "activation", "param", "warns"),
    [
        ("kaiming_normal", {}, "relu", None, False),  # leaky_relu with a=0 is relu's gain
        ("kaiming_normal", {"nonlinearity": "relu"}, "relu", None, False),
        ("kaiming_normal", {"nonlinearity": "relu"}, "tanh", None, True),
        ("xavier_uniform", {}, "relu", None, True),
        ("xavier_uniform", {}, "sigmoid", None, False),
        ("xavier_uniform", {}, "tanh", None, True),
        ("xavier_uniform", {"gain": math.sqrt(2)}, "relu", None, False),
        ("xavier_uniform", {}, "gelu", None, False),
        ("lecun_normal", {}, "selu", None, False),  # self-normalising networks want 1 / fan_in
        ("kaiming_normal", {"nonlinearity": "selu"}, "selu", None, False),
        ("kaiming_normal", {"a": 0.2}, "leaky_relu", 0.2, False),
        ("kaiming_normal", {"a": 0.2}, "leaky_relu", None, True),
        ("variance_scaling", {"scale": 2}, "relu", None, False),
        ("normal", {"std": 0.02}, "relu", None, False),
    ],
)
def test_gain_mismatch(
    name: str, args: dict[str, Any], activation: str, param: float | None, warns: bool
) -> None:
    message = gain_mismatch(*resolve_scheme(name, args), activation, param)
    assert (message is not None) == warns
    if message is not None:
        assert f"`{name}`" in message and f"`{activation}` follows" in message


def test_gain_mismatch_message() -> None:
    scheme, args = resolve_scheme("kaiming_normal", {"nonlinearity": "relu"})
    assert gain_mismatch(scheme, args, "tanh") == (
        "`kaiming_normal` assumes gain 1.414 (relu) next, but `tanh` follows, whose gain is 1.667"
    )


# --- LSUV ----------------------------------------------------------------------------------------


def _layer_output_stds(
    model: nn.Module, batch: torch.Tensor, types: tuple[type[nn.Module], ...]
) -> dict[str, float]:
    """The std of each layer's output in one eval-mode forward pass, by layer name."""
    stds: dict[str, float] = {}
    handles = []
    for name, layer in model.named_modules():
        if isinstance(layer, types):

            def record(
                _layer: nn.Module, _inputs: Any, output: torch.Tensor, name: str = name
            ) -> None:
                stds[name] = output.std().item()

            handles.append(layer.register_forward_hook(record))
    model.eval()
    with torch.no_grad():
        model(batch)
    for handle in handles:
        handle.remove()
    return stds


def _mlp(depth: int = 12) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(64, 128), nn.Tanh()]
    for _ in range(depth):
        layers += [nn.Linear(128, 128), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(128, 10))


def _cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Dropout(0.5),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )  # fmt: skip


LINEAR_AND_CONV = (nn.Linear, nn.Conv2d)


def test_lsuv_gives_every_mlp_layer_unit_output_std() -> None:
    torch.manual_seed(0)
    model, batch = _mlp(), torch.randn(256, 64)
    before = _layer_output_stds(model, batch, (nn.Linear,))
    assert max(abs(std - 1) for std in before.values()) > 0.5  # torch's default is far off
    assert lsuv(model, batch) is model
    after = _layer_output_stds(model, batch, (nn.Linear,))
    assert len(after) == 14
    assert all(abs(std - 1) <= 0.1 for std in after.values()), after


def test_lsuv_on_a_cnn_keeps_mode_and_batch_norm_statistics() -> None:
    torch.manual_seed(0)
    model, batch = _cnn(), torch.randn(32, 3, 24, 24)
    model.train()
    norm = model[3]
    assert isinstance(norm, nn.BatchNorm2d)
    lsuv(model, batch)
    assert model.training and norm.training
    assert int(norm.num_batches_tracked) == 0
    assert torch.equal(norm.running_mean, torch.zeros(64))
    after = _layer_output_stds(model, batch, LINEAR_AND_CONV)
    assert len(after) == 5
    assert all(abs(std - 1) <= 0.1 for std in after.values()), after


def test_lsuv_honours_target_and_tolerance() -> None:
    torch.manual_seed(0)
    model, batch = _mlp(depth=4), torch.randn(256, 64)
    lsuv(model, batch, target_std=0.5, tolerance=0.01)
    after = _layer_output_stds(model, batch, (nn.Linear,))
    assert all(abs(std - 0.5) <= 0.01 for std in after.values()), after


def test_lsuv_zeroes_biases_and_only_touches_the_chosen_layer_types() -> None:
    torch.manual_seed(0)
    model = _cnn()
    head = model[-1]
    assert isinstance(head, nn.Linear)
    head_weight = head.weight.clone()
    lsuv(model, torch.randn(8, 3, 24, 24), layer_types=(nn.Conv2d,))
    assert torch.equal(head.weight, head_weight)
    first = model[0]
    assert isinstance(first, nn.Conv2d) and first.bias is not None
    assert not first.bias.any()


def test_lsuv_is_deterministic_and_repeatable() -> None:
    batch = torch.randn(128, 64)
    weights = []
    for _ in range(2):
        torch.manual_seed(3)
        model = lsuv(_mlp(depth=3), batch)
        weights.append([p.clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights, strict=True))
    # a second pass starts over from fresh orthogonal matrices and lands in the same place
    lsuv(model, batch)
    after = _layer_output_stds(model, batch, (nn.Linear,))
    assert all(abs(std - 1) <= 0.1 for std in after.values()), after


def test_lsuv_takes_several_inputs() -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.left, self.right = nn.Linear(16, 32), nn.Linear(8, 32)
            self.out = nn.Linear(32, 4)

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return self.out(torch.tanh(self.left(a) + self.right(b)))

    torch.manual_seed(0)
    model = Pair()
    a, b = torch.randn(256, 16) * 5, torch.randn(256, 8)
    lsuv(model, (a, b))
    with torch.no_grad():
        assert model.left(a).std().item() == pytest.approx(1, abs=0.1)
        assert model.right(b).std().item() == pytest.approx(1, abs=0.1)


def test_lsuv_rejects_a_batch_that_does_not_fit_and_leaves_the_model_alone() -> None:
    torch.manual_seed(0)
    model = _cnn()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"a batch of shape \(8, 4, 24, 24\) does not fit"):
        lsuv(model, torch.randn(8, 4, 24, 24))
    with pytest.raises(ValueError, match=r"a batch of shape \(8, 3\) does not fit"):
        lsuv(model, torch.randn(8, 3))
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_lsuv_errors() -> None:
    with pytest.raises(ValueError, match="no layer of the types Linear, Conv1d"):
        lsuv(nn.Sequential(nn.ReLU()), torch.randn(4, 4))
    with pytest.raises(ValueError, match="layer `0` gives a constant output"):
        lsuv(nn.Sequential(nn.Linear(4, 4)), torch.zeros(8, 4))
    with pytest.raises(ValueError, match="layer `Linear` gives a constant output"):
        lsuv(nn.Linear(4, 4), torch.zeros(8, 4))
    with pytest.raises(ValueError, match="target_std must be positive"):
        lsuv(nn.Linear(4, 4), torch.randn(8, 4), target_std=0)
    with pytest.raises(ValueError, match="tolerance must not be negative"):
        lsuv(nn.Linear(4, 4), torch.randn(8, 4), tolerance=-1)


def test_lsuv_warns_when_it_runs_out_of_iterations() -> None:
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match=r"layer `0` output std is .* after 0 rescalings"):
        lsuv(nn.Sequential(nn.Linear(64, 64)), torch.randn(256, 64) * 10, max_iterations=0)


def test_lsuv_docstring_example_runs() -> None:
    doc = lsuv.__doc__ or ""
    example = textwrap.dedent(doc[doc.index("::") + 2 :])
    namespace: dict[str, Any] = {}
    exec(example, namespace)
    model, batch = namespace["model"], torch.randn(512, 64)
    # on a fresh batch from the same distribution the scaling still holds, roughly
    stds = _layer_output_stds(model, batch, (nn.Linear,))
    assert len(stds) == 2
    assert all(abs(std - 1) <= 0.2 for std in stds.values()), stds


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_lsuv_on_cuda_matches_its_own_seed() -> None:
    batch = torch.randn(256, 64, device="cuda")
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = lsuv(_mlp(depth=4).cuda(), batch)
        results.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(results[0], results[1])
    after = _layer_output_stds(model, batch, (nn.Linear,))
    assert all(abs(std - 1) <= 0.1 for std in after.values()), after
