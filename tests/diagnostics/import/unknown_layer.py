"""A layer archc has no op for: nn.ChannelShuffle."""

from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x):
        return self.shuffle(self.conv(x))
