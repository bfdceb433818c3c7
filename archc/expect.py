"""`--expect params=25557032` and `--expect macs=4.1G±1%`: totals checked against a target.

A plain integer must match exactly. A number with a suffix (K, M, G, T) matches anything that
rounds to it, so `25.6M` accepts 25,550,000 up to (not including) 25,650,000. An explicit
tolerance, `±1%` (or `+-1%`), replaces the rounding window.

>>> Expectation.parse("params=25.6M").admits(25_557_032)
True
>>> Expectation.parse("macs=4G±1%").admits(4_089_184_256)
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from archc.errors import UsageError

KEYS = ("params", "trainable_params", "buffers", "macs")
_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12}
_PATTERN = re.compile(
    r"^(?P<key>\w+)=(?P<number>\d[\d_,]*(\.\d+)?)(?P<suffix>[KMGBT]?)"
    r"((±|\+-)(?P<tolerance>\d+(\.\d+)?)%)?$"
)


@dataclass(frozen=True)
class Expectation:
    key: str
    low: Decimal
    high: Decimal  # exclusive, except for an exact value where low == high
    text: str

    @classmethod
    def parse(cls, text: str) -> Expectation:
        match = _PATTERN.match(text.strip())
        if match is None or match["key"] not in KEYS:
            raise UsageError(
                f"cannot read --expect {text!r}; write e.g. params=25557032, params=25.6M "
                f"or macs=4.1G±1% (keys: {', '.join(KEYS)})"
            )
        digits = match["number"].replace("_", "").replace(",", "")
        value = Decimal(digits) * _SUFFIXES[match["suffix"]]
        if match["tolerance"] is not None:
            slack = value * Decimal(match["tolerance"]) / 100
            return cls(match["key"], value - slack, value + slack, text)
        if not match["suffix"] and "." not in digits:
            return cls(match["key"], value, value, text)
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        half = Decimal(5) * _SUFFIXES[match["suffix"]] / Decimal(10) ** (decimals + 1)
        return cls(match["key"], value - half, value + half, text)

    def admits(self, actual: int) -> bool:
        if self.low == self.high:
            return actual == self.low
        return self.low <= actual < self.high
