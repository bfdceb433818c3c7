"""Every network class of the zoo takes every parameter its spec declares, but for those below.

A parameter the class leaves out is written as the spec's value: the class is then right for
that value only, and `-D` is the way to change it. Those left out here only size the declared
input, which a module does not hold (it takes any image size), or choose structure no class
can make itself (a conditional `tie`). A parameter lost anywhere else fails this test.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from archc import api, runtime
from tests.conftest import ROOT

SPECS = sorted((ROOT / "specs").glob("*.arch"))

# the parameters each network's class leaves out, and why
LEFT_OUT: dict[str, dict[str, str]] = {
    "ConvNeXtTiny": {"image_size": "sizes the input only"},
    "FCN8s": {"height": "sizes the input only", "width": "sizes the input only"},
    "MNASNet1_0": {"image_size": "sizes the input only"},
    "RegNetY400MF": {"image_size": "sizes the input only"},
    "ResNeXt50_32x4d": {"image_size": "sizes the input only"},
    "ShuffleNetV2X1_0": {"image_size": "sizes the input only"},
    "T5ForConditionalGeneration": {"tie_word_embeddings": "`tie ... if` chooses structure"},
    "WideResNet50_2": {"image_size": "sizes the input only"},
    "CBOW": {"window": "sizes the input only"},
}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_a_network_class_takes_the_parameters_of_its_spec(path: Path) -> None:
    module = runtime.load_source(api.compile_source(str(path)), f"archc_taken_{path.stem}")
    networks, _ = api.analyse(str(path))
    for network in networks:
        cls = getattr(module, runtime.network_class_name(module, network.name))
        taken = set(inspect.signature(cls).parameters)
        left_out = {name for name in network.args if name not in taken}
        assert left_out == set(LEFT_OUT.get(network.name, {})), network.name
