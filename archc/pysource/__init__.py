"""Writing Python source text: literals, spec expressions as Python, and ruff-style layout.

Shared by everything that writes code: the op and init-scheme registries (their emitted
calls) and the PyTorch emitter.
"""
