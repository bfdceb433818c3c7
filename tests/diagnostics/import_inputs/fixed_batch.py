"""A model that fixes its batch size itself: given inputs of the wrong width, it fails."""

from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(12, 4)

    def forward(self, x):
        return self.fc(x.view(1, -1))
