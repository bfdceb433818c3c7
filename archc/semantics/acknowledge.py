"""Acknowledged warnings: `# archc: allow A302` at the end of a statement silences that warning
there.

Some warnings are true and meant: SqueezeNet's stem drops a row of its input exactly as the
paper's does (A302). The acknowledgement is a comment, so the formatter, the highlighter and
the language server treat it as the comment it is, and it stays beside the statement it is
about. It applies to the statement on whose lines it stands, and silences the warnings with its
codes whose place lies in that statement; errors are never silenced. An acknowledgement that
silences nothing is reported (A170), so that none outlives its warning, and a comment that
starts `archc:` but says something else is reported as well (A171). Only the file being
checked is read for them: the files it uses are checked on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from archc.errors import Diagnostic, Span
from archc.syntax import ast

UNUSED = "A170"  # an acknowledgement that silences nothing
MALFORMED = "A171"  # an `archc:` comment that is no acknowledgement, or is about no statement

_DIRECTIVE = re.compile(r"#\s*archc\s*:(.*)$")
# codes, then perhaps a reason after a colon, a dash or another comment: `allow A302: as in the
# paper`
_ALLOW = re.compile(r"\s*allow\s+(A\d{3}(?:\s*,\s*A\d{3})*)\s*(?:[:#(\-\u2014].*)?$")


@dataclass(frozen=True)
class Acknowledgement:
    code: str
    comment: Span  # the code as the comment writes it
    statement: Span

    def silences(self, diagnostic: Diagnostic) -> bool:
        span = diagnostic.span
        return (
            not diagnostic.is_error
            and diagnostic.code == self.code
            and span is not None
            and span.file == self.statement.file
            and self.statement.start <= span.start <= self.statement.end
        )


def _statements(items: tuple[ast.Item, ...] | tuple[ast.Stmt, ...]) -> Iterator[Span]:
    """The spans of every statement in the definitions' bodies and at the top level; not a
    whole definition, which an acknowledgement would silence wholesale."""
    for item in items:
        if isinstance(item, ast.Definition):
            yield from _statements(item.body)
        else:
            yield item.span


def read(module: ast.Module) -> tuple[list[Acknowledgement], list[Diagnostic]]:
    """The acknowledgements in ``module``'s comments, and what is wrong with the others."""
    statements = list(_statements(module.items))
    found: list[Acknowledgement] = []
    problems: list[Diagnostic] = []
    for comment in module.comments:
        directive = _DIRECTIVE.match(comment.text)
        if directive is None:
            continue
        allow = _ALLOW.match(directive[1])
        if allow is None:
            problems.append(
                _malformed(comment, "is not an acknowledgement", "write `# archc: allow A302`")
            )
            continue
        line = comment.span.line
        around = [s for s in statements if s.line <= line <= s.end_line]
        if not around:
            problems.append(
                _malformed(
                    comment,
                    "is about no statement",
                    "write it at the end of the statement whose warning it acknowledges",
                )
            )
            continue
        statement = min(around, key=lambda s: s.end - s.start)
        start = comment.span.start + directive.start(1) + allow.start(1)
        for code in re.finditer(r"A\d{3}", allow[1]):
            where = Span(comment.span.source, start + code.start(), start + code.end())
            found.append(Acknowledgement(code[0], where, statement))
    return found, problems


def _malformed(comment: ast.Comment, what: str, help_: str) -> Diagnostic:
    return Diagnostic(
        MALFORMED,
        f"this `archc:` comment {what}",
        comment.span,
        label=what,
        severity="warning",
        help=help_,
    )


def applied(module: ast.Module, diagnostics: list[Diagnostic], complete: bool) -> list[Diagnostic]:
    """``diagnostics`` without the warnings ``module`` acknowledges, with a warning for each
    acknowledgement that silenced nothing when the analysis was ``complete`` (every network,
    with its own parameters, no errors: otherwise a warning may be missing for another reason).
    """
    acknowledgements, problems = read(module)
    if not acknowledgements and not problems:
        return diagnostics
    used: set[int] = set()
    kept = []
    for diagnostic in diagnostics:
        hits = [i for i, a in enumerate(acknowledgements) if a.silences(diagnostic)]
        used.update(hits)
        if not hits:
            kept.append(diagnostic)
    if complete and not any(d.is_error for d in diagnostics):
        for index, unused in enumerate(acknowledgements):
            if index not in used:
                problems.append(_unused(unused))
    return [*kept, *problems]


def _unused(acknowledgement: Acknowledgement) -> Diagnostic:
    code = acknowledgement.code
    return Diagnostic(
        UNUSED,
        f"`allow {code}` silences nothing: this statement gives no {code} warning",
        acknowledgement.comment,
        label="nothing to acknowledge",
        severity="warning",
        help=f"remove it: the warning it acknowledged is gone (`archc explain {code}` says what "
        "it was about)",
    )
