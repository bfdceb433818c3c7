"""Building on the meta device without drawing random values that a meta tensor cannot hold."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import torch

# The fills every layer's reset_parameters and torch.nn.init's schemes draw from.
RANDOM_FILLS = ("normal_", "uniform_")


@contextlib.contextmanager
def random_fills_skipped_on_meta() -> Iterator[None]:
    """`normal_` and `uniform_` leave a meta tensor as it is, at once. Torch fills one through
    its Python reference implementation, milliseconds a call: most of the time of building a
    language model on the meta device, for a tensor that holds no values. Shapes, dtypes,
    every other call and every tensor on another device are untouched."""
    saved = {name: getattr(torch.Tensor, name) for name in RANDOM_FILLS}
    for name, fill in saved.items():
        setattr(torch.Tensor, name, _skipping_meta(fill))
    try:
        yield
    finally:
        for name, fill in saved.items():
            setattr(torch.Tensor, name, fill)


def _skipping_meta(fill: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fill)
    def call(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return tensor if tensor.is_meta else fill(tensor, *args, **kwargs)

    return call
