"""`archc schema`: the op registry as JSON Schema, complete, deterministic and true to the
hyperparameter models it is derived from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archc import ops
from archc.backends import schema
from archc.cli import main


def _document(capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["schema"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_prints_valid_json_listing_every_name(capsys: pytest.CaptureFixture[str]) -> None:
    document = _document(capsys)
    assert sorted(document["ops"]) == sorted(op.name for op in ops.all_ops())
    assert sorted(document["names"]) == ops.names()
    aliases = {alias for entry in document["ops"].values() for alias in entry["aliases"]}
    assert aliases == set(ops.names()) - set(document["ops"])
    for name, canonical in document["names"].items():
        assert name == canonical or name in document["ops"][canonical]["aliases"]


def test_output_file_holds_the_same_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "registry.schema.json"
    assert main(["schema", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert target.read_text(encoding="utf-8") == schema.to_json(schema.registry_schema())


def test_unwritable_output_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "-o", str(tmp_path / "missing" / "out.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_text_is_deterministic_with_sorted_keys() -> None:
    text = schema.to_json(schema.registry_schema())
    assert text == schema.to_json(schema.registry_schema())
    document = json.loads(text)
    assert list(document) == sorted(document)
    assert list(document["ops"]) == sorted(document["ops"])


@pytest.mark.parametrize(
    "name", ["conv2d", "attention", "linear", "reshape", "relu", "batchnorm2d", "lstm"]
)
def test_entries_match_the_registry(name: str) -> None:
    op = ops.lookup(name)
    assert op is not None
    entry = schema.registry_schema()["ops"][name]
    fields = op.Args.fields
    assert entry["args"].get("required", []) == [n for n, f in fields.items() if f.required]
    assert list(entry["args"]["properties"]) == list(fields)
    assert entry["args"]["additionalProperties"] is False
    assert entry["positional"] == list(op.positional)
    assert entry["inputs"] == list(op.inputs)
    assert (entry["family"], entry["rule"], entry["params_rule"]) == (
        op.family,
        op.rule,
        op.params_rule,
    )


def test_defaults_and_bounds_reach_the_schema() -> None:
    conv = schema.registry_schema()["ops"]["conv2d"]["args"]["properties"]
    assert conv["stride"]["default"] == 1
    assert conv["out_channels"] == {
        "exclusiveMinimum": 0,
        "title": "Out Channels",
        "type": "integer",
    }
    assert conv["padding_mode"]["enum"] == ["zeros", "reflect", "replicate", "circular"]


def test_other_spellings_of_arguments_are_listed() -> None:
    entries = schema.registry_schema()["ops"]
    assert entries["concat"]["argument_aliases"] == {"dim": ["axis"]}
    assert entries["conv2d"]["argument_aliases"] == {}
