"""Which values a Python function assigns and never reads.

A backward liveness walk over each function's statements: an assignment to a name is unread
when no path from it reaches a read of the name before the name is assigned again. A loop's
body is walked until what is live at its head stops growing, so a value one iteration assigns
and the next reads is read. `_` is the name Python gives a value it throws away.
"""

from __future__ import annotations

import ast

DISCARD = "_"


def unread_assignments(source: str) -> list[tuple[str, int, str]]:
    """(function, line, name) for each assignment whose value nothing reads, in order."""
    found: list[tuple[str, int, str]] = []
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            unread: list[tuple[int, str]] = []
            _block(function.body, set(), unread)
            found += [(function.name, line, name) for line, name in sorted(unread)]
    return found


def _block(
    statements: list[ast.stmt], live: set[str], unread: list[tuple[int, str]] | None
) -> set[str]:
    for statement in reversed(statements):
        live = _statement(statement, live, unread)
    return live


def _statement(
    statement: ast.stmt, live: set[str], unread: list[tuple[int, str]] | None
) -> set[str]:
    """What is live before ``statement``, given what is live after it; each of its
    assignments that nothing reads goes into ``unread`` (None while a loop settles)."""
    if isinstance(statement, ast.Assign | ast.AnnAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        assigned = {name for target in targets for name in _stored(target)}
        _report(statement.lineno, assigned, live, unread)
        value = _read(statement.value) if statement.value is not None else set()
        return (live - assigned) | value | {n for t in targets for n in _read(t)}
    if isinstance(statement, ast.AugAssign):
        assigned = _stored(statement.target)
        _report(statement.lineno, assigned, live, unread)
        return live | assigned | _read(statement.value)
    if isinstance(statement, ast.If):
        taken = _block(statement.body, live, unread)
        return taken | _block(statement.orelse, live, unread) | _read(statement.test)
    if isinstance(statement, ast.For | ast.AsyncFor):
        target = _stored(statement.target)
        head = set(live)
        while True:  # what is live where each iteration starts, grown to a fixed point
            grown = live | (_block(statement.body, head, None) - target)
            if grown == head:
                break
            head = grown
        _report(statement.lineno, target, _block(statement.body, head, unread), unread)
        return head | _block(statement.orelse, live, unread) | _read(statement.iter)
    if isinstance(statement, ast.While):
        head = set(live)
        while True:
            grown = live | _read(statement.test) | _block(statement.body, head, None)
            if grown == head:
                break
            head = grown
        _block(statement.body, head, unread)
        return head
    return live | _read(statement)


def _report(
    line: int, assigned: set[str], live: set[str], unread: list[tuple[int, str]] | None
) -> None:
    if unread is not None:
        unread += [(line, name) for name in sorted(assigned - live - {DISCARD})]


def _stored(target: ast.AST) -> set[str]:
    return {
        n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def _read(node: ast.AST) -> set[str]:
    return {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
