"""A generated network class is right for every value of the parameters it takes, not only the
spec's: built with another value, it is the network the spec elaborates with that value.

For each zoo network and each whole-number parameter its class takes, the class is built with a
changed value on the meta device (no memory, no arithmetic, every shape checked) and compared
with the spec elaborated under the same value: the same state_dict keys and shapes, and a
forward whose outputs have the shapes the checker derives (where every op of it runs on the
meta device), and whose lines' shape comments give the shapes of the tensors they assign. A
value the class wrote as the spec's number instead of following the parameter breaks one or the
other.

A network whose depth is a parameter is built at the depth tests/test_oracle.py's SMALL gives it
(two layers rather than a 7B language model's 32), changed parameter and all: the meta device
runs torch's Python reference of each op, milliseconds a call, so a forward costs by the number
of layers, while two layers still go through every layer kind, block and branch of the stack.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from archc import api, dims, runtime
from archc.semantics.ir import Network
from tests.conftest import ROOT
from tests.meta_device import random_fills_skipped_on_meta
from tests.oracle import compare, random_inputs, silence_dropout, sizes_of, vary_running_statistics
from tests.shape_comments import checked_forward, recording_arguments
from tests.test_oracle import SMALL, shallow

SPECS = sorted((ROOT / "specs").glob("*.arch"))


def other_values(value: int) -> list[int]:
    """Values to try in place of ``value``, the first the spec accepts being used."""
    return [v for v in (value * 2, value + 1, value // 2, value - 1) if v >= 1 and v != value]


def state(network: Network) -> dict[str, tuple[int, ...]]:
    return {
        key: tuple(shape) for key, shape in {**network.parameters(), **network.buffers()}.items()
    }


def elaborated(path: Path, name: str, overrides: dict[str, Any]) -> Network | None:
    """The network under ``overrides``; None where the spec refuses them."""
    networks, diagnostics = api.analyse(str(path), name, overrides)
    if any(d.is_error for d in diagnostics) or not networks:
        return None
    return networks[0]


def check_built(cls: type[torch.nn.Module], expected: Network, overrides: dict[str, Any]) -> int:
    """How many shape comments the forward checked (tests/shape_comments.py)."""
    module = sys.modules[cls.__module__]
    with torch.device("meta"), recording_arguments(module), random_fills_skipped_on_meta():
        model = cls(**overrides).double().eval()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == state(expected)
    sizes = sizes_of(expected)
    inputs = [t.to("meta") for t in random_inputs(expected, sizes).values()]
    try:
        with torch.no_grad():
            outputs, checked = checked_forward(
                model, inputs, {**expected.args, **sizes}, str(module.__file__)
            )
    except NotImplementedError:  # an op with no meta kernel (a mixture's torch.unique)
        return 0
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    wanted = [
        [dims.evaluate(d, sizes) for d in expected.type_of(ref).shape]
        for ref in expected.outputs.values()
    ]
    assert [list(o.shape) for o in outputs] == wanted
    return checked


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_network_classes_follow_their_parameters(path: Path) -> None:
    module = runtime.load_source(api.compile_source(str(path)), f"archc_general_{path.stem}")
    networks, _ = api.analyse(str(path))
    for network in networks:
        cls = getattr(module, runtime.network_class_name(module, network.name))
        taken = inspect.signature(cls).parameters
        depths = shallow(path.stem, taken, network.args)
        for name, value in network.args.items():
            if name not in taken or isinstance(value, bool) or not isinstance(value, int):
                continue
            for other in other_values(depths.get(name, value)):
                overrides = {**depths, name: other}
                expected = elaborated(path, network.name, overrides)
                if expected is not None:
                    check_built(cls, expected, overrides)
                    break


@pytest.mark.parametrize("spec", sorted(SMALL))
def test_network_classes_built_small_compute_what_the_interpreter_computes(spec: str) -> None:
    """The class written for the spec's own sizes, built with small ones, equals the
    interpreter run on the spec elaborated with them: values, not only shapes."""
    path = ROOT / "specs" / f"{spec}.arch"
    module = runtime.load_source(api.compile_source(str(path)), f"archc_general_small_{spec}")
    networks, _ = api.analyse(str(path), overrides=SMALL[spec])
    compared = 0
    for network in networks:
        cls = getattr(module, runtime.network_class_name(module, network.name))
        given = {k: v for k, v in SMALL[spec].items() if k in network.args}
        if not given.keys() <= inspect.signature(cls).parameters.keys():
            continue  # a parameter its class writes as a number: `-D` changes it instead
        torch.manual_seed(0)
        model = cls(**given).double()
        vary_running_statistics(model)
        silence_dropout(model)
        inputs = random_inputs(network, sizes_of(network))
        for training in (False, True):
            assert compare(network, model, inputs, training) == [], (network.name, training)
        compared += 1
    if not compared:
        pytest.skip(f"{spec}: its classes take none of the small sizes")


SLICED = """
block Head(n) {
    in x
    out x -> linear(n) as proj
}
network Net(size=16) {
    in x: [size, 8]
    y = x -> slice(1, 0, none, 2)
    a = x -> Head(x.shape[1]) as first
    out b = y -> transpose(1, 2) -> Head(y.shape[1]) as second
}
"""


def test_a_size_read_after_a_slice_follows_the_parameter(tmp_path: Path) -> None:
    """`y.shape[1]` of a slice's output was written as the spec's 8, right only for size=16."""
    path = tmp_path / "sliced.arch"
    path.write_text(SLICED, encoding="utf-8")
    module = runtime.load_source(api.compile_source(str(path)), "archc_general_sliced")
    for size in (20, 9):
        expected = elaborated(path, "Net", {"size": size})
        assert expected is not None
        check_built(module.Net, expected, {"size": size})


GROUPED = """
network Net(heads=4, kv_heads=4) {
    in x: [T, 32]
    out x -> attention(heads, kv_heads=kv_heads, layout="linears", causal=true) as attn
}
"""


def test_key_value_heads_as_many_as_the_query_heads_follow_the_parameter(
    tmp_path: Path,
) -> None:
    """Llama-2-7B's kv_heads equals its heads: the class still takes kv_heads, and built with
    fewer it shares each key/value head among several query heads, as Llama-3's do."""
    path = tmp_path / "grouped.arch"
    path.write_text(GROUPED, encoding="utf-8")
    module = runtime.load_source(api.compile_source(str(path)), "archc_general_grouped")
    assert "kv_heads" in inspect.signature(module.Net).parameters
    for kv_heads in (2, 1):
        expected = elaborated(path, "Net", {"kv_heads": kv_heads})
        assert expected is not None
        check_built(module.Net, expected, {"kv_heads": kv_heads})
