"""Coverage-guided fuzzing with atheris: `python -m tests.fuzz.atheris_harness [libFuzzer flags]`.

atheris drives the same three generators as the other fuzzers, its byte stream standing in for
their random choices, and keeps inputs that reach new code. It is not a dependency of archc:
where it does not install, this module says so and exits cleanly. libFuzzer saves a failing
input as `crash-*` in the working directory; `-runs=N` stops after N inputs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any


class ProviderChoices:
    """Choices read from atheris' FuzzedDataProvider."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    def integer(self, low: int, high: int) -> int:
        return int(self.provider.ConsumeIntInRange(low, high))

    def raw(self, size: int) -> bytes:
        return bytes(self.provider.ConsumeBytes(size))


def main(argv: list[str]) -> int:
    try:
        import atheris
    except ImportError:
        print("atheris is not installed here; `pip install atheris` where it builds")
        return 0
    with atheris.instrument_imports():
        from tests.fuzz.cases import CHECKS, make_case, run_case
    directory = Path(tempfile.mkdtemp(prefix="archc-atheris-"))

    def one_input(data: bytes) -> None:
        provider = atheris.FuzzedDataProvider(data)
        kind = CHECKS[provider.ConsumeIntInRange(0, len(CHECKS) - 1)]
        run_case(make_case(kind, ProviderChoices(provider)), directory)

    atheris.Setup([sys.argv[0], *argv], one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
