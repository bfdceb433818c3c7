"""The parse cache (archc/syntax/cache.py): a hit gives the very tree a parse gives, with spans
into the file being read; a changed text misses; a damaged or foreign entry is parsed again."""

from __future__ import annotations

import json
import pickle
from collections import OrderedDict
from pathlib import Path

import pytest

from archc import api
from archc.backends.torch import helpers
from archc.errors import SourceFile
from archc.syntax import ast, cache
from archc.syntax.parse import parse
from tests.conftest import ROOT

SPEC = ROOT / "specs" / "resnet18.arch"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARCHC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ARCHC_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "_recent", OrderedDict())  # nothing kept from earlier tests
    return tmp_path


def spans(module: ast.Module) -> list[tuple[object, int, int]]:
    """Every node's span, with the file it points into."""
    found = [(type(n).__name__, n.span) for n in ast.walk(module) if hasattr(n, "span")]
    return [(name, span.source, span.start, span.end) for name, span in found]  # type: ignore[misc]


def test_a_hit_gives_the_parsed_tree_with_spans_into_the_file_read(folder: Path) -> None:
    source = SourceFile("specs/resnet18.arch", SPEC.read_text(encoding="utf-8"))
    parsed = cache.parse_cached(source)
    again = SourceFile("elsewhere/resnet18.arch", source.text)  # the same text, another path
    hit = cache.load(again)
    assert hit is not None and hit is not parsed
    assert hit == parsed
    assert spans(hit) == [(n, again, s, e) for n, _, s, e in spans(parsed)]
    assert [c.text for c in hit.comments] == [c.text for c in parsed.comments]
    assert str(hit.items[-1].span) == str(parse(again).items[-1].span)
    assert list(folder.glob("*.tmp")) == []


def test_a_changed_text_misses(folder: Path) -> None:
    text = SPEC.read_text(encoding="utf-8")
    cache.parse_cached(SourceFile("a.arch", text))
    assert cache.load(SourceFile("a.arch", text.replace("1000", "10"))) is None


def test_a_tree_used_again_in_the_process_is_kept_in_memory(folder: Path) -> None:
    text = SPEC.read_text(encoding="utf-8")
    parsed = cache.parse_cached(SourceFile("a.arch", text))
    for entry in folder.glob("*.pickle"):
        entry.unlink()  # so a tree given now comes from memory
    again = cache.parse_cached(SourceFile("a.arch", text))
    assert again is parsed
    elsewhere = SourceFile("b.arch", text)  # another file: its own spans
    assert {s for _, s, _, _ in spans(cache.parse_cached(elsewhere))} == {elsewhere}
    changed = SourceFile("a.arch", text.replace("1000", "10"))
    assert cache.parse_cached(changed) == parse(changed)


def test_no_cache_keeps_no_tree_in_memory(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHC_NO_CACHE", "1")
    text = SPEC.read_text(encoding="utf-8")
    first = cache.parse_cached(SourceFile("a.arch", text))
    assert cache.parse_cached(SourceFile("a.arch", text)) is not first


def test_memory_keeps_the_trees_used_last(folder: Path) -> None:
    text = SPEC.read_text(encoding="utf-8")
    first = cache.parse_cached(SourceFile("0.arch", text))
    for n in range(1, cache.RECENT_TREES + 1):
        cache.parse_cached(SourceFile(f"{n}.arch", text))
    assert len(cache._recent) == cache.RECENT_TREES
    assert cache.parse_cached(SourceFile("0.arch", text)) is not first  # read again


class Calls:
    """A pickle that calls a function when loaded, unless the reader refuses it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("called",))


@pytest.mark.parametrize(
    "entry",
    [b"not a pickle", pickle.dumps(("key", "not a tree")), pickle.dumps(("key", Calls()))],
    ids=["corrupt", "not a tree", "foreign call"],
)
def test_a_damaged_entry_is_parsed_again(
    folder: Path, entry: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    source = SourceFile("a.arch", SPEC.read_text(encoding="utf-8"))
    (folder / f"{cache.key(source.text)}.pickle").write_bytes(entry)
    assert cache.load(source) is None
    assert capsys.readouterr().out == ""
    assert cache.parse_cached(source) == parse(source)
    assert cache.load(source) is not None  # written again, good this time


def test_no_cache_writes_nothing(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHC_NO_CACHE", "1")
    assert api.check(str(SPEC)) == []
    assert list(folder.iterdir()) == []


def test_check_keeps_the_trees_it_parses(folder: Path) -> None:
    assert api.check(str(ROOT / "specs" / "resnet50.arch")) == []
    assert len(list(folder.glob("*.pickle"))) == 2  # the spec and the blocks file it uses
    assert api.check(str(ROOT / "specs" / "resnet50.arch")) == []


def helper_definitions() -> dict[str, tuple[int, str, frozenset[str]]]:
    helpers._definitions.cache_clear()
    try:
        return helpers._definitions()
    finally:
        helpers._definitions.cache_clear()


def test_the_code_generators_helper_definitions_are_kept_and_read_back(folder: Path) -> None:
    parsed = helper_definitions()
    assert [p.name.split("-")[0] for p in folder.glob("*.json")] == ["helpers"]
    assert "alibi_slopes" in parsed["AttentionHeads"][2]
    (entry,) = folder.glob("*.json")
    stored = json.loads(entry.read_text(encoding="utf-8"))
    stored["Attention"][1] = "class Attention: pass  # read from the cache"
    entry.write_text(json.dumps(stored), encoding="utf-8")
    assert helper_definitions()["Attention"][1] == stored["Attention"][1]


@pytest.mark.parametrize(
    "entry", [b"not json", b"[]", b'{"Attention": [0, "class Attention: pass", 7]}']
)
def test_a_damaged_helper_entry_is_parsed_again(folder: Path, entry: bytes) -> None:
    parsed = helper_definitions()
    (path,) = folder.glob("*.json")
    path.write_bytes(entry)
    assert helper_definitions() == parsed
