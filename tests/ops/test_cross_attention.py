"""Cross-attention over a memory of another width than the queries' input, end to end: the
counts, the generated module, the interpreter, and torch's own modules given the same weights."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from archc import api, runtime
from archc.backends.interpret import interpret
from archc.model import load

WIDTH, MEMORY_WIDTH, HEADS = 32, 24, 4

SPEC = """\
network Cross(heads=4) {
    in x: [T, 32]
    in memory: [S, 24]
    in keep: bool[S]
    out y = x -> attention(memory, heads=heads, layout=LAYOUT, mask=keep) as cross_attn
}
"""


def build(tmp_path: Path, layout: str) -> tuple[str, nn.Module]:
    path = tmp_path / f"cross_{layout}.arch"
    path.write_text(SPEC.replace("LAYOUT", f'"{layout}"'), encoding="utf-8")
    return str(path), runtime.build(str(path), "Cross").double().eval()


@pytest.mark.parametrize("layout", ["torch", "linears"])
def test_counts_code_and_interpreter_agree(tmp_path: Path, layout: str) -> None:
    spec, module = build(tmp_path, layout)
    # q and the output project the 32-wide input, k and v the 24-wide memory; biases each
    expected = 2 * (WIDTH * WIDTH + WIDTH) + 2 * (MEMORY_WIDTH * WIDTH + WIDTH)
    assert load(spec).params == expected == sum(p.numel() for p in module.parameters())
    assert "kv_dim=24" in api.compile_source(spec)
    verdicts = runtime.selftest(spec)
    assert verdicts and all(passed for passed, _ in verdicts), verdicts


def test_torch_layout_is_nn_multihead_attention_with_kdim_and_vdim(tmp_path: Path) -> None:
    _, module = build(tmp_path, "torch")
    expected = nn.MultiheadAttention(
        WIDTH, HEADS, kdim=MEMORY_WIDTH, vdim=MEMORY_WIDTH, batch_first=True
    )
    expected = expected.double().eval()
    with torch.no_grad():
        for parameter in expected.parameters():
            parameter.normal_()
    module.cross_attn.load_state_dict(expected.state_dict(), strict=True)
    x, memory = torch.randn(2, 5, WIDTH).double(), torch.randn(2, 7, MEMORY_WIDTH).double()
    keep = torch.rand(2, 7) < 0.7
    keep[:, 0] = True
    with torch.no_grad():
        reference, _ = expected(x, memory, memory, key_padding_mask=~keep, need_weights=False)
        torch.testing.assert_close(module(x, memory, keep), reference)


def test_linears_layout_is_separate_linear_projections(tmp_path: Path) -> None:
    _, module = build(tmp_path, "linears")
    q, o = nn.Linear(WIDTH, WIDTH).double(), nn.Linear(WIDTH, WIDTH).double()
    k, v = nn.Linear(MEMORY_WIDTH, WIDTH).double(), nn.Linear(MEMORY_WIDTH, WIDTH).double()
    state = {}
    for name, linear in (("q_proj", q), ("k_proj", k), ("v_proj", v), ("o_proj", o)):
        state |= {f"cross_attn.{name}.{key}": t for key, t in linear.state_dict().items()}
    module.load_state_dict(state, strict=True)
    x, memory = torch.randn(2, 5, WIDTH).double(), torch.randn(2, 7, MEMORY_WIDTH).double()
    keep = torch.ones(2, 7, dtype=torch.bool)
    keep[1, 4:] = False

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.unflatten(-1, (HEADS, WIDTH // HEADS)).transpose(1, 2)

    with torch.no_grad():
        scores = heads(q(x)) @ heads(k(memory)).transpose(-2, -1) / math.sqrt(WIDTH // HEADS)
        scores = scores.masked_fill(~keep[:, None, None, :], -math.inf)
        mixed = F.softmax(scores, dim=-1) @ heads(v(memory))
        reference = o(mixed.transpose(1, 2).flatten(2))
        torch.testing.assert_close(module(x, memory, keep), reference)


PACKED = """\
network Packed(heads=4) {
    in x: [T, 32]
    in memory: [S, 32]
    h = x -> attention(heads=heads, bias=BIAS) as self_attn
    h = h -> attention(h, heads=heads, bias=BIAS) as given_self_attn
    out y = h -> attention(memory, heads=heads, bias=BIAS) as cross_attn
}
"""


@pytest.mark.parametrize("bias", [True, False])
def test_packed_self_and_cross_attention_are_torchs_and_the_interpreters(
    tmp_path: Path, bias: bool
) -> None:
    # One in_proj_weight each: self-attention projects x once for q, k and v (also where the
    # spec gives x as the memory), cross-attention x for q and the memory once for k and v.
    # Outputs and every gradient must still be nn.MultiheadAttention's, and the interpreter's.
    path = tmp_path / "packed.arch"
    path.write_text(PACKED.replace("BIAS", str(bias).lower()), encoding="utf-8")
    module = runtime.build(str(path)).double()
    names = ("self_attn", "given_self_attn", "cross_attn")
    torch.manual_seed(0)
    expected = {
        name: nn.MultiheadAttention(WIDTH, HEADS, bias=bias, batch_first=True).double()
        for name in names
    }
    with torch.no_grad():
        for parameter in (p for m in expected.values() for p in m.parameters()):
            parameter.normal_(std=0.2)
    for name in names:
        module.get_submodule(name).load_state_dict(expected[name].state_dict(), strict=True)
    x, memory = torch.randn(2, 5, WIDTH).double(), torch.randn(2, 7, WIDTH).double()

    reference = expected["self_attn"](x, x, x, need_weights=False)[0]
    reference = expected["given_self_attn"](reference, reference, reference, need_weights=False)[0]
    reference = expected["cross_attn"](reference, memory, memory, need_weights=False)[0]
    produced = module(x, memory)
    torch.testing.assert_close(produced, reference)
    (produced.square().sum() + reference.square().sum()).backward()
    for name in names:
        theirs = dict(expected[name].named_parameters())
        for key, parameter in module.get_submodule(name).named_parameters():
            assert parameter.grad is not None and theirs[key].grad is not None
            assert runtime.difference(parameter.grad, theirs[key].grad) < 1e-12, (name, key)

    (network,), _ = api.analyse(str(path))
    state = {key: tensor.detach() for key, tensor in module.state_dict().items()}
    interpreted = interpret(network, state, {"x": x, "memory": memory})["y"]
    torch.testing.assert_close(produced.detach(), interpreted)
