"""One convolution applied by the model and again by a submodule's forward: a spec shares an
instance only within the body that applies it first."""

import torch
from torch import nn


class Refine(nn.Module):
    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return torch.relu(self.conv(x))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.refine = Refine(self.conv)

    def forward(self, x):
        return self.refine(self.conv(x))
