"""README's zoo table tells the truth: every network, with the counts archc computes."""

from __future__ import annotations

import re

from archc import api
from tests.conftest import ROOT

ROW = re.compile(r"^\| \[`(\w+)`\]\(specs/\w+\.arch\) \| (\w+) \| ([\d,]+) \|", re.MULTILINE)


def test_zoo_table_lists_every_network_with_its_parameter_count() -> None:
    rows = {
        (spec, net): int(count.replace(",", ""))
        for spec, net, count in ROW.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    }
    expected = {}
    for spec in sorted((ROOT / "specs").glob("*.arch")):
        networks, _ = api.analyse(str(spec))
        expected |= {(spec.stem, n.name): n.param_count for n in networks}
    assert rows == expected


def test_every_diagram_the_readme_links_exists() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\((docs/images/[^)]+)\)", text):
        assert (ROOT / link).exists(), link
