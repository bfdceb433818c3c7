"""The generated GPT-2's training step runs the kernels nanoGPT's runs (benchmarks/
reference_models.py), counted by torch's profiler rather than timed, so that a matrix product,
copy or concatenation per layer more than the hand-written model's shows on any machine, however
noisy its clock."""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from archc import runtime
from benchmarks import codegen_speed, reference_models
from tests.ops.harness import one_thread

GPT2 = codegen_speed.GPT2_TINY
# the products, and the copies a projection split by slicing its weight instead of its output
# would add: the gradients of the slices concatenated, the input's gradients summed
KERNELS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::cat", "aten::copy_", "aten::sum")


def kernel_counts(model: nn.Module, tokens: torch.Tensor, targets: torch.Tensor) -> Counter[str]:
    """The aten ops one forward and backward pass of a training step calls, by name."""
    with one_thread(), profile(activities=[ProfilerActivity.CPU]) as run:
        model.zero_grad(set_to_none=True)
        GPT2.loss(model(tokens), targets).backward()
    return Counter({e.key: e.count for e in run.key_averages() if e.key.startswith("aten::")})


def test_generated_gpt2_trains_with_nanogpts_kernels() -> None:
    generated = runtime.build(str(codegen_speed.ROOT / GPT2.spec), seed=0, **GPT2.overrides)
    reference = GPT2.reference()
    reference_models.load_generated(reference, generated)
    tokens, targets = GPT2.inputs("cpu")
    ours = kernel_counts(generated.train(), tokens, targets)
    theirs = kernel_counts(reference.train(), tokens, targets)
    assert {k: ours[k] for k in KERNELS} == {k: theirs[k] for k in KERNELS}
    assert sum(ours.values()) <= sum(theirs.values())
