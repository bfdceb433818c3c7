"""Generated modules in the settings PyTorch users put them in: devices, dtypes, memory formats,
torch.export, and data-parallel training across processes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from archc import runtime
from tests.conftest import ROOT

RESNET = str(ROOT / "specs" / "resnet18.arch")
ENCODER = str(ROOT / "tests" / "golden" / "transformer_encoder" / "input.arch")
MIXER = str(ROOT / "tests" / "golden" / "mixer_chunk" / "input.arch")


def small_resnet() -> torch.nn.Module:
    return runtime.build(RESNET, seed=0, classes=10).eval()


def test_bfloat16_autocast_on_cpu() -> None:
    model = small_resnet()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10) and out.dtype == torch.bfloat16


def test_channels_last_gives_the_same_result() -> None:
    model = small_resnet()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        model = model.to(memory_format=torch.channels_last)
        actual = model(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


def test_dtype_argument_builds_in_that_dtype() -> None:
    model = runtime.build(ENCODER, dtype=torch.float64)
    assert {p.dtype for p in model.parameters()} == {torch.float64}


def test_torch_export_with_a_dynamic_sequence_length() -> None:
    model = runtime.build(ENCODER, seed=0).eval()
    tokens = torch.randint(0, 1000, (2, 16))
    length = torch.export.Dim("T", min=2, max=128)
    program = torch.export.export(model, (tokens,), dynamic_shapes=({1: length},))
    longer = torch.randint(0, 1000, (2, 40))
    torch.testing.assert_close(program.module()(longer), model(longer))


def test_meta_device_then_materialised() -> None:
    model = runtime.build(MIXER, device="meta")
    assert all(p.is_meta for p in model.parameters())
    model = model.to_empty(device="cpu")
    assert model(torch.randn(2, 5, 16))[0].shape == (2, 5, 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_forward_backward_and_compile() -> None:
    model = runtime.build(ENCODER, seed=0, device="cuda")
    tokens = torch.randint(0, 1000, (4, 64), device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = model(tokens).float().logsumexp(-1).mean()
    loss.backward()
    model.eval()  # dropout draws other masks in every call: compare the deterministic network
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(tokens), model(tokens), rtol=1e-3, atol=1e-3)


def _train_two_steps(rank: int, world: int, spec: str, out: str) -> None:
    # A file store, not TCP: rank 0 would host a TCP store server whose thread can abort the
    # process at teardown, and a port picked in advance can be taken before it is bound.
    store = f"file://{out}/store"
    dist.init_process_group("gloo", init_method=store, rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = torch.nn.parallel.DistributedDataParallel(runtime.build(spec, seed=0))
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(rank)  # each replica sees different data
    for _ in range(2):
        x = torch.randn(4, 5, 16, generator=generator)
        left, right = model(x)
        loss = left.pow(2).mean() + right.pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    torch.save(model.module.state_dict(), f"{out}/rank{rank}.pt")
    # Both ranks are done with the group before either tears it down, and DDP's reducer (which
    # holds the group) goes first, so the group is destroyed here and not at interpreter exit.
    dist.barrier()
    del model, optimiser
    dist.destroy_process_group()


def test_ddp_replicas_stay_identical(tmp_path: Path) -> None:
    world = 2
    mp.spawn(_train_two_steps, args=(world, MIXER, str(tmp_path)), nprocs=world)
    first, second = (torch.load(tmp_path / f"rank{r}.pt") for r in range(world))
    start = runtime.build(MIXER, seed=0).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert any(not torch.equal(first[k], start[k]) for k in first)  # training moved them


TIED = """
network Tied {
    in tokens: int64[T]
    tie head.weight = embed.weight
    out tokens -> embedding(10, 4) as embed -> linear(10, bias=false) as head
}
"""


def test_untied_weights_do_not_load_into_a_tied_network(tmp_path: Path) -> None:
    """A state_dict names a tied parameter twice; loading one whose two entries differ would
    keep whichever came last, and the logits would silently be another network's."""
    spec = tmp_path / "tied.arch"
    spec.write_text(TIED, encoding="utf-8")
    model = runtime.build(str(spec), seed=0)
    untied = {key: value.clone() for key, value in model.state_dict().items()}
    untied["head.weight"] += 2.0
    with pytest.raises(RuntimeError, match=r"head\.weight is tied to embed\.weight"):
        model.load_state_dict(untied)
    consistent = {key: value.clone() for key, value in model.state_dict().items()}
    consistent["embed.weight"] += 1.0
    consistent["head.weight"] = consistent["embed.weight"]
    model.load_state_dict(consistent)
    assert torch.equal(model.head.weight, consistent["embed.weight"])
    assert model.head.weight is model.embed.weight
