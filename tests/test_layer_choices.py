"""A chain stage that chooses between layers: `x -> (if final_norm then layernorm else identity)
as norm`.

It is applied as the conditional of tensors `if final_norm then x -> (layernorm as norm) else x
-> (identity as norm)`, so the way not taken is elaborated aside as well, and a class builds
either under the test, as torchvision writes `norm_layer(d) if ... else nn.Identity()`. Before,
only the layer taken was known: a block's class refused the other value with ValueError, and a
network's class dropped the parameter.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch

from tests.spec_classes import assert_computes_as_spec, compiled, elaborated

BLOCK = """
block Encoder(d, final_norm) {
    in x
    x = x -> linear(d) as fc -> relu
    out x -> (if final_norm then layernorm else identity) as norm
}
network Net(d=8, final_norm=DEFAULT) {
    in x: [T, 16]
    out x -> Encoder(d, final_norm) as encoder
}
"""


@pytest.mark.parametrize("default", ["true", "false"])
def test_a_block_builds_the_layer_its_argument_chooses(tmp_path: Path, default: str) -> None:
    spec, module = compiled(tmp_path, BLOCK.replace("DEFAULT", default), f"block_{default}")
    source = inspect.getsource(module.Encoder)
    assert "raise ValueError" not in source
    assert "self.norm = nn.LayerNorm(d)" in source and "self.norm = nn.Identity()" in source
    assert "final_norm" in inspect.signature(module.Net).parameters
    for final_norm in (True, False):
        torch.manual_seed(0)
        model = module.Net(final_norm=final_norm)
        assert_computes_as_spec(elaborated(spec, {"final_norm": final_norm}), model)


NETWORK = """
network Net(d=8, norm=false, gelu_act=true) {
    in x: [T, 16]
    y = x -> linear(d) as fc -> (if gelu_act then gelu else relu)
    out y -> (if norm then layernorm else identity) as post
}
"""


def test_a_network_class_takes_a_named_choice_of_layers(tmp_path: Path) -> None:
    """`post` is one module under one name either way: the class takes `norm`. The unnamed
    activation is `gelu1` or `relu1`, two names, so its test stays the spec's value."""
    spec, module = compiled(tmp_path, NETWORK, "network")
    taken = inspect.signature(module.Net).parameters
    assert "norm" in taken and "gelu_act" not in taken
    for norm in (True, False):
        torch.manual_seed(0)
        assert_computes_as_spec(elaborated(spec, {"norm": norm}), module.Net(norm=norm))


UNBUILT = """
block Head(d, pooled) {
    in x
    out x -> (if pooled then adaptive_avgpool2d(1) -> flatten else identity) as pool -> relu
}
network Net(d=8) {
    in x: [16]
    out x -> Head(d, false) as head
}
"""


def test_a_layer_the_input_cannot_take_is_refused_not_built(tmp_path: Path) -> None:
    """Pooling a vector is no layer: the class written for `identity` refuses `pooled`."""
    spec, module = compiled(tmp_path, UNBUILT, "unbuilt")
    assert_computes_as_spec(elaborated(spec, {}), module.Net())
    with pytest.raises(ValueError, match="pooled"):
        module.Head(True)


TIED = """
network Net(vocab=11, d=6, tied=true) {
    in ids: int64[T]
    y = ids -> embedding(vocab, d) as emb
    y = if tied then y * 2.0 else y
    out y -> linear(vocab, bias=false) as head
    tie head.weight = emb.weight if tied
}
"""


def test_a_conditional_tie_keeps_its_test_the_spec_s_value(tmp_path: Path) -> None:
    """The class ties as the instance did; a choice whose test reads the same parameter is
    written as taken, not as a test of a parameter the class does not take."""
    spec, module = compiled(tmp_path, TIED, "tied")
    assert "tied" not in inspect.signature(module.Net).parameters
    source = inspect.getsource(module.Net)
    assert "if " not in source.split("def forward")[1]
    torch.manual_seed(0)
    model = module.Net()
    assert model.head.weight is model.emb.weight
    assert_computes_as_spec(elaborated(spec, {}), model)
