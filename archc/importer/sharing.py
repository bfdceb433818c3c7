"""Modules a forward calls more than once: one instance with one set of weights, applied at
several places, which a spec writes `encoder = shared(Encoder(8))` and then `a = left ->
encoder`, `b = right -> encoder`.

torch.fx keeps each call of a module apart (`encoder`, `encoder@1`), so the trace has a scope
or a layer call per application, numbered by ``call``. A spec can share an instance only
within the body that applies it first (the generated class holds it once), so every
application must be made by the same module's forward, under the module's own attribute name;
a block's other tensors (a mask) are bound with the instance, so every application must pass
the same ones. What breaks one of these rules is reported, and its later applications are left
as placeholders rather than written as copies with weights of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from archc.importer.scopes import Scope, Step


@dataclass
class Shared:
    """A module applied more than once: its name in the body of ``parent``, its
    applications in the order they ran, and why the spec cannot share it, if it cannot."""

    path: str
    parent: Scope
    applications: list[Scope | Step] = field(default_factory=list)
    reason: str = ""

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


def find_shared(
    root: Scope, stateful: set[str], is_container: Callable[[nn.Module], bool]
) -> dict[str, Shared]:
    """The modules under ``root`` applied more than once, by path. A layer call counts only
    where its module holds a tensor (``stateful``): applying `nn.ReLU()` twice shares
    nothing."""
    found: dict[str, Shared] = {}

    def walk(scope: Scope) -> None:
        for entry in scope.entries:
            path = entry.path  # a layer call's or a scope's module; "" for a function
            applied = isinstance(entry, Scope) or path in stateful
            if path and applied:
                shared = found.setdefault(path, Shared(path, scope))
                shared.applications.append(entry)
                if shared.parent is not scope:
                    shared.reason = "is applied from the forwards of two different modules"
            # a later application runs the same layers again: they are the first one's
            if isinstance(entry, Scope) and entry.call == 0:
                walk(entry)

    walk(root)
    shared = {path: s for path, s in found.items() if len(s.applications) > 1}
    for item in shared.values():
        if not item.reason:
            item.reason = _reason(item, is_container)
    return shared


def _reason(shared: Shared, is_container: Callable[[nn.Module], bool]) -> str:
    """Why the spec cannot share ``shared``, or "" where it can."""
    parent = shared.parent
    relative = shared.path[len(parent.path) + 1 :] if parent.path else shared.path
    if is_container(parent.module):
        return "is applied more than once inside a container"
    if not relative.isidentifier():
        return f"is applied more than once as `{relative}`, which is not an attribute name"
    first, *later = shared.applications
    if isinstance(first, Step):
        if any(len(application.inputs) != 1 for application in shared.applications):
            return "is applied more than once to several tensors"
        return ""
    others = first.inputs[1:]
    for application in later:
        assert isinstance(application, Scope)
        if application.inputs[1:] != others:
            return "is applied more than once with different tensors besides its input"
    return ""
