"""The generated `init_module` sets exactly the parameters the spec's `init` rules reach.

The static model lists, for every rule, the layers' parameters it initialises
(`Network.inits`). The generated class tests modules by kind (`isinstance(module, nn.Linear)`)
or by name, and such a test can pick more than the rule does: an nn.Linear that another
layer holds inside itself (an attention's `out_proj`, a mixture's router), or a module whose
class derives from the kind's (T5's relative bias is an nn.Embedding). This test fills every
parameter with NaN, runs `reset_parameters`, and compares the parameters it wrote with those
the static model says the rules reach, for every zoo network and golden case with rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from archc import api, runtime
from archc.ops.spec import HELD
from archc.semantics.ir import Network, join_path
from tests.test_codegen import BUILT_SMALL, CASES, ROOT, SPECS, spec_of


def _has_rules(path: str) -> bool:
    return any(
        line.lstrip().startswith("init ")
        for line in (ROOT / path).read_text(encoding="utf-8").splitlines()
    )


WITH_RULES = [s for s in (*SPECS, *(spec_of(c) for c in CASES)) if _has_rules(s)]


def reached(network: Network) -> set[str]:
    """The state_dict keys of the parameters the rules initialise, by the static model."""
    keys = set()
    for assignment in network.inits:
        path = network.weights_path(assignment.node.path)  # a shared layer's own module
        if assignment.parameter == HELD:
            keys.update(join_path(path, name) for name in assignment.node.params)
        else:
            keys.add(join_path(path, assignment.parameter))
    return keys


def written(model: torch.nn.Module) -> set[str]:
    """The parameters `reset_parameters` writes: every other one stays NaN."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(float("nan"))
    model.reset_parameters()  # type: ignore[operator]
    return {
        key
        for key, parameter in model.named_parameters(remove_duplicate=False)
        if not torch.isnan(parameter).all()
    }


def check(path: str, overrides: dict[str, Any]) -> None:
    networks, diagnostics = api.analyse(str(ROOT / path), None, overrides)
    assert not [d for d in diagnostics if d.is_error]
    for network in networks:
        if not network.inits:
            continue
        model = runtime.build(str(ROOT / path), network.name, max_params=None, **overrides)
        names: dict[int, set[str]] = {}  # a tied parameter's names
        for key, parameter in model.named_parameters(remove_duplicate=False):
            names.setdefault(id(parameter), set()).add(key)
        expected = reached(network)
        # a tied parameter is written through any of its names
        expected = {key for group in names.values() if group & expected for key in group}
        assert written(model) == expected, network.name


@pytest.mark.parametrize("path", WITH_RULES)
def test_generated_init_reaches_what_the_rules_reach(path: str) -> None:
    check(path, BUILT_SMALL.get(Path(path).stem, {}) if path.startswith("specs/") else {})


FLOAT_INPUT = "in x: [T, 16]\n out x"
TOKENS = "in ids: int64[T]\n out ids -> embedding(50, 16) as wte"


@pytest.mark.parametrize(
    ("rule", "body"),
    [
        ("linear.weight: normal(std=0.02)", f"{FLOAT_INPUT} -> attention(2) as attn -> linear(8)"),
        (
            "linear.weight: normal(std=0.02)",
            f'{FLOAT_INPUT} -> attention(2, layout="linears") as attn -> linear(8)',
        ),
        (
            "linear.weight: normal(std=0.02)",
            f"{FLOAT_INPUT} -> moe(8, experts=2, top_k=1) -> linear(8)",
        ),
        (
            "embedding.weight: normal(std=1.0)",
            f"{TOKENS} -> attention(2, relative_buckets=8, relative_max_distance=16) as attn",
        ),
    ],
)
def test_a_kind_rule_leaves_other_layers_modules_alone(
    tmp_path: Path, rule: str, body: str
) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(f"init {rule}\nnetwork N {{\n {body}\n}}\n")
    check(str(spec), {})


def test_the_check_sees_a_rule_that_reaches_too_far() -> None:
    """A class whose `init_module` writes one more parameter than the rules fails the check."""

    class Wider(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Linear(2, 2)
            self.b = torch.nn.Linear(2, 2)

        def reset_parameters(self) -> None:
            for module in self.modules():
                if isinstance(module, torch.nn.Linear):
                    torch.nn.init.zeros_(module.weight)

    assert written(Wider()) == {"a.weight", "b.weight"}


SUBMODULE_LAYERS = [
    "attention(2)",
    'attention(2, layout="linears")',
    'attention(2, layout="fused", qk_norm=true)',
    "attention(2, relative_buckets=8, relative_max_distance=16)",
    "moe(8, experts=2, top_k=1)",
    'moe(8, experts=2, top_k=1, layout="modules", gated=true)',
]


@pytest.mark.parametrize("layer", SUBMODULE_LAYERS)
def test_ops_name_the_classes_of_the_modules_they_hold(tmp_path: Path, layer: str) -> None:
    """What `Op.torch_submodules` declares is what the built module holds: the generated
    `init` rules rely on it to tell another layer's modules from the layers they pick."""
    from archc.backends.torch.structure import inferred_of
    from archc.ops import lookup

    spec = tmp_path / "spec.arch"
    spec.write_text(f"network N {{\n in x: [T, 16]\n out x -> {layer} as inner\n}}\n")
    (network,), _ = api.analyse(str(spec))
    (node,) = [n for n in network.nodes() if n.kind == "op"]
    op = lookup(node.op)
    assert op is not None
    declared = op.torch_submodules(node.args, inferred_of(node))
    owners = {name.rpartition(".")[0] for name in node.params if "." in name}
    assert set(declared) == owners and owners
    model = runtime.build(str(spec))
    for owner, class_ in declared.items():
        module = model.inner.get_submodule(owner)
        module_class = type(module)
        if class_.startswith("nn."):
            assert module_class is getattr(torch.nn, class_.removeprefix("nn.")), owner
        else:
            assert module_class.__name__ == class_, owner
