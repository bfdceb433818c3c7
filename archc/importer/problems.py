"""What an import could not write, as diagnostics located in the model's Python source."""

from __future__ import annotations

import os
from pathlib import Path

from archc.errors import Diagnostic, SourceFile, Span, line_starts
from archc.importer.failures import TraceFailure, node_frame
from archc.importer.spec import Problem

HELP = (
    "the spec has a `TODO_...` placeholder there, which `archc check` rejects until it is filled"
)
RULES = {
    "A501": "a spec's graph may not depend on the values in its tensors",
    "A507": "a spec's values never change once made: each step makes a new one",
    "A508": "the model is traced by running it on random inputs of the shapes given",
    "A509": "a shared layer is applied only in the body that applies it first, by its name",
}
LABELS = {"A505": "returned here", "A507": "changed here", "A508": "fails here"}
_TITLES = {
    "A501": "cannot trace the forward of",
    "A502": "no archc op for the module",
    "A503": "no archc op for the call in",
    "A504": "a custom autograd function in",
    "A505": "the spec cannot express",
    "A507": "a value changed in place in",
    "A508": "the example inputs do not fit",
    "A509": "the spec cannot share",
}


def _line_span(where: tuple[str, int] | None) -> Span | None:
    """The source line at ``where``, from its first non-blank character."""
    if where is None:
        return None
    path, line = where
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    here = os.getcwd() + os.sep
    source = SourceFile(path.removeprefix(here), text)
    if not 1 <= line <= source.line_count:
        return None
    start = line_starts(text)[line - 1]
    content = source.line_text(line)
    indent = len(content) - len(content.lstrip())
    return source.span(start + indent, start + len(content.rstrip()))


def _named(path: str) -> str:
    return f"`{path}`" if path else "the model"


def from_failure(failure: TraceFailure) -> Diagnostic:
    """A forward torch.fx could not trace (control flow on a value, an autograd function, a
    value changed in place), or one that fails on the example inputs."""
    custom = failure.message.startswith("custom autograd function")
    code = "A504" if custom else failure.code
    rule = RULES.get(code)
    return Diagnostic(
        code,
        f"{_TITLES[code]} {_named(failure.path)}: {failure.message}",
        _line_span(failure.where),
        label=LABELS.get(code, "torch.fx stops here"),
        rule=rule,
        help=_help(failure),
    )


def _help(failure: TraceFailure) -> str:
    if failure.code == "A508":
        return "give `--input` the shape of one sample, without the batch, for each input"
    if failure.code == "A505":
        return "import a module whose forward returns the one tensor wanted (`model(x)[0]`)"
    return HELP if failure.path else "the model's own forward must be traceable"


def from_problem(problem: Problem) -> Diagnostic:
    where = node_frame(problem.node.meta.get("stack_trace")) if problem.node is not None else None
    return Diagnostic(
        problem.code,
        f"{_TITLES[problem.code]} {_named(problem.path)}: {problem.message}",
        _line_span(where),
        label="called here",
        rule=RULES.get(problem.code),
        help=HELP,
    )


def indexed_keys(name: str) -> Diagnostic:
    """A model that is itself a container: its layers' keys are indices (`0.weight`), and a
    network's own layers cannot be named with numbers."""
    return Diagnostic(
        "A506",
        f"the model is a `{name}`, whose layers' state_dict keys are their indices",
        severity="warning",
        notes=("a network's layers are named with `as`, and a name cannot be a number",),
        help="hold the container as an attribute of a module and import that, or rename the "
        "keys when loading a state_dict (`archc diff` lists them)",
    )
