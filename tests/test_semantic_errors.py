"""Semantic errors: golden `.stderr` files, annotations, diagnostics field by field, explanations.

Each `tests/diagnostics/semantic/<case>.arch` is a spec with a mistake a practitioner makes. Every
line where a diagnostic must be reported carries a `# error: CODE` or `# warning: CODE` comment,
and the rendering of `archc check` is kept beside it in `<case>.stderr` (rewrite those with
`pytest --update-goldens` and review the diff). Files that a case imports live in `<case>/`;
their annotations count too. `strict/` holds the cases checked with `--strict`.

The last part checks `archc explain` and `docs/errors.md`: every code archc can report has an
explanation, and the document is generated from them.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy
import pytest

from archc import api, explain
from archc.cli import main
from archc.errors import Diagnostic, UsageError, render_all
from tests.conftest import ROOT, check_golden
from tests.oracle import check_compiled, compile_spec

SEMANTIC = ROOT / "tests" / "diagnostics" / "semantic"
CASES = sorted(SEMANTIC.glob("*.arch"))
STRICT_CASES = sorted((SEMANTIC / "strict").glob("*.arch"))
ANNOTATION = re.compile(r"#\s*(error|warning):\s*(A\d{3})\b")

# Cases whose diagnostics differ from their annotations, which say what should be reported. The
# marks are strict: once the compiler is fixed the test passes, fails as an xpass, and the entry
# has to go.
MISREPORTED: dict[str, str] = {}


@functools.cache
def diagnostics_of(case: Path, strict: bool = False) -> tuple[Diagnostic, ...]:
    """`archc check` of ``case``, run from the repository root so that paths are the same
    everywhere (each case is checked once per session)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return tuple(api.check(case.relative_to(ROOT).as_posix(), strict=strict))


def normalised(text: str) -> str:
    """Output as the goldens keep it: an absolute path into the checkout starts with `$ROOT`."""
    return text.replace(f"{ROOT.as_posix()}/", "$ROOT/")


def annotations(case: Path) -> list[tuple[Path, int, str, str]]:
    """(file, line, severity, code) for every annotation in ``case`` and its imported files."""
    imported = case.with_suffix("")
    files = [case, *(sorted(imported.rglob("*.arch")) if imported.is_dir() else [])]
    return sorted(
        (path.resolve(), number, match[1], match[2])
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in ANNOTATION.finditer(line)
    )


def reported(diagnostics: tuple[Diagnostic, ...]) -> list[tuple[Path, int, str, str]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return sorted(
            (Path(d.span.file).resolve(), d.span.line, d.severity, d.code)
            for d in diagnostics
            if d.span
        )


def only(name: str) -> Diagnostic:
    (diagnostic,) = diagnostics_of(SEMANTIC / f"{name}.arch")
    return diagnostic


def _case_param(case: Path) -> object:
    reason = MISREPORTED.get(case.stem)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(case, id=case.stem, marks=marks)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_rendering_matches_golden(case: Path, bless: bool) -> None:
    text = normalised(render_all(diagnostics_of(case), color=False))
    check_golden(case.with_suffix(".stderr"), text, bless)


@pytest.mark.parametrize("case", [_case_param(case) for case in CASES])
def test_annotations_match_diagnostics(case: Path) -> None:
    assert reported(diagnostics_of(case)) == annotations(case)


def test_no_golden_shows_a_python_object() -> None:
    """Messages show values as a spec writes them, or name them in words (`the layer `log``):
    never as Python's repr of archc's own objects."""
    goldens = sorted((ROOT / "tests" / "diagnostics").rglob("*.stderr"))
    leaks = re.compile(r"object at 0x|<archc\.|<function |Span\(start=|\w+Layer\(")
    assert len(goldens) > 100
    assert [g.name for g in goldens if leaks.search(g.read_text(encoding="utf-8"))] == []


def test_every_case_has_a_golden_and_an_annotation() -> None:
    goldens = {path.stem for path in SEMANTIC.glob("*.stderr")}
    assert goldens == {case.stem for case in CASES}
    assert [case.stem for case in CASES if not annotations(case)] == []
    assert len(CASES) >= 45
    assert set(MISREPORTED) <= goldens


def test_cases_cover_every_shape_code() -> None:
    covered = {code for case in CASES for *_, code in annotations(case)}
    shape_codes = {code for code in explain.EXPLANATIONS if code.startswith("A3")}
    assert sorted(shape_codes - covered) == []


# --- field by field ------------------------------------------------------------------------------
# The numbers in `with`, as the rule's formula with the values plugged in.
WITH = {
    "residual_channel_mismatch": "(N, 256, 56, 56) + (N, 64, 56, 56): axis 1 is 256 vs 64",
    "residual_stride_mismatch": (
        "(N, 64, 28, 28) + (N, 64, 56, 56): axes 2 and 3 are (28, 28) vs (56, 56)"
    ),
    "kernel_larger_than_input": "H=1, F=3, P=0, S=2  ->  (1 - 3 + 2*0)/2 + 1 = 0",
    "concat_spatial_mismatch": "(N, 512, 64, 64) and (N, 512, 56, 56): axis 2 is 64 vs 56",
    "attention_heads_divide_width": "512 % 12 = 8",
    "kv_heads_divide_heads": "32 % 6 = 2",
    "groups_divide_channels": "48 % 32 = 16",
    "uneven_tiling": "H=16, F=5, P=0, S=2  ->  (16 - 5 + 2*0)/2 + 1 = 6.5",
    "pixel_shuffle_channels": "C=12, r=3  ->  12 % 9 = 3",
    "reshape_element_count": "1024*4*4 = 16384, but each sample of (N, 8192) has 8192",
    "division_by_zero": "64 // 0",
    "assert_fails": "width = 1024, heads = 10",
    "huge_repeat": "n = 1,000,000,000",
}


# The code, the severity, and where the caret starts and ends (one line each).
@pytest.mark.parametrize(
    ("case", "code", "severity", "line", "col", "end_col"),
    [
        ("residual_channel_mismatch", "A303", "error", 8, 14, 19),
        ("residual_stride_mismatch", "A307", "error", 11, 14, 22),
        ("kernel_larger_than_input", "A301", "error", 10, 59, 60),
        ("concat_spatial_mismatch", "A306", "error", 7, 9, 31),
        ("attention_heads_divide_width", "A305", "error", 4, 56, 61),
        ("kv_heads_divide_heads", "A305", "error", 6, 40, 48),
        ("groups_divide_channels", "A305", "error", 4, 47, 58),
        ("uneven_tiling", "A302", "warning", 5, 35, 36),
        ("pixel_shuffle_channels", "A305", "error", 6, 63, 68),
        ("reshape_element_count", "A309", "error", 4, 56, 66),
        ("division_by_zero", "A224", "error", 5, 38, 47),
        ("embedding_float_input", "A308", "error", 4, 19, 42),
        ("unknown_argument", "A208", "error", 4, 32, 39),
        ("huge_repeat", "A223", "error", 9, 29, 39),
        ("assert_fails", "A221", "error", 4, 12, 30),
        ("as_on_tensor", "A228", "error", 4, 48, 53),
        ("positional_after_keyword", "A235", "error", 5, 44, 45),
        ("unused_tensor", "A217", "warning", 5, 5, 8),
    ],
)
def test_diagnostic_fields(
    case: str, code: str, severity: str, line: int, col: int, end_col: int
) -> None:
    diagnostic = only(case)
    assert diagnostic.span is not None
    span = diagnostic.span
    assert (diagnostic.code, diagnostic.severity) == (code, severity)
    assert (span.line, span.col, span.end_line, span.end_col) == (line, col, line, end_col)
    assert diagnostic.with_ == WITH.get(case)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown_name", "did you mean `shortcut`?"),
        ("unknown_op", "did you mean `maxpool1d` or `maxpool2d` or `maxpool3d`?"),
        ("unknown_argument", "did you mean `stride`?"),
        ("unknown_attribute", "did you mean `channels`?"),
        ("tie_unknown_parameter", "did you mean `wte.weight`?"),
        (
            "attention_heads_divide_width",
            "head counts dividing 512 near 12: 4, 8, 16, 32; or give `head_dim` explicitly",
        ),
        ("kv_heads_divide_heads", "kv_heads dividing 32: 1, 2, 4, 8, 16, 32"),
        (
            "residual_channel_mismatch",
            "project the skip (N, 64, 56, 56) with conv2d(256, 1) to (N, 256, 56, 56)",
        ),
        (
            "residual_projection_stride",
            "project the skip (N, 64, 56, 56) with conv2d(128, 1, stride=2) to (N, 128, 28, 28)",
        ),
        (
            "residual_stride_mismatch",
            "project the skip (N, 64, 56, 56) with conv2d(64, 1, stride=2) to (N, 64, 28, 28)",
        ),
        ("groups_divide_channels", "groups dividing both 48 and 128: 1, 2, 4, 8, 16"),
        ("padding_string_typo", 'did you mean `"same"`?'),
        ("float_where_integer", "use `//` for whole-number division"),
        ("python_literal", "write `false`: literals are lowercase"),
        (
            "symbolic_linear",
            "axis 1 has the fixed size 80: `transpose(1, 2)` first makes the input (N, T, 80)",
        ),
        ("missing_required_argument", "e.g. conv2d(out_channels, kernel_size)"),
    ],
)
def test_help_gives_concrete_values(case: str, expected: str) -> None:
    diagnostics = [d for d in diagnostics_of(SEMANTIC / f"{case}.arch") if d.is_error]
    assert [d.help for d in diagnostics] == [expected]


@pytest.mark.parametrize(
    ("line", "spelling"),
    [
        ("x -> nn.Conv2d(3, 64, 3, stride=2)", "`conv2d(64, 3, stride=2)`"),
        ("x -> nn.Conv2d(3, 64, kernel_size=3)", "`conv2d(64, kernel_size=3)`"),
        ("x -> nn.BatchNorm2d(3)", "`batchnorm2d`"),
        ("x -> torch.nn.MaxPool2d(2)", "`maxpool2d(2)`"),
        ("x -> nn.ConvTranspose2d(3, 8, 4)", "`conv_transpose2d(8, 4)`"),
        ("layers.Conv2D(64, 3)(x)", "`x -> conv2d(64, 3)`"),
        ("x -> keras.layers.AdaptiveAvgPool2D(1)", "`adaptive_avgpool2d(1)`"),
    ],
)
def test_framework_layers_get_their_archc_spelling(
    tmp_path: Path, line: str, spelling: str
) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(f"network N {{\n    in x: [3, 8, 8]\n    out {line}\n}}\n")
    (diagnostic,) = api.check(str(spec))
    assert diagnostic.code == "A205"
    assert diagnostic.help is not None and f"is written {spelling} in archc" in diagnostic.help


def test_an_unknown_framework_layer_is_not_a_did_you_mean(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text("network N {\n    in x: [3, 8, 8]\n    out x -> nn.Conv9d(3, 64)\n}\n")
    (diagnostic,) = api.check(str(spec))
    assert diagnostic.help is not None and diagnostic.help.startswith("archc has no `nn`")


def test_a_value_out_of_range_states_the_rule(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text("network N {\n    in x: [3, 8, 8]\n    out x -> dropout(p=1.5)\n}\n")
    (diagnostic,) = api.check(str(spec))
    assert (diagnostic.code, diagnostic.rule, diagnostic.with_, diagnostic.help) == (
        "A210",
        "0 <= p <= 1",
        "p = 1.5",
        "the nearest accepted value is 1",
    )


@pytest.mark.parametrize(
    ("layer", "help"),
    [
        ("avgpool2d(2, stride=0)", "the nearest accepted value is 1"),
        ("batchnorm2d(eps=0.0)", "any value above 0 is accepted"),
        ("dropout(p=-1)", "the nearest accepted value is 0"),
    ],
)
def test_range_hints(tmp_path: Path, layer: str, help: str | None) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(f"network N {{\n    in x: [3, 8, 8]\n    out x -> {layer}\n}}\n")
    assert [d.help for d in api.check(str(spec))] == [help]


@pytest.mark.parametrize(
    ("layer", "message", "help"),
    [
        (
            "conv2d(8, 3.0)",
            "`kernel_size` of `conv2d` must be a whole number or a tuple, got 3.0",
            "use `//` for whole-number division",
        ),
        (
            "conv2d(8, (3, 2.0))",
            "`kernel_size[1]` of `conv2d` must be a whole number, got 2.0",
            "use `//` for whole-number division",
        ),
        (
            "conv2d(-8, 3)",
            "`out_channels` of `conv2d` must be positive, got -8",
            "the nearest accepted value is 1",
        ),
        (
            "conv2d(8, 3, bias=1)",
            "`bias` of `conv2d` must be true or false, got 1",
            "write `true`",
        ),
        (
            "reshape(-1, -1)",
            "invalid `shape` for `reshape`: only one size can be -1, got (-1, -1)",
            None,
        ),
        (
            "batchnorm2d(momentum=2.0)",
            "`momentum` of `batchnorm2d` must be between 0 and 1, got 2.0",
            "the nearest accepted value is 1",
        ),
        (
            'upsample(scale_factor=2, mode="Nearest")',
            '`mode` of `upsample` must be one of "nearest", "nearest-exact", "linear", '
            '"bilinear", "bicubic", "trilinear", got "Nearest"',
            'did you mean `"nearest"`?',
        ),
    ],
)
def test_invalid_arguments_are_worded_plainly(
    tmp_path: Path, layer: str, message: str, help: str | None
) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(f"network N {{\n    in x: [3, 8, 8]\n    out x -> {layer}\n}}\n")
    (diagnostic,) = api.check(str(spec))
    assert (diagnostic.code, diagnostic.message, diagnostic.help) == ("A210", message, help)


def test_assert_reports_its_message() -> None:
    diagnostic = only("assert_fails")
    assert (diagnostic.message, diagnostic.label, diagnostic.with_) == (
        "assertion failed: width must be a multiple of heads",
        "this is false",
        "width = 1024, heads = 10",
    )


def test_error_inside_blocks_names_the_call_chain_outermost_last() -> None:
    diagnostic = only("error_inside_nested_block")
    path = "tests/diagnostics/semantic/error_inside_nested_block.arch"
    assert diagnostic.notes[-2:] == (
        f"inside block `Bottleneck`, used at {path}:18:14",
        f"inside block `Stage`, used at {path}:25:14",
    )


def test_independent_errors_are_all_reported_without_cascades() -> None:
    diagnostics = diagnostics_of(SEMANTIC / "several_independent_errors.arch")
    assert [(d.code, d.span.line) for d in diagnostics if d.span] == [
        ("A208", 5),
        ("A205", 7),
        ("A305", 10),
    ]


def test_import_cycle_is_reported_at_the_use_that_closes_it() -> None:
    (diagnostic,) = diagnostics_of(SEMANTIC / "import_cycle.arch")
    assert diagnostic.code == "A201"
    assert diagnostic.message == (
        "import cycle: resnet_blocks.arch -> common.arch -> resnet_blocks.arch"
    )
    assert diagnostic.span is not None and Path(diagnostic.span.file).name == "common.arch"


# --- the command line: --strict and -D -----------------------------------------------------------
@pytest.mark.parametrize("case", STRICT_CASES, ids=lambda case: case.stem)
def test_strict_turns_padding_only_tiling_into_an_error(
    case: Path, bless: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert diagnostics_of(case) == ()
    monkeypatch.chdir(ROOT)
    assert main(["check", "--strict", case.relative_to(ROOT).as_posix()]) == 1
    check_golden(case.with_suffix(".stderr"), normalised(capsys.readouterr().err), bless)
    assert reported(diagnostics_of(case, strict=True)) == annotations(case)


def test_unknown_define_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "-D", "clases=10", "specs/resnet18.arch"]) == 2
    assert capsys.readouterr().err == (
        "archc: error: -D clases: no network here has a parameter `clases`; "
        "did you mean `classes`?\n"
    )


WIDTHS = """
network N(widths=(8, 16)) {
    in x: [4]
    out x -> linear(widths[0]) -> relu -> linear(widths[1])
}
"""


def test_define_gives_a_tuple_as_a_spec_writes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "widths.arch"
    spec.write_text(WIDTHS)
    assert main(["check", "-D", "widths=[2, (3)]", str(spec)]) == 0
    assert capsys.readouterr().err == f"ok: {spec}: N, {4 * 2 + 2 + 2 * 3 + 3} parameters\n"
    assert main(["check", "-D", "widths=(2, -3)", str(spec)]) == 1
    assert "`out_features` of `linear` must be" in capsys.readouterr().err
    assert main(["check", "-D", "widths=(2, x)", str(spec)]) == 1  # an expression: evaluated
    assert capsys.readouterr().err.startswith(
        "error[A205]: unknown name `x`\n --> <-D>:1:14\n  |\n1 | widths = (2, x)\n"
        "  |              ^ not defined\n"
    )
    assert main(["check", "-D", "widths=(2,", str(spec)]) == 2
    assert capsys.readouterr().err == "archc: error: cannot read the value in -D widths=(2,\n"


ACT = """
width = 4
block Unit(channels, act=relu) {
    in x
    out x -> conv2d(channels, 3, padding=1) -> act
}
network Net(act=relu, channels=8) {
    in x: [3, H, W]
    out x -> Unit(channels, act=act) as a -> Unit(channels) as b -> act
}
"""


def test_define_writes_a_layer_or_an_expression_as_a_spec_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "act.arch"
    spec.write_text(ACT)
    (network,), _ = api.analyse(str(spec), None, api.parse_defines(["act=leaky_relu(0.1)"]))
    ops = [node.op for node in network.nodes() if node.kind == "op"]
    assert ops == ["conv2d", "leaky_relu", "conv2d", "relu", "leaky_relu"]
    slopes = [n.args.negative_slope for n in network.nodes() if n.op == "leaky_relu"]
    assert slopes == [0.1, 0.1]
    defines = api.parse_defines(["channels=2 * width + 1"])
    (network,), _ = api.analyse(str(spec), None, defines)
    assert network.args["channels"] == 9
    assert main(["check", "-D", "act=gelux", str(spec)]) == 1
    assert "unknown name `gelux`" in capsys.readouterr().err
    assert main(["check", "-D", "H=2 * width", str(spec)]) == 2
    assert capsys.readouterr().err == (
        "archc: error: -D H: a symbolic size is given a number, not an expression\n"
    )


def test_a_layer_default_with_arguments_compiles_and_computes_as_the_spec(
    tmp_path: Path,
) -> None:
    """`partial(nn.LeakyReLU, negative_slope=0.1)` as a constructor's default imports
    `partial`, whether the spec's default or `-D` gives the layer."""
    spec = tmp_path / "act.arch"
    spec.write_text(ACT.replace("network Net(act=relu", "network Net(act=leaky_relu(0.1)"))
    networks, module = compile_spec(spec, {"H": 8, "W": 8})
    check_compiled(networks, module)
    spec.write_text(ACT)
    networks, module = compile_spec(spec, api.parse_defines(["act=leaky_relu(0.1)"]))
    check_compiled(networks, module)


def test_python_values_are_given_as_a_spec_writes_them(tmp_path: Path) -> None:
    spec = tmp_path / "widths.arch"
    spec.write_text(WIDTHS)
    for given in ([2, 3], [numpy.int64(2), 3]):
        (network,), diagnostics = api.analyse(str(spec), None, {"widths": given})
        assert network.args["widths"] == (2, 3) and network.param_count == 4 * 2 + 2 + 2 * 3 + 3
        assert [d.message for d in diagnostics if d.is_error] == []
    with pytest.raises(UsageError, match=r"widths=\{'a': 1\}: .* this one is of type dict"):
        api.analyse(str(spec), None, {"widths": {"a": 1}})
    inside: list[object] = [2]
    inside.append(inside)
    with pytest.raises(UsageError, match="widths: the value is nested more than 64 deep"):
        api.analyse(str(spec), None, {"widths": inside})


# --- explanations --------------------------------------------------------------------------------
CODE = re.compile(r'"(A[1-5]\d\d)"')


def codes_in_source() -> set[str]:
    return {
        code
        for path in (ROOT / "archc").rglob("*.py")
        for code in CODE.findall(path.read_text(encoding="utf-8"))
    }


def test_every_code_in_the_source_is_explained() -> None:
    found = codes_in_source()
    assert len(found) > 80
    assert sorted(found - set(explain.EXPLANATIONS)) == []


def test_explanations_follow_the_style() -> None:
    for code, entry in explain.EXPLANATIONS.items():
        assert entry.code == code and re.fullmatch(r"A[1-5]\d\d", code)
        assert entry.title and not entry.title[0].isupper() and not entry.title.endswith(".")
        assert entry.text.endswith(".") and "\n\n" not in entry.text.strip()
        assert entry.example.endswith("\n") and entry.fix.endswith("\n")
        assert entry.example != entry.fix


def test_examples_report_their_code_and_fixes_report_no_error(tmp_path: Path) -> None:
    for code, entry in explain.EXPLANATIONS.items():
        if not entry.runnable:
            continue
        spec = tmp_path / "example.arch"
        spec.write_text(entry.example, encoding="utf-8")
        assert code in {d.code for d in api.check(str(spec))}, code
        spec.write_text(entry.fix, encoding="utf-8")
        assert [d.code for d in api.check(str(spec)) if d.is_error] == [], code


def test_errors_doc_is_generated_from_the_explanations() -> None:
    doc = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert doc == explain.render_markdown(), (
        "docs/errors.md is stale; run `python -m archc.explain > docs/errors.md`"
    )


def test_explain_prints_the_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "a303"]) == 0
    out = capsys.readouterr().out
    assert out == explain.render_text(explain.EXPLANATIONS["A303"])
    assert out.startswith("A303: ")


def test_explain_refuses_an_unknown_code_with_suggestions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "A3O3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archc: error: unknown diagnostic code `A3O3`; did you mean `A303`")
