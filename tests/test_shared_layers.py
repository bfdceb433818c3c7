"""Shared layers: one instance applied at several call sites (archc/semantics/sharing.py).

The IR holds one node per op each application runs; the weights are the instance's. So
parameters count once and MACs once per application, the state_dict has the instance's keys
only, and the generated module holds one submodule that forward calls at every application
(the golden case `tests/golden/shared_layers` shows the code, and `tests/test_oracle.py` runs it
against the interpreter). SimCLR (specs/simclr.arch) is checked against a two-view network
written here in plain PyTorch: one ResNet-18 encoder and one projection head, loaded strictly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archc import api
from archc.semantics.ir import Network
from tests.conftest import ROOT


def analysed(tmp_path: Path, text: str) -> Network:
    spec = tmp_path / "spec.arch"
    spec.write_text(text, encoding="utf-8")
    networks, diagnostics = api.analyse(str(spec))
    assert [d for d in diagnostics if d.is_error] == []
    (network,) = networks
    return network


TWO_VIEWS = """
block Encoder(width) {
    in x
    out x -> linear(width) as fc -> relu
}

network Twins(sharing=true) {
    in a: [16]
    in b: [16]
    encoder = if sharing then shared(Encoder(32)) else Encoder(32)
    out (a -> encoder) + (b -> encoder)
}
"""


def test_a_shared_layer_counts_its_parameters_once_and_its_macs_per_call(tmp_path: Path) -> None:
    shared = analysed(tmp_path, TWO_VIEWS)
    (tmp_path / "spec.arch").write_text(TWO_VIEWS.replace("sharing=true", "sharing=false"))
    separate, _ = api.analyse(str(tmp_path / "spec.arch"))
    assert shared.param_count == 16 * 32 + 32
    assert separate[0].param_count == 2 * shared.param_count
    assert shared.macs == separate[0].macs == 2 * 16 * 32
    assert list(shared.parameters()) == ["encoder.fc.weight", "encoder.fc.bias"]
    assert shared.applications == {"encoder@2": "encoder"}
    assert shared.weights_path("encoder@2.fc") == "encoder.fc"


def test_each_block_instance_makes_its_own_shared_layer(tmp_path: Path) -> None:
    network = analysed(
        tmp_path,
        """
        block Tower(width) {
            in x
            layer = shared(linear(width))
            out x -> layer * 3
        }

        network Two {
            in x: [8]
            out x -> Tower(8) as first -> Tower(8) as second
        }
        """,
    )
    assert list(network.parameters()) == [
        "first.layer.weight",
        "first.layer.bias",
        "second.layer.weight",
        "second.layer.bias",
    ]
    assert network.macs == 2 * 3 * 8 * 8


def test_sizes_the_weights_do_not_depend_on_may_differ(tmp_path: Path) -> None:
    network = analysed(
        tmp_path,
        """
        network Pair {
            in short: [T, 64]
            in long: [S, 64]
            encoder = shared(linear(32))
            out a = short -> encoder
            out b = long -> encoder
        }
        """,
    )
    assert network.param_count == 64 * 32 + 32
    assert [str(network.type_of(ref)) for ref in network.outputs.values()] == [
        "(N, T, 32)",
        "(N, S, 32)",
    ]


def test_the_summary_shows_the_instance_once_with_its_calls(tmp_path: Path) -> None:
    from archc.backends import summary

    rows = summary.rows(analysed(tmp_path, TWO_VIEWS))
    assert [(r.path, r.op, r.params) for r in rows] == [
        ("encoder", "Encoder (shared, 2 calls)", 544),
        ("encoder.fc", "linear", 544),
        ("encoder.relu1", "relu", 0),
        ("encoder@2", "Encoder (call 2)", 0),
        ("add1", "add", 0),
    ]
    assert [r.macs for r in rows if r.path.startswith("encoder")] == [512, 512, 0, 512]


# --- SimCLR against plain PyTorch ----------------------------------------------------------------


def plain_simclr(torch: Any, dim: int) -> Any:
    """SimCLR as one writes it by hand: a ResNet-18 trunk and an MLP head, each applied to
    both views."""
    nn = torch.nn

    class Basic(nn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
                )

        def forward(self, x: Any) -> Any:
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(y + (x if self.downsample is None else self.downsample(x)))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            stages, inplanes = [], 64
            for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                stages.append(
                    nn.Sequential(Basic(inplanes, planes, stride), Basic(planes, planes, 1))
                )
                inplanes = planes
            self.layer1, self.layer2, self.layer3, self.layer4 = stages

        def forward(self, x: Any) -> Any:
            x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(512, 512)
            self.fc2 = nn.Linear(512, dim)

        def forward(self, h: Any) -> Any:
            return self.fc2(torch.relu(self.fc1(h)))

    class SimCLR(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.head = Head()

        def forward(self, view1: Any, view2: Any) -> tuple[Any, Any]:
            return self.head(self.encoder(view1)), self.head(self.encoder(view2))

    return SimCLR()


@pytest.mark.slow
def test_simclr_matches_a_plain_two_view_network() -> None:
    torch = pytest.importorskip("torch")
    from archc import runtime

    torch.manual_seed(0)
    reference = plain_simclr(torch, 32).double().eval()
    with torch.no_grad():  # running statistics other than zeros and ones, so loading counts
        for name, tensor in reference.state_dict().items():
            if name.endswith(("running_mean", "running_var", "bn1.bias", "bn2.bias")):
                tensor.uniform_(0.5, 1.5)
    built = runtime.build(str(ROOT / "specs" / "simclr.arch"), dim=32).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    count = sum(p.numel() for p in built.parameters())
    assert count == sum(p.numel() for p in reference.parameters())
    one_encoder = sum(p.numel() for p in reference.encoder.parameters())
    assert count == one_encoder + sum(p.numel() for p in reference.head.parameters())
    assert (
        api.analyse(str(ROOT / "specs" / "simclr.arch"), overrides={"dim": 32})[0][0].param_count
        == count
    )
    views = torch.randn(2, 2, 3, 64, 64, dtype=torch.float64).unbind(0)
    with torch.no_grad():
        expected = reference(*views)
        got = built(*views)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.shape == theirs.shape == (2, 32)
        assert torch.allclose(mine, theirs, rtol=0, atol=1e-10), (mine - theirs).abs().max()


def test_analysing_a_spec_twice_in_one_process_gives_the_same_bytes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Shared instances are numbered per elaboration, so nothing carries over from the first
    analysis into the second."""
    from archc.cli import main

    spec = str(ROOT / "tests/golden/shared_layers/input.arch")
    runs = []
    for _ in range(2):
        assert main(["compile", spec]) == 0
        source = capsys.readouterr().out
        assert main(["summary", "--json", spec]) == 0
        runs.append((source, capsys.readouterr().out))
    assert "class " in runs[0][0] and '"params"' in runs[0][1]
    assert runs[0] == runs[1]


APPLIED = """
block Layer(d) {
    in x
    out x -> linear(d) -> relu
}

block Applied(d, layers) {
    in x
    group = shared(Layer(d) as layer)
    out x -> linear(d) as proj -> group * layers
}

network Net(d=6, layers=COUNT) {
    in x: [4]
    group = shared(Layer(d) as layer)
    out x -> linear(d) as proj -> group * layers -> Applied(d, layers) as inner
}
"""


@pytest.mark.parametrize("written", [1, 3])
def test_a_shared_layer_applied_a_computed_number_of_times_loops_over_the_count(
    tmp_path: Path, written: int
) -> None:
    """`group * layers` was written `for _ in range(3)`, and the class lost `layers` (and,
    written from one application, the loop itself): built with another count it applied the
    layer as often as the spec's instance did. No application makes no layer: refused."""
    import torch

    from archc import runtime
    from tests.oracle import compare, random_inputs, sizes_of

    spec = tmp_path / "applied.arch"
    spec.write_text(APPLIED.replace("COUNT", str(written)), encoding="utf-8")
    module = runtime.load_source(api.compile_source(str(spec)), f"archc_applied_{written}")
    for layers in (1, 2, 5):
        networks, diagnostics = api.analyse(str(spec), None, {"layers": layers})
        assert [d for d in diagnostics if d.is_error] == []
        torch.manual_seed(0)
        model = module.Net(layers=layers).double()
        assert sum(p.numel() for p in model.parameters()) == networks[0].param_count
        inputs = random_inputs(networks[0], sizes_of(networks[0]))
        for training in (False, True):
            assert compare(networks[0], model, inputs, training) == [], (layers, training)
    for cls in (module.Net, lambda layers: module.Applied(4, 6, layers)):
        with pytest.raises(ValueError, match="layers < 1"):
            cls(layers=0)
