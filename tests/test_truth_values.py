"""Truth values computed from parameters (archc/semantics/flags.py).

A shape rule branches on a truth value (`2 if bidirectional else 1`), which cannot carry its
provenance; the sizes after it held only for the value the instance had, so a class that took
`bidirectional` built `nn.Linear(2 * hidden, ...)` either way, and two instances that differed
gave the class a `head_value` parameter the caller passed as a number. The rule now runs again
with the other value, and the provenance chooses between the two. A network class takes such a
parameter where the op is written alike both ways, and a block class whose op's form the value
chooses (an RNN returning its last state) refuses the other value rather than build it wrong.
"""

from __future__ import annotations

import inspect
import itertools
from pathlib import Path

import pytest
import torch

from tests.spec_classes import assert_computes_as_spec, compiled, elaborated
from tests.test_block_classes import Holder

NETWORK = """
network Net(use_bias=true, bidirectional=false, hidden=6) {
    in x: [T, 5]
    y = x -> linear(hidden, bias=use_bias) as proj
    y = y -> gru(hidden, 2, bidirectional=bidirectional) as rnn
    out y -> linear(3) as head
}
"""


def test_a_network_class_takes_the_truth_values_it_writes(tmp_path: Path) -> None:
    spec, module = compiled(tmp_path, NETWORK, "network")
    assert {"use_bias", "bidirectional", "hidden"} <= set(inspect.signature(module.Net).parameters)
    for use_bias, bidirectional in itertools.product((True, False), repeat=2):
        given = {"use_bias": use_bias, "bidirectional": bidirectional}
        torch.manual_seed(0)
        assert_computes_as_spec(elaborated(spec, given), module.Net(**given))


BLOCK = """
block Tagger(hidden, bidirectional) {
    in x
    out x -> gru(hidden, bidirectional=bidirectional) as rnn -> linear(4) as head
}
network Net(hidden=8) {
    in x: [T, 16]
    out x -> Tagger(hidden, true) as t -> Tagger(hidden, false) as u
}
"""


def test_one_block_class_follows_a_truth_value_that_decides_a_size(tmp_path: Path) -> None:
    spec, module = compiled(tmp_path, BLOCK, "block")
    assert list(inspect.signature(module.Tagger).parameters) == [
        "in_features",
        "hidden",
        "bidirectional",
    ]
    assert_computes_as_spec(elaborated(spec, {}), module.Net())
    for bidirectional in (True, False):
        text = BLOCK.split("network")[0] + (
            f"network Net {{\n    in x: [T, 7]\n    out x -> Tagger(5, {str(bidirectional).lower()})"
            " as b\n}\n"
        )
        single, _ = compiled(tmp_path, text, f"single_{bidirectional}")
        torch.manual_seed(0)
        assert_computes_as_spec(elaborated(single, {}), Holder(module.Tagger(7, 5, bidirectional)))


LAST = """
block Encoder(hidden, bidirectional) {
    in x
    out x -> gru(hidden, 2, bidirectional=bidirectional, output="last") as rnn -> linear(4)
}
network Net(hidden=8, bidirectional=true) {
    in x: [T, 16]
    out x -> Encoder(hidden, bidirectional) as e
}
"""


def test_a_truth_value_that_chooses_the_forward_is_refused_the_other_way(tmp_path: Path) -> None:
    """The last state of a bidirectional RNN joins two directions; the class writes that, and
    built the other way it would have read the wrong states."""
    _, module = compiled(tmp_path, LAST, "last")
    assert "bidirectional" not in inspect.signature(module.Net).parameters
    module.Encoder(16, 8, True)
    with pytest.raises(ValueError, match="not bidirectional"):
        module.Encoder(16, 8, False)
