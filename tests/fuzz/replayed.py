"""Replay against elaboration: a spec analysed with repeated block instances replayed and
copied (archc/semantics/replay.py, rerun.py), and analysed with every instance elaborated,
must give the same networks and diagnostics, field by field."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from archc import api
from archc.errors import render
from archc.ops.schema import Args
from archc.semantics import replay
from archc.semantics.ir import Network


def _args(args: Any) -> Any:
    return args.values() if isinstance(args, Args) else args


def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def snapshot(network: Network) -> dict[str, Any]:
    """Everything elaboration decided about ``network``, in comparable form: written out,
    because a symbolic size equals only itself and each analysis makes its own."""
    nodes = [repr({**_fields(node), "args": _args(node.args)}) for node in network.nodes()]
    modules = [
        repr({**vars(module), "definition": getattr(module.definition, "name", None)})
        for module in network.modules.values()
    ]
    return {
        "name": network.name,
        "args": repr(network.args),
        "inputs": network.inputs,
        "outputs": network.outputs,
        "nodes": nodes,
        "modules": modules,
        "ties": network.ties,
        "inits": repr(network.inits),
    }


def analysed(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    networks, diagnostics = api.analyse(str(path))
    return [snapshot(n) for n in networks], [render(d) for d in diagnostics]


def replay_difference(path: Path) -> str | None:
    """Where analysing ``path`` with replay and without it first differs, or None."""
    replayed = analysed(path)
    with replay.disabled():
        elaborated = analysed(path)
    if replayed == elaborated:
        return None
    (networks, diagnostics), (want_networks, want_diagnostics) = replayed, elaborated
    if diagnostics != want_diagnostics:
        return f"diagnostics: replayed {diagnostics}, elaborated {want_diagnostics}"
    if len(networks) != len(want_networks):
        return f"{len(networks)} networks replayed, {len(want_networks)} elaborated"
    for got, want in zip(networks, want_networks, strict=True):
        for key, value in got.items():
            if value != want[key]:
                return _first_change(f"network {got['name']}: {key}", value, want[key])
    raise AssertionError("the analyses differ, yet no field does")


def _first_change(where: str, replayed: Any, elaborated: Any) -> str:
    if isinstance(replayed, list) and isinstance(elaborated, list):
        for i, (a, b) in enumerate(zip(replayed, elaborated, strict=False)):
            if a != b:
                return f"{where}[{i}]: replayed {a}, elaborated {b}"
        return f"{where}: {len(replayed)} replayed, {len(elaborated)} elaborated"
    return f"{where}: replayed {replayed!r}, elaborated {elaborated!r}"
