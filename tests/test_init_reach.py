"""The generated `init_module` sets exactly the parameters the spec's `init` rules reach.

The static model lists, for every rule, the layers' parameters it initialises
(`Network.inits`). The generated class tests modules by kind (`isinstance(module, nn.Linear)`)
or by name, and such a test can pick more than the rule does: an nn.Linear that another
layer holds inside itself (an attention's `out_proj`, a mixture's router), or a module whose
class derives from the kind's (T5's relative bias is an nn.Embedding); and where two rules
reach one tensor, the later must be the one that stays, although `init_module` runs module by
module (a rule on `attn.out_proj.weight` written through the attention runs before a test on
the nn.Linear inside it). For every zoo network and golden case with rules this test fills
every parameter with NaN, runs `reset_parameters`, and compares the parameters it wrote with
those the static model says the rules reach; and it records the last initialisation call on
each tensor and compares it with the call the rule the static model applies last makes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from archc import api, runtime
from archc.ops.spec import HELD
from archc.semantics.inits import Assignment
from archc.semantics.ir import Network, join_path
from tests.test_codegen import BUILT_SMALL, CASES, ROOT, SPECS, spec_of


def _has_rules(path: str) -> bool:
    return any(
        line.lstrip().startswith("init ")
        for line in (ROOT / path).read_text(encoding="utf-8").splitlines()
    )


WITH_RULES = [s for s in (*SPECS, *(spec_of(c) for c in CASES)) if _has_rules(s)]
# Which tensors a rule reaches follows from the layers' kinds and names, not their widths: zoo
# networks that take sizes are built small (every network of the file takes the values), with
# at least two copies of every repeated block, so that every layer kind and rule is still there.
BUILT_SMALL_FOR_INIT: dict[str, dict[str, Any]] = {
    **BUILT_SMALL,
    "albert_base": {
        "vocab": 64,
        "embedding": 16,
        "hidden": 32,
        "layers": 2,
        "heads": 4,
        "intermediate": 48,
        "max_positions": 32,
    },
    "convnext_tiny": {"classes": 10, "image_size": 32, "widths": (8, 16, 32, 64)},
    "densenet121": {"growth": 8, "classes": 10},
    "efficientnet_v2_s": {"classes": 10},
    "mnasnet1_0": {"classes": 10, "image_size": 32},
    "mobilenet_v3_large": {"classes": 10},
    "regnet_y_400mf": {"classes": 10, "image_size": 32},
    "resnet18": {"classes": 10},
    "resnet50": {"classes": 10},
    "resnext50_32x4d": {"classes": 10, "image_size": 32, "groups": 4},
    "squeezenet1_1": {"classes": 10},
    "wide_resnet50_2": {"classes": 10, "image_size": 32, "width_per_group": 16},
    "swin_v2_t": {"classes": 10, "image_size": 64, "embed": 24},
    "t5_encoder": {"vocab": 64, "d_model": 32, "layers": 2, "heads": 4, "d_kv": 8, "d_ff": 48},
    "word_lm": {"ntoken": 64, "nhid": 16},
}


def keys_of(network: Network, assignment: Assignment) -> list[str]:
    """The state_dict keys of the tensors an assignment sets."""
    path = network.weights_path(assignment.node.path)  # a shared layer's own module
    if assignment.parameter == HELD:
        return [join_path(path, name) for name in assignment.node.params]
    return [join_path(path, assignment.parameter)]


def reached(network: Network) -> set[str]:
    """The state_dict keys of the parameters the rules initialise, by the static model."""
    return {key for assignment in network.inits for key in keys_of(network, assignment)}


Call = tuple[str, tuple[Any, ...], dict[str, Any]]  # a function's name and its other arguments


@contextmanager
def recorded(module: Any) -> Iterator[dict[int, Call]]:
    """The last call `init_module` made on each tensor (by id), of torch.nn.init's functions
    and of the generated module's own (schemes torch lacks), while the block runs."""
    calls: dict[int, Call] = {}

    def recording(function: Callable[..., Any]) -> Callable[..., Any]:
        def call(tensor: Any, *args: Any, **kwargs: Any) -> Any:
            if sys._getframe(1).f_code.co_name == "init_module":
                calls[id(tensor)] = (function.__name__, args, kwargs)
            return function(tensor, *args, **kwargs)

        return call

    saved = [
        (owner, name, function)
        for owner in (torch.nn.init, module)
        for name, function in vars(owner).items()
        if name.endswith("_") and not name.startswith("_") and callable(function)
    ]
    for owner, name, function in saved:
        setattr(owner, name, recording(function))
    try:
        yield calls
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)


class Calls:
    """Stands for torch.nn.init and the generated helpers: each call is kept, not made."""

    def __init__(self) -> None:
        self.made: list[Call] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda tensor, *args, **kwargs: self.made.append((name, args, kwargs))


def expected_call(statement: str, module: Any) -> Call:
    """The call a statement archc writes for a rule makes, on a stand-in tensor `t`."""
    calls = Calls()
    helpers = {name: getattr(calls, name) for name in vars(module) if name.endswith("_")}
    namespace = {**vars(module), **helpers, "nn": SimpleNamespace(init=calls), "t": None}
    exec(statement, namespace)  # archc's own statement, its functions stood in for
    (call,) = calls.made
    return call


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def check_last_rules(
    network: Network, model: torch.nn.Module, initialise: Callable[[], None]
) -> None:
    """The last call on each tensor, as ``initialise`` runs, is the call of the static model's
    last rule on it."""
    module = sys.modules[type(model).__module__]
    with recorded(module) as calls:
        initialise()
    last = {key: a for a in network.inits for key in keys_of(network, a)}
    parameters = dict(model.named_parameters(remove_duplicate=False))
    for key, assignment in last.items():
        statement = assignment.scheme.scheme.emit(assignment.scheme.args, "t")
        name, args, kwargs = calls[id(parameters[key])]
        want_name, want_args, want_kwargs = expected_call(statement, module)
        assert name == want_name and same(args, want_args), (key, statement)
        assert kwargs.keys() == want_kwargs.keys(), (key, statement)
        assert all(same(kwargs[k], want_kwargs[k]) for k in kwargs), (key, statement)


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
        # a tensor a class holds itself (`parameter(...)`) may start as its own code says
        held = {network.weights_path(n.path) for n in network.nodes() if HELD in n.params}
        assert written(model) - (held - expected) == expected, network.name
        check_last_rules(network, model, model.reset_parameters)  # type: ignore[arg-type]
        # archc.runtime.build(seed=...) seeds each layer by its path and applies the rules anew
        check_last_rules(network, model, partial(runtime.reseed, model, 3))


@pytest.mark.parametrize("path", WITH_RULES)
def test_generated_init_reaches_what_the_rules_reach(path: str) -> None:
    check(path, BUILT_SMALL_FOR_INIT.get(Path(path).stem, {}) if path.startswith("specs/") else {})


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
    'attention(2, layout="linears", rotary=true)',
    'attention(2, layout="fused", qk_norm=true)',
    "attention(2, relative_buckets=8, relative_max_distance=16)",
    "moe(8, experts=2, top_k=1)",
    'moe(8, experts=2, top_k=1, layout="modules", gated=true)',
]


@pytest.mark.parametrize("layer", SUBMODULE_LAYERS)
def test_ops_name_the_classes_of_the_modules_they_hold(tmp_path: Path, layer: str) -> None:
    """What `Op.torch_submodules` declares is every module the built one holds: the generated
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
    model = runtime.build(str(spec))
    assert set(declared) == {name for name, _ in model.inner.named_modules() if name}
    for owner, class_ in declared.items():
        module = model.inner.get_submodule(owner)
        module_class = type(module)
        if class_.startswith("nn."):
            assert module_class is getattr(torch.nn, class_.removeprefix("nn.")), owner
        else:
            assert module_class.__name__ == class_, owner


def test_a_glob_over_recurrent_tensors_picks_only_layers_that_hold_them(tmp_path: Path) -> None:
    """A recurrent layer given its states is a StatefulLSTM, an nn.LSTM: a test by class
    would pick it for the tensors of the bidirectional layer beside it, which it lacks."""
    spec = tmp_path / "spec.arch"
    spec.write_text(
        'init "*.weight_hh_l*": orthogonal\n'
        "network N {\n in x: [T, 6]\n"
        " h = x -> parameter(1, 6, std=0.1) as h0\n"
        " c = x -> parameter(1, 6, std=0.1) as c0\n"
        " x = x -> lstm(6, h0=h, c0=c) as stateful\n"
        " out x -> lstm(4, num_layers=2, bidirectional=true) as both_ways\n}\n"
    )
    check(str(spec), {})
