"""Which networks decode a token at a time with a KV cache, and which modules pass it on.

A network decodes when it is a causal language model: one input of int64 token ids (N, T), one
output (N, T, V), and positions mixed by causal self-attention alone. Every other op is
positionwise (`Op.positionwise`) or counts positions on from where a cache ends
(`Ctor.cached_call`: learned and sinusoidal positions), and those come before the first
attention, so that they read the cache before this call's keys are added to it. Its generated
`forward` then takes an optional `KVCache`, which each block on the way to an attention passes
on (a repeat of such blocks is called in a loop), and its class has a greedy `generate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archc import dims
from archc.backends.torch.structure import is_callable, traced_inputs
from archc.ops import lookup
from archc.semantics.ir import Network, Node

# A cached call that reads where the cache ends, rather than adding keys to it.
READS_LENGTH = "cached_length("


def cached_call(node: Node) -> str | None:
    """How forward calls ``node``'s module in a network that decodes, if it can."""
    op = lookup(node.op)
    if op is None:
        return None
    args, inferred = traced_inputs(node)
    ctor = op.torch_module(args, inferred)
    return ctor.cached_call if ctor is not None else None


def _carrying_paths(network: Network) -> set[str] | None:
    """The paths of the modules a KV cache passes through ("" the network itself), or None
    where the network does not decode."""
    if not _is_language_model(network):
        return None
    paths: set[str] = set()
    attended = False
    for node in network.nodes():
        if node.kind == "input":
            continue
        op = lookup(node.op)
        call = cached_call(node)
        if call is None:
            if op is None or not op.positionwise:
                return None
            continue
        reads_length = READS_LENGTH in call
        if reads_length and attended:
            return None  # it would read the length after an attention added this call's keys
        if not reads_length and network.application_of(node.path) is not None:
            return None  # a shared attention applied again: the cache keeps one entry a module
        attended |= not reads_length
        parts = node.path.split(".")
        paths |= {".".join(parts[:cut]) for cut in range(len(parts) + 1)}
    if not attended:
        return None
    return paths if all(_passes_on(network, path, paths) for path in paths) else None


def _is_language_model(network: Network) -> bool:
    """One input of token ids (N, T) and one output (N, T, V), T a symbol."""
    if len(network.inputs) != 1 or len(network.outputs) != 1:
        return False
    (tokens,) = (network.type_of(ref) for ref in network.inputs.values())
    (logits,) = (network.type_of(ref) for ref in network.outputs.values())
    if tokens is None or logits is None or tokens.dtype != "int64":
        return False
    if tokens.rank != 2 or logits.rank != 3 or isinstance(tokens.shape[1], int):
        return False
    return dims.same(tokens.shape[1], logits.shape[1])


def _passes_on(network: Network, path: str, carrying: set[str]) -> bool:
    """Whether the module at ``path`` can hand the cache to what it calls: a block or the
    network does, and a chain called as one module only where every part takes the cache
    (a repeat of blocks, called in a loop)."""
    module = network.modules.get(path)
    if module is None or module.kind != "sequence" or not is_callable(network, module):
        return True
    if module.combinator == "dense" or module.parallel:
        return False
    prefix = f"{path}."
    parts = {p for p in network.modules if p.startswith(prefix) and "." not in p[len(prefix) :]}
    parts |= {
        n.path
        for n in network.within(path)
        if n.path.startswith(prefix) and "." not in n.path[len(prefix) :]
    }
    return parts <= carrying


@dataclass
class Decoding:
    """The modules of some networks that take a KV cache, by network (worked out once each)."""

    _paths: dict[int, set[str] | None] = field(default_factory=dict)

    def paths(self, network: Network) -> set[str]:
        if id(network) not in self._paths:
            self._paths[id(network)] = _carrying_paths(network)
        return self._paths[id(network)] or set()

    def decodes(self, network: Network) -> bool:
        return "" in self.paths(network)

    def carries(self, network: Network, path: str) -> bool:
        """Whether the module at ``path`` of ``network`` takes the cache."""
        return path in self.paths(network)


GENERATE = '''
    @torch.no_grad()
    def generate(self, tokens: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
        """Greedy decoding: tokens (N, T) followed by max_new_tokens more, each the most
        likely after those before it; the keys and values of earlier positions are kept in a
        KVCache, so each step runs the network on the newest token alone."""
        cache = KVCache()
        new = tokens
        for _ in range(max_new_tokens):
            new = self(new, cache=cache)[:, -1].argmax(dim=-1, keepdim=True)
            tokens = torch.cat([tokens, new], dim=1)
        return tokens
'''.strip("\n")


__all__ = ["GENERATE", "READS_LENGTH", "Decoding", "cached_call"]
