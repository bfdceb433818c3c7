"""What a trace could not do, and where in the model's source: a forward fx cannot trace, a
tensor changed in place and read again, example inputs the model fails on.

A failure names the submodule it happened in (a placeholder in the spec) and the innermost line
of the model's own code, past torch's frames and the importer's, which
:mod:`archc.importer.problems` points at. The line running while Python takes a traced value's
truth is found the same way, to say where the forward branched.
"""

from __future__ import annotations

import operator
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import fx


@dataclass(frozen=True)
class TraceFailure:
    """A submodule whose forward fx could not trace: its path, the message and the user's
    source line that failed (file, line number) where the traceback names one."""

    path: str
    message: str
    where: tuple[str, int] | None
    code: str = "A501"


class TraceAborted(Exception):
    """The model's own forward could not be traced."""

    def __init__(self, failures: list[TraceFailure]) -> None:
        super().__init__(failures[-1].message)
        self.failures = failures


# operators that change their left operand in place where it is a tensor (`out += identity`)
IN_PLACE_OPERATORS = {
    operator.iadd: "+=",
    operator.isub: "-=",
    operator.imul: "*=",
    operator.itruediv: "/=",
    operator.ifloordiv: "//=",
    operator.ipow: "**=",
}


def in_place(graph: fx.Graph) -> list[TraceFailure]:
    """Calls that change a tensor in place (`y.mul_(2)`, `y += 1`) which is read again after
    them: the graph's later reads see the value from before the change, so the spec would
    compute something else. A change that nothing reads afterwards is a new value."""
    order = {node: index for index, node in enumerate(graph.nodes)}
    found = []
    for node in graph.nodes:
        method = node.op == "call_method" and _in_place_method(str(node.target))
        if not (method or (node.op == "call_function" and node.target in IN_PLACE_OPERATORS)):
            continue
        changed = node.args[0] if node.args else None
        if not isinstance(changed, fx.Node) or all(
            order[user] <= order[node] for user in changed.users
        ):
            continue
        stack = [path for path, _ in (node.meta.get("nn_module_stack") or {}).values()]
        what = str(node.target) if method else IN_PLACE_OPERATORS[node.target]
        found.append(
            TraceFailure(
                stack[-1] if stack else "",
                f"`{what}` changes its input, which is read again afterwards",
                node_frame(node.stack_trace),
                "A507",
            )
        )
    return found


def _in_place_method(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def _internal(path: str) -> bool:
    """A frame of torch or of archc's own importer, not of the model's code."""
    return "/torch/" in path or path.startswith(str(Path(__file__).parent))


def node_frame(stack_trace: str | None) -> tuple[str, int] | None:
    """The model's source line (file, line number) in the stack fx recorded for a node."""
    frames = [
        (path, int(line))
        for path, line in _FRAME.findall(stack_trace or "")
        if not _internal(path)
    ]
    return frames[-1] if frames else None


def calling_frame() -> tuple[str, int] | None:
    """The innermost frame of the running stack outside torch: the model's line that is
    running."""
    frames = [f for f in traceback.extract_stack() if not _internal(f.filename)]
    return (frames[-1].filename, frames[-1].lineno or 1) if frames else None


def user_frame(exc: BaseException) -> tuple[str, int] | None:
    """The innermost frame of the traceback outside torch: the user's line that failed."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _internal(f.filename)]
    return (frames[-1].filename, frames[-1].lineno or 1) if frames else None


def unfit(
    inputs: tuple[torch.Tensor, ...], node: fx.Node | None, error: BaseException
) -> TraceFailure:
    """The model fails at ``node`` on the example inputs."""
    shapes = ", ".join(str(list(t.shape[1:])) for t in inputs)
    reason = str(error).split("\n")[0]
    where = node_frame(node.stack_trace) if node is not None else None
    return TraceFailure("", f"fails on inputs of shape {shapes}: {reason}", where, "A508")
