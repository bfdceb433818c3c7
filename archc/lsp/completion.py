"""Completion: op and block names, keyword arguments of the call being written, names in scope.

The context (inside which call, after a `.`) is read from the text as it is now; the names come
from the latest snapshot that parsed, since a half-typed line rarely does.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from archc.backends.reference import signature as op_signature
from archc.backends.reference import spec_value, type_words
from archc.ops.registry import lookup, names
from archc.ops.schema import FieldSpec
from archc.syntax import ast

from .document import Snapshot, bound_names, definition_at, signature

KEYWORDS = (
    "and", "as", "assert", "block", "else", "false", "if", "in", "init", "network",
    "none", "not", "or", "out", "then", "tie", "true", "use",
)  # fmt: skip
# What a tensor answers (docs/language.md, "Tensors and shape queries").
QUERIES = {
    "shape": "the whole shape, batch first",
    "rank": "the number of dimensions, batch included",
    "channels": "axis 1, the channel count",
    "features": "the last axis",
}
# The built-in functions of layers (archc/semantics/expressions.py, LAYER_FUNCTIONS).
LAYER_FUNCTIONS = {
    "residual": "residual(body): x + body(x)",
    "dense": "dense(body): each layer reads the input and every earlier output, concatenated",
    "branches": "branches(a, b, ...): each layer applied to the same input, a tuple of outputs",
    "shared": "shared(layer): one instance, with one set of weights, at every application",
    "scan": "scan(Cell(...), x, state=h0, dim=1): the block applied step by step along an axis",
}
# How far back to look for the call the cursor is in; calls longer than this are rare.
LOOKBACK = 4000
_HIDDEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*')
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*$")
# `x.` or `x.shape[0].`: a query on a value (after a number, `.` is a decimal point)
_AFTER_DOT = re.compile(r"(?:[A-Za-z_][A-Za-z_0-9]*|[\])])[ \t]*\.[ \t]*$")


def completion(text: str, offset: int, snapshot: Snapshot | None) -> lsp.CompletionList:
    """Completions at ``offset`` of ``text``; ``snapshot`` supplies the names."""
    before = _HIDDEN.sub(lambda m: " " * len(m.group()), text[max(0, offset - LOOKBACK) : offset])
    word = _WORD.search(before)
    start = len(before) - (len(word.group()) if word else 0)
    if _AFTER_DOT.search(before[:start]):
        return lsp.CompletionList(False, _queries())
    items = _keyword_arguments(_callee(before[:start]), snapshot)
    items += _names(snapshot, offset) + _ops() + _layer_functions() + _keywords()
    return lsp.CompletionList(False, items)


def _callee(before: str) -> str | None:
    """The name called by the innermost call still open at the end of ``before``."""
    depth = 0
    for index in range(len(before) - 1, -1, -1):
        ch = before[index]
        if ch in ")]":
            depth += 1
        elif ch in "([":
            if depth == 0:
                if ch == "[":
                    return None
                name = _WORD.search(before[:index].rstrip())
                return name.group() if name else None
            depth -= 1
        elif ch in "{}":
            return None
    return None


def _keyword_arguments(callee: str | None, snapshot: Snapshot | None) -> list[lsp.CompletionItem]:
    if callee is None:
        return []
    file = snapshot.file if snapshot is not None else None
    if file is not None and callee in file.definitions:
        params = file.definitions[callee].node.params
        return [_argument(p.name.name, f"parameter of {callee}") for p in params]
    op = lookup(callee)
    if op is None:
        return []
    values = [
        _argument(name, type_words(spec.annotation) + _default(spec), spec.description)
        for name, spec in op.Args.fields.items()
    ]
    # the inputs after the first are given by name too: an LSTM's `h0=`, attention's `mask=`
    return values + [_argument(name, "tensor input, optional") for name in op.inputs[1:]]


def _default(spec: FieldSpec) -> str:
    return ", required" if spec.required else f", default {spec_value(spec.default)}"


def _argument(name: str, detail: str, documentation: str | None = None) -> lsp.CompletionItem:
    return lsp.CompletionItem(
        label=f"{name}=",
        kind=lsp.CompletionItemKind.Property,
        detail=detail,
        documentation=documentation,
        insert_text=f"{name}=",
        filter_text=name,
        sort_text=f"0{name}",  # the arguments of the call come first
    )


def _names(snapshot: Snapshot | None, offset: int) -> list[lsp.CompletionItem]:
    file = snapshot.file if snapshot is not None else None
    if file is None:
        return []
    items = []
    definition = definition_at(file.module, offset)
    if definition is not None:
        for name, bound in bound_names(definition, offset).items():
            detail = "parameter" if isinstance(bound, ast.Param) else "value in scope"
            items.append(_item(name, lsp.CompletionItemKind.Variable, detail, "1"))
    for name in file.constants:
        items.append(_item(name, lsp.CompletionItemKind.Constant, "constant", "2"))
    for name, found in file.definitions.items():
        kind = lsp.CompletionItemKind.Class
        items.append(_item(name, kind, signature(found.node), "2"))
    return items


def _ops() -> list[lsp.CompletionItem]:
    items = []
    for name in names():
        op = lookup(name)
        assert op is not None  # every registered name has an op
        item = _item(name, lsp.CompletionItemKind.Function, op_signature(op), "3")
        item.documentation = op.summary
        items.append(item)
    return items


def _layer_functions() -> list[lsp.CompletionItem]:
    kind = lsp.CompletionItemKind.Function
    return [_item(name, kind, meaning, "3") for name, meaning in LAYER_FUNCTIONS.items()]


def _keywords() -> list[lsp.CompletionItem]:
    return [_item(word, lsp.CompletionItemKind.Keyword, None, "4") for word in KEYWORDS]


def _queries() -> list[lsp.CompletionItem]:
    kind = lsp.CompletionItemKind.Field
    return [_item(name, kind, meaning, "0") for name, meaning in QUERIES.items()]


def _item(
    label: str, kind: lsp.CompletionItemKind, detail: str | None, rank: str
) -> lsp.CompletionItem:
    return lsp.CompletionItem(label=label, kind=kind, detail=detail, sort_text=f"{rank}{label}")
