"""Fuzzing archc: valid specs built shape by shape, damaged real specs and raw bytes.

Every input must either check cleanly or give diagnostics that each point at a place in a file,
in bounded time, and never an internal error. `tests/test_fuzz.py` runs a fixed number of cases
in CI; `python -m tests.fuzz --minutes N` runs for longer with fresh random seeds and keeps any
failing input under `tests/fuzz/crashes/`.
"""
