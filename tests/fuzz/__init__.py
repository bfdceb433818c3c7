"""Fuzzing archc: valid specs built shape by shape, damaged real specs and raw bytes.

Every input must either check cleanly or give diagnostics that each point at a place in a file,
in bounded time, and never an internal error; a valid spec, whose names are often hostile
(`names.py`), must also compile to a module that builds the static model (`built.py`).
`tests/test_fuzz.py` runs a fixed number of cases in CI; `python -m tests.fuzz --minutes N
--save DIR` runs for longer with fresh random seeds and keeps any failing input in DIR. Its
oracle cases also compare values with the reference interpreter (`tests/oracle.py`); those
whose outputs only rounding at an ill-conditioned input moves apart are kept in
DIR/ill-conditioned, and the ones found so far in `ill_conditioned/`, which
`tests/test_oracle_conditioning.py` checks.
"""
