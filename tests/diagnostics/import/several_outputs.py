"""A submodule that returns two tensors: a spec layer returns one."""

from torch import nn


class Split(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(8, 4, 1)
        self.b = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.a(x), self.b(x)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.split = Split()

    def forward(self, x):
        a, b = self.split(self.conv(x))
        return a + b
