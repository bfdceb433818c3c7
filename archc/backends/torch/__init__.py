"""PyTorch code generation: elaborated networks to readable, runnable Python source."""

from archc.backends.torch.emit import emit

__all__ = ["emit"]
