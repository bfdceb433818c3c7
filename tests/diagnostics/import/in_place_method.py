"""A tensor changed in place and read again: the change would be lost in a spec's graph."""

from torch import nn


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        y.mul_(2.0)
        return y


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.scaled = Scaled()

    def forward(self, x):
        return self.scaled(self.conv(x))
