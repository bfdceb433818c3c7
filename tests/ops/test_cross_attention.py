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
