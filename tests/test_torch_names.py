"""Module names as reference implementations write them: the generated module's state_dict keys
are those of a hand-written PyTorch module, which loads into it strictly and computes the same.

The hand-written modules follow torchvision: a conv-norm-activation is an nn.Sequential inside
`features` or inside a block's `block`, and names that are not identifiers are registered with
`add_module`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archc import api
from archc.errors import SourceFile
from archc.syntax import ast
from archc.syntax.fmt import format_source
from archc.syntax.parse import parse
from tests.conftest import ROOT

torch = pytest.importorskip("torch")
nn = torch.nn

from archc import runtime  # noqa: E402  (needs torch)

QUOTED = ROOT / "tests" / "golden" / "quoted_names" / "input.arch"
# the same network, its nested chains numbered by position: `[a -> b]`
BRACKETED = ROOT / "tests" / "golden" / "numbered_chains" / "input.arch"
ASPP_SPEC = ROOT / "tests" / "golden" / "branches_aspp" / "input.arch"


def conv_norm_act(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, groups=groups, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.SiLU())


class MBConv(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        project = nn.Sequential(
            nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels)
        )
        self.block = nn.Sequential(conv_norm_act(channels, channels, groups=channels), project)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class Features(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_norm_act(3, 16, stride=2), nn.Sequential(MBConv(16), MBConv(16))
        )
        self.add_module("block1-0", nn.Conv2d(16, 8, 1))
        self.add_module("in", nn.Linear(8, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = getattr(self, "block1-0")(self.features(x))
        return getattr(self, "in")(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class ASPPPooling(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        conv = nn.Conv2d(cin, cout, 1, bias=False)
        super().__init__(nn.AdaptiveAvgPool2d(1), conv, nn.BatchNorm2d(cout), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        for layer in self:
            x = layer(x)
        return nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """torchvision's DeepLabv3 head, its dropout left out."""

    def __init__(self, cin: int = 16, width: int = 8, rate: int = 2) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
                ),
                nn.Sequential(
                    nn.Conv2d(cin, width, 3, padding=rate, dilation=rate, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(),
                ),
                ASPPPooling(cin, width),
            ]
        )
        self.project = nn.Sequential(
            nn.Conv2d(3 * width, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


class Single(nn.Module):
    def __init__(self, name: str, layer: nn.Module) -> None:
        super().__init__()
        self.name = name
        self.add_module(name, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.name)(x)


def _randomised(module: nn.Module) -> nn.Module:
    """Running statistics away from 0 and 1, so that loading them is tested too."""
    for child in module.modules():
        if isinstance(child, nn.BatchNorm2d):
            child.running_mean.uniform_(-0.1, 0.1)
            child.running_var.uniform_(0.5, 1.5)
    return module.double().eval()


def check_same_module(spec: Path, reference: nn.Module, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    reference = _randomised(reference)
    built = runtime.build(str(spec)).double().eval()
    assert list(built.state_dict()) == list(reference.state_dict())
    built.load_state_dict(reference.state_dict(), strict=True)
    batch = torch.randn(2, *shape, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(built(batch), reference(batch), rtol=0, atol=1e-10)


@pytest.mark.parametrize("spec", [QUOTED, BRACKETED], ids=["quoted", "bracketed"])
def test_quoted_and_numbered_names_give_torchvision_keys(spec: Path) -> None:
    keys = set(runtime.build(str(spec)).state_dict())
    assert {"features.0.0.weight", "features.1.0.block.0.0.weight", "block1-0.bias"} <= keys
    assert "in.weight" in keys
    check_same_module(spec, Features(), (3, 32, 32))


def test_branches_are_a_module_list_like_torchvisions_aspp() -> None:
    keys = set(runtime.build(str(ASPP_SPEC)).state_dict())
    assert {"convs.0.0.weight", "convs.1.0.weight", "convs.2.1.weight"} <= keys
    check_same_module(ASPP_SPEC, ASPP(), (16, 12, 12))


def test_an_unnamed_bracketed_chain_outside_a_named_chain_is_named_like_a_layer(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "net.arch"
    spec.write_text(
        "network Net {\n    in x: [4]\n"
        "    out x -> [linear(4) -> relu] -> [linear(2)] -> (linear(2) -> relu)\n}\n"
    )
    keys = list(runtime.build(str(spec)).state_dict())
    assert keys == [
        "seq1.0.weight", "seq1.0.bias", "seq2.0.weight", "seq2.0.bias",
        "linear1.weight", "linear1.bias",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("written", "name"),
    [('"block1-0"', "block1-0"), ('"in"', "in"), ('"0"', "0"), ('"a\\"b"', 'a"b')],
)
def test_a_quoted_name_is_the_key_as_written(tmp_path: Path, written: str, name: str) -> None:
    spec = tmp_path / "net.arch"
    spec.write_text(f"network Net {{\n    in x: [4]\n    out x -> linear(2) as {written}\n}}\n")
    check_same_module(spec, Single(name, nn.Linear(4, 2)), (4,))


def test_quoted_names_survive_parsing_and_formatting() -> None:
    text = QUOTED.read_text(encoding="utf-8")
    assert format_source(SourceFile("in.arch", text)) == text
    tree = parse(SourceFile("in.arch", text))
    names = {(n.name.name, n.name.quoted) for n in ast.walk(tree) if isinstance(n, ast.Named)}
    assert {("block", True), ("0", True), ("features", False)} <= names
    escaped = 'x = a as "a\\"b"\n'
    assert format_source(SourceFile("in.arch", escaped)) == escaped


def test_a_held_tensor_and_unnamed_branches_under_quoted_names(tmp_path: Path) -> None:
    spec = tmp_path / "net.arch"
    spec.write_text(
        "network Net {\n"
        "    in x: [5, 8]\n"
        '    y = x + (x -> parameter(5, 8, std=0.02) as "pos-embedding")\n'
        '    out y -> branches(linear(4) as "head-0", linear(4) -> relu) -> concat(dim=2)\n'
        "}\n"
    )
    [(passed, verdict)] = runtime.selftest(str(spec))
    assert passed, verdict
    keys = list(runtime.build(str(spec)).state_dict())
    assert keys == [
        "pos-embedding", "head-0.weight", "head-0.bias", "seq1.0.weight", "seq1.0.bias",
    ]  # fmt: skip


def test_a_network_giving_the_branches_gives_each_output(tmp_path: Path) -> None:
    spec = tmp_path / "net.arch"
    spec.write_text(
        "network Net {\n    in x: [4]\n    out ys = x -> branches(linear(2), relu)\n}\n"
    )
    (network,), _ = api.analyse(str(spec))
    assert list(network.outputs) == ["ys0", "ys1"]
    [(passed, verdict)] = runtime.selftest(str(spec))
    assert passed, verdict
    ys = runtime.build(str(spec))(torch.ones(3, 4))
    assert [tuple(y.shape) for y in ys] == [(3, 2), (3, 4)]


def test_quoted_names_with_quotes_are_escaped_in_init_rules_and_dense_blocks(
    tmp_path: Path,
) -> None:
    """Every place generated code writes a layer's name as a string literal escapes it: the
    tuple an init rule selects names with, and the keys of a dense block's layers."""
    spec = tmp_path / "net.arch"
    spec.write_text(
        "init linear.bias: zeros\n\n"
        "network Net {\n"
        "    in x: [4, 6, 6]\n"
        '    y = x -> dense(conv2d(2, 3, padding=1) as "c\\"0" -> conv2d(2, 1) as "c\\\\1") '
        "as stack\n"
        '    out y -> flatten -> linear(3) as "q\\"uote" -> linear(2) as head\n'
        "}\n"
    )
    source = api.compile_source(str(spec))
    compile(source, "net.py", "exec")  # no unterminated literal
    [(passed, verdict)] = runtime.selftest(str(spec))
    assert passed, verdict
    model = runtime.build(str(spec))
    keys = [k for k in model.state_dict() if k.startswith("stack.")]
    assert keys[:2] == ['stack.c"0.weight', 'stack.c"0.bias'] and "stack.c\\1.weight" in keys
    assert torch.count_nonzero(model.get_submodule('q"uote').bias) == 0  # the rule reached it
