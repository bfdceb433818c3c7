"""Every op's and init scheme's arguments against a corpus of wrong values: the diagnostic each
case gives, and the value each accepted one is stored as, kept in a golden file.

The corpus is generated from the registry: every field of every op (and of every init scheme)
given each kind of wrong value (another type, true for a number, a fraction for a whole number,
values on both sides of each bound, a misspelt choice, tuples too short, too long and holding the
wrong entries), each argument left out in turn, and a misspelt name. A change in how arguments
are checked must leave this file unchanged (`pytest tests/test_argument_refusals.py
--update-goldens` regenerates it; review the diff).
"""

from __future__ import annotations

import bisect
import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from archc import api
from archc.backends import reference
from archc.errors import Diagnostic
from archc.inits.registry import all_schemes
from archc.ops import all_ops
from archc.ops.spec import Op
from tests.conftest import check_golden

GOLDEN = Path(__file__).parent / "golden" / "argument_refusals.txt"


@pytest.fixture(autouse=True)
def _no_parse_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each section's text is parsed once and never again: storing its tree in the parse
    cache (archc/syntax/cache.py) would only cost a pickle and a file per section."""
    monkeypatch.setenv("ARCHC_NO_CACHE", "1")


# Values of every kind, as a spec writes them.
WRONG = (
    "true", "false", "0", "1", "-1", "2", "3", "10001", "0.0", "0.5", "-0.5", "1.5", "2.0",
    "inf", "-inf", '"x"', '"same"', "none", "(1,)", "(2, 2)", "(1, -1)", "(0.5, 2)",
    "(true, 1)", '("a",)', "(1, 2, 3)", "(2, 2, 2, 2, 2)", "((1, 2),)", "(none, 2)", "(-1, -2)",
)  # fmt: skip


def _choices(annotation: Any) -> list[str]:
    """The strings a field's type lists anywhere in it."""
    if typing.get_origin(annotation) is Literal:
        return [c for c in typing.get_args(annotation) if isinstance(c, str)]
    return [c for arg in typing.get_args(annotation) for c in _choices(arg)]


# Python values given to a schema directly, as the importer and code generation do: which are
# accepted, and as what.
PYTHON = (
    True, 0, 1, -1, 2, 1.0, 0.5, -0.5, float("inf"), float("nan"), "x", "same", None, (2,),
    (2, 2), [2, 2], (1, -1), (True, 1), (0.5, 2.0), ((1, 2),), (None, 2), 2**70,
)  # fmt: skip


def _values(annotation: Any) -> list[str]:
    """The corpus for one field: the fixed values, and near misses of its choices."""
    near = [f'"{c.upper()}"' for c in _choices(annotation)]
    near += [f'"{c[:-1]}"' for c in _choices(annotation) if len(c) > 1]
    return list(WRONG) + list(dict.fromkeys(near))


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _validated(cls: type, values: dict[str, Any]) -> Any:
    return cls(**values)


def _given(args: Any) -> set[str]:
    return set(args.given)


def _field_names(cls: type) -> list[str]:
    return list(cls.fields)


def _stored(cls: type, values: dict[str, Any]) -> str:
    """The fields as validation stores them, with their types, or that they were refused."""
    try:
        args = _validated(cls, values)
    except ValueError:
        return "refused"
    shown = [f"{name}={getattr(args, name)!r}" for name in _field_names(cls)]
    return f"{', '.join(shown)}; given {sorted(_given(args))}"


# Names a spec cannot write before `=`: an argument with one is given by position.
KEYWORDS = (
    "and", "as", "assert", "block", "else", "false", "if", "in", "init", "network", "none",
    "not", "or", "out", "then", "tie", "true", "use",
)  # fmt: skip


def _arguments(op: Op, written: dict[str, str]) -> str:
    """The arguments as a call writes them: by name, but for a keyword's and those before it."""
    named = [k for k in written if k in KEYWORDS and k in op.positional]
    leading = op.positional[: op.positional.index(named[-1]) + 1] if named else ()
    if any(k not in written for k in leading):
        return ", ".join(f"{k}={v}" for k, v in written.items() if k not in KEYWORDS)
    values = [written[k] for k in leading]
    values += [f"{k}={v}" for k, v in written.items() if k not in leading]
    return ", ".join(values)


def _base(op: Op) -> dict[str, Any]:
    return reference._bind(op, reference.EXAMPLES.get(op.name, reference.Example()))


def _op_cases(op: Op) -> list[tuple[str, dict[str, str]]]:
    """(what the case tries, the arguments as written) for one op."""
    base = {k: reference.spec_value(v) for k, v in _base(op).items()}
    hints = {k: v for k, v in _hints(op.Args).items() if k in _field_names(op.Args)}
    cases: list[tuple[str, dict[str, str]]] = [("as documented", base)]
    for field, annotation in hints.items():
        for value in _values(annotation):
            cases.append((f"{field}={value}", {**base, field: value}))
        if field in base:
            cases.append((f"without {field}", {k: v for k, v in base.items() if k != field}))
        cases.append((f"{field}z=1", {**base, f"{field}z": "1"}))
    return cases


def _network(example: reference.Example, call: str) -> list[str]:
    count = len(example.inputs)
    names = [f"x{i}" for i in range(count)]
    lines = []
    for i, shape in enumerate(example.inputs):
        if i in example.made:
            lines.append(f"    x{i} = {example.made[i]}")
        else:
            lines.append(f"    in x{i}: {reference.spec_type(shape, example.dtype_of(i))}")
    if count != 1:
        lines.append(f"    out {call.replace('(', '(' + ''.join(n + ', ' for n in names), 1)}")
    else:
        lines.append(f"    out x0 -> {call}")
    return lines


def _shown(diagnostic: Diagnostic) -> str:
    """Everything a diagnostic says, on one line."""
    span = diagnostic.span
    where = f"{span.col}-{span.end_col}" if span else "-"
    parts = [f"{diagnostic.code} {where} {diagnostic.message}", diagnostic.label]
    parts += [f"{key}: {value}" for key, value in _details(diagnostic) if value]
    return " | ".join(parts)


def _details(diagnostic: Diagnostic) -> list[tuple[str, str | None]]:
    return [
        ("rule", diagnostic.rule),
        ("with", diagnostic.with_),
        ("help", diagnostic.help),
        *(("note", note) for note in diagnostic.notes),
    ]


def _section(name: str, cases: list[tuple[str, list[str]]]) -> str:
    """One file of one network per case, analysed once; each case with its diagnostics."""
    rows = [f"=== {name}"]
    try:
        found = _analysed(name, cases)
    except Exception:  # analysed case by case, so that the crash shows at its case alone
        found = {}
        for index, case in enumerate(cases):
            try:
                found[index] = _analysed(name, [case]).get(0, [])
            except Exception as exc:
                found[index] = [f"crashed: {type(exc).__name__}: {exc}"]
    for index, (what, _) in enumerate(cases):
        rows.append(f"{what}: " + (" || ".join(found.get(index, [])) or "ok"))
    return "\n".join(rows)


def _analysed(name: str, cases: list[tuple[str, list[str]]]) -> dict[int, list[str]]:
    """The errors of each case, by index."""
    lines: list[str] = []
    first_lines = []
    for index, (_, network) in enumerate(cases):
        first_lines.append(len(lines) + 1)
        lines += [f"network Case{index} {{", *network, "}"]
    _, diagnostics = api.analyse_text(f"{name}.arch", "\n".join(lines) + "\n")
    found: dict[int, list[str]] = {}
    for diagnostic in diagnostics:
        if diagnostic.severity == "error" and diagnostic.span is not None:
            case = bisect.bisect_right(first_lines, diagnostic.span.line) - 1
            found.setdefault(case, []).append(_shown(diagnostic))
    return found


def test_op_argument_refusals_are_unchanged(bless: bool) -> None:
    sections = []
    for op in all_ops():
        if "." in op.name:
            continue
        example = reference.EXAMPLES.get(op.name, reference.Example())
        cases = []
        for what, written in _op_cases(op):
            listed = _arguments(op, written)
            call = f"{op.name}({listed})" if listed else op.name
            cases.append((what, _network(example, call)))
        sections.append(_section(op.name, cases))
    check_golden(GOLDEN, "\n".join(sections) + "\n", bless)


def _scheme_cases(scheme: Any) -> list[tuple[str, list[str]]]:
    """One network per case, a convolution whose weight the rule initialises."""
    base = {"value": "1"} if "value" in _field_names(scheme.Args) else {}
    variants: list[tuple[str, dict[str, str]]] = [("defaults", base)]
    for field, annotation in _hints(scheme.Args).items():
        if field not in _field_names(scheme.Args):
            continue
        variants += [(f"{field}={value}", {**base, field: value}) for value in _values(annotation)]
        variants.append((f"{field}z=1", {**base, f"{field}z": "1"}))
    cases = []
    for what, written in variants:
        listed = ", ".join(f"{k}={v}" for k, v in written.items())
        rule = f"{scheme.name}({listed})" if listed else scheme.name
        network = [
            "    in x: [3, 8, 8]",
            f"    init conv2d.weight: {rule}",
            "    out x -> conv2d(4, 3)",
        ]
        cases.append((what, network))
    return cases


def test_init_argument_refusals_are_unchanged(bless: bool) -> None:
    sections = [_section(scheme.name, _scheme_cases(scheme)) for scheme in all_schemes()]
    check_golden(GOLDEN.with_name("init_argument_refusals.txt"), "\n".join(sections) + "\n", bless)


def test_python_values_are_stored_unchanged(bless: bool) -> None:
    """Each field of each schema given each Python value directly."""
    rows = []
    schemas = [(op.name, op.Args, _base(op)) for op in all_ops()]
    schemas += [
        (s.name, s.Args, {"value": 1} if s.name == "constant" else {}) for s in all_schemes()
    ]
    for name, cls, base in schemas:
        rows.append(f"=== {name}")
        for field in _field_names(cls):
            rows += [
                f"{field}={value!r}: {_stored(cls, {**base, field: value})}" for value in PYTHON
            ]
    check_golden(GOLDEN.with_name("stored_argument_values.txt"), "\n".join(rows) + "\n", bless)
