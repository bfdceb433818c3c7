"""`moe` over a block: a mixture whose experts are copies of any block.

The generated module (each expert run on the tokens routed to it) against a dense reference
written here in plain torch (every expert on every token, weighted by the router's gates), in
each way of taking the softmax; the generated module against the interpreter inside a block
and on a rank-2 input; the counts; and the diagnostics of the construct.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from archc import api, dims, runtime
from archc.semantics.ir import Network
from tests.oracle import check_values

SPEC = """
block Expert(d, hidden) {{
    in x
    out x -> linear(hidden) as fc1 -> gelu -> linear(d) as fc2
}}

network Mixture(width=6, experts=5) {{
    in x: [T, width]
    out x -> moe(Expert(width, 2 * width), experts=experts, top_k=2{options}) as mlp
}}
"""

ROUTINGS = {
    "before": "",
    "before, renormalised": ", norm_topk=true",
    "after": ', softmax="after"',
}


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.arch"
    path.write_text(text, encoding="utf-8")
    return path


def analysed(path: Path) -> Network:
    found, diagnostics = api.analyse(str(path))
    assert not [d for d in diagnostics if d.is_error], diagnostics
    (network,) = found
    network.verify()
    return network


def dense_reference(state: dict[str, torch.Tensor], x: torch.Tensor, options: str) -> Any:
    """Every expert on every token, summed weighted by a (tokens, experts) matrix of gates
    that is zero off each token's two chosen experts."""
    tokens = x.reshape(-1, x.shape[-1])
    scores = tokens @ state["mlp.gate.weight"].T
    if "after" in options:
        top, chosen = scores.topk(2, dim=-1)
        weights = top.softmax(dim=-1)
    else:
        weights, chosen = scores.softmax(dim=-1).topk(2, dim=-1)
        if "norm_topk" in options:
            weights = weights / weights.sum(dim=-1, keepdim=True)
    gates = torch.zeros_like(scores).scatter(1, chosen, weights)
    out = torch.zeros_like(tokens)
    for i in range(scores.shape[-1]):
        fc1 = F.linear(
            tokens, state[f"mlp.experts.{i}.fc1.weight"], state[f"mlp.experts.{i}.fc1.bias"]
        )
        y = F.linear(
            F.gelu(fc1), state[f"mlp.experts.{i}.fc2.weight"], state[f"mlp.experts.{i}.fc2.bias"]
        )
        out = out + gates[:, i, None] * y
    return out.reshape(x.shape)


@pytest.mark.parametrize("options", ROUTINGS.values(), ids=list(ROUTINGS))
def test_routed_loop_equals_every_expert_weighted_densely(tmp_path: Path, options: str) -> None:
    path = written(tmp_path, SPEC.format(options=options))
    model = runtime.build(str(path), seed=0, dtype=torch.float64).eval()
    state = model.state_dict()
    x = torch.randn(3, 7, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(x), dense_reference(state, x, options), atol=1e-9, rtol=0)


def test_state_dict_holds_every_expert_and_macs_count_the_chosen(tmp_path: Path) -> None:
    network = analysed(written(tmp_path, SPEC.format(options="")))
    width, hidden, experts = 6, 12, 5
    expert = width * hidden + hidden + hidden * width + width
    assert network.param_count == experts * width + experts * expert
    assert sorted(network.parameters()) == sorted(
        ["mlp.gate.weight"]
        + [
            f"mlp.experts.{i}.{layer}.{tensor}"
            for i in range(experts)
            for layer in ("fc1", "fc2")
            for tensor in ("weight", "bias")
        ]
    )
    per_token = width * experts + 2 * (width * hidden + hidden * width)
    assert dims.evaluate(network.macs, {"T": 10, "N": 1}) == 10 * per_token


FORMS = """
block Expert(d) {
    in x
    h = x -> layernorm as norm -> linear(3 * d) as up -> relu
    out x + (h -> linear(d) as down)
}

block Layer(d, experts) {
    in x
    out x -> moe(Expert(d), experts, 1) as mlp -> layernorm as norm
}

network Forms(d=4) {
    in x: [T, d]
    in v: [d]
    y = x -> Layer(d, 3) * 2 as layers
    out y -> moe(Expert(d), experts=2, top_k=2, softmax="after") as both
    out v -> moe(Expert(d), experts=3, top_k=2) as flat
}
"""


def test_every_form_computes_what_the_interpreter_computes(tmp_path: Path) -> None:
    path = written(tmp_path, FORMS)
    source = api.compile_source(str(path))
    assert "nn.ModuleList([Expert(d) for _ in range(experts)])" in source
    check_values(str(path))


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        ("moe(linear(6), experts=4, top_k=2)", "A264", "but this is the layer `linear`"),
        (
            "moe(Expert(6, 12), experts=4, top_k=5)",
            "A365",
            "top_k=5 experts, but there are only 4",
        ),
        ("moe(Expert(7, 12), experts=4, top_k=2)", "A387", "maps the tokens (N*T, 6) to (N*T, 7)"),
        ("moe(Expert(6, 12), experts=4, top_k=2, hidden=8)", "A208", "`moe` has no argument"),
    ],
)
def test_mistakes_are_diagnostics_at_the_call(
    tmp_path: Path, call: str, code: str, message: str
) -> None:
    text = SPEC.format(options="").replace(
        "moe(Expert(width, 2 * width), experts=experts, top_k=2)", call
    )
    text = text.replace("width=6, experts=5", "width=6").replace("[T, width]", "[T, 6]")
    _, diagnostics = api.analyse(str(written(tmp_path, text)))
    (error,) = [d for d in diagnostics if d.is_error]
    assert error.code == code
    assert message in error.message
    assert error.span is not None and error.span.line == 9


def test_too_many_experts_are_refused_before_any_is_made(tmp_path: Path) -> None:
    stages = " -> ".join(["linear(d) -> relu"] * 14)
    text = f"""
block Deep(d) {{
    in x
    out x -> {stages}
}}

network Big {{
    in x: [T, 8]
    out x -> moe(Deep(8), experts=10000, top_k=2)
}}
"""
    _, diagnostics = api.analyse(str(written(tmp_path, text)))
    (error,) = [d for d in diagnostics if d.is_error]
    assert error.code == "A222"
    assert "at least 280,000 layers" in error.message
    assert error.with_ == "10,000 experts * at least 28 layers each"
