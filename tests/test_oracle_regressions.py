"""Specs the oracle fuzzer found miscompiled or crashing, each as small as it could be made:
the generated module must compute what the interpreter computes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.oracle import check_values

CASES = {
    # a causal language model whose shared attention runs five times: a KV cache keeps one
    # entry per module, so the network takes none (and its container none either)
    "shared_attention_applied_again": """
network Net {
    in tokens: int64[T]
    x = tokens -> embedding(5, 4) -> attention(4, causal=true)
    shared_attn = shared([attention(2, causal=true) as self])
    x = x -> shared_attn * 3
    out x -> shared_attn * 2 -> linear(10)
}
""",
    # copies of a repeat that hold no module: each is an expression in forward, never a loop
    # over an empty container
    "stateless_copies": """
network Net {
    in x: [5, 4, 6]
    out x -> scale(0.5 + i, divide=true) * 3 as scaled -> flatten -> linear(3)
}
""",
    # a copy that is a chain of several layers is written into the container layer by layer:
    # a loop over the container would run every layer of every copy at each copy
    "chain_copies": """
network Net {
    in x: [24]
    y = x -> (linear(24 + 2 * i) -> linear(24) -> scale(1.0 + 0.5 * i)) * 1 as once
    out y -> (linear(20) -> relu -> linear(24)) * 2 as twice
}
""",
    # a float32 additive mask over float64 scores: what attention added stays in their type
    "float_mask_in_float64": """
network Net {
    in x: [T, 12]
    bias = (positions(x, dim=1) - (positions(x, dim=1) -> transpose(1, 2))) * -0.25
        -> unsqueeze(1)
    out x + (x -> attention(3, causal=true, mask=bias) as attn)
}
""",
    # several layers under a condition, named with a Python keyword: reached with getattr
    "keyword_named_choice": """
block Map(flag) {
    in x
    out if flag % 2 == 0
        then x -> (gelu -> linear(2, bias=false) as hash -> linear(12) as filter) as "in"
        else x
}

network Net {
    in tokens: int64[9]
    out tokens -> embedding(31, 12) -> Map(1) -> Map(0) -> Map(flag=1) -> linear(7)
}
""",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_found_case_computes_what_the_interpreter_computes(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.arch"
    path.write_text(CASES[name], encoding="utf-8")
    check_values(path)
