"""PyTorch code generation: elaborated networks to readable, runnable Python source.

The entry point is :func:`archc.backends.torch.emit.emit`.
"""
