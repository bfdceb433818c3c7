"""specs/word_lm.arch against the model of PyTorch's word_language_model example, written here.

`RNNModel` below is that example's LSTM model as its model.py builds it: time first, the hidden
state a pair of (nlayers, N, nhid) tensors, log-probabilities flattened to (T*N, ntoken). Its
state_dict loads into the module compiled from the spec with `strict=True` and no key changed,
and both read a text in two consecutive pieces, each continuing from the states the last one
returned, giving the same log-probabilities and final states in float64.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from archc import runtime
from tests.conftest import ROOT

SPEC = str(ROOT / "specs" / "word_lm.arch")
NTOKEN, NHID, NLAYERS, BATCH, STEPS = 40, 12, 2, 3, 5


class RNNModel(nn.Module):
    """Encoder, LSTM and decoder, with dropout around the LSTM; optionally tied."""

    def __init__(
        self, ntoken: int, ninp: int, nhid: int, nlayers: int, dropout: float, tied: bool
    ) -> None:
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tied:
            self.decoder.weight = self.encoder.weight

    def forward(
        self, tokens: torch.Tensor, hidden: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        emb = self.drop(self.encoder(tokens))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight = next(self.parameters())
        shape = (self.rnn.num_layers, batch, self.rnn.hidden_size)
        return weight.new_zeros(shape), weight.new_zeros(shape)


@pytest.mark.parametrize(
    ("network", "tied", "sizes"),
    [
        ("WordLM", False, {"ninp": 8, "p_drop": 0.2}),
        ("WordLMTied", True, {"p_drop": 0.5}),
    ],
)
def test_word_lm_carries_its_state_as_the_example_does(
    network: str, tied: bool, sizes: dict[str, float]
) -> None:
    torch.manual_seed(0)
    ninp = int(sizes.get("ninp", NHID))
    reference = RNNModel(NTOKEN, ninp, NHID, NLAYERS, sizes["p_drop"], tied).double().eval()
    with torch.no_grad():  # the decoder's bias away from torch's draw, so that loading shows
        reference.decoder.bias.normal_()
    compiled = runtime.build(
        SPEC, network, dtype=torch.float64, ntoken=NTOKEN, nhid=NHID, nlayers=NLAYERS, **sizes
    ).eval()
    state = reference.state_dict()
    assert list(compiled.state_dict()) == list(state)
    compiled.load_state_dict(state, strict=True)

    text = torch.randint(0, NTOKEN, (2 * STEPS, BATCH))  # time first, as the example batches
    theirs = reference.init_hidden(BATCH)
    ours = tuple(s.transpose(0, 1) for s in theirs)  # batch first
    with torch.no_grad():
        for piece in text.split(STEPS):
            expected, theirs = reference(piece, theirs)
            log_probs, *ours = compiled(piece.T, *ours)
            # the example's rows are time-major: (T*N, ntoken)
            rows = log_probs.transpose(0, 1).reshape(-1, NTOKEN)
            torch.testing.assert_close(rows, expected, rtol=0, atol=1e-12)
            for mine, its in zip(ours, theirs, strict=True):
                torch.testing.assert_close(mine, its.transpose(0, 1), rtol=0, atol=1e-12)
    assert not torch.equal(ours[0], torch.zeros_like(ours[0]))
