"""Modules that generated code needs and torch lacks, kept here as real, tested Python.

The code generator copies the classes and functions a model uses into the generated source
(reading this file as text), so the output still imports nothing but torch. archc itself never
imports this module; the tests do, to check each piece against torch's own modules.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class MultiheadAttention(nn.Module):
    """Multi-head attention, batch first, computed by F.scaled_dot_product_attention.

    Parameters carry torch.nn.MultiheadAttention's names (in_proj_weight or q/k/v_proj_weight,
    in_proj_bias, out_proj), so checkpoints load into either. Beyond torch's module it offers
    causal masks (is_causal), grouped-query heads (kv_heads < heads), any head width, and
    rotary positions on queries and keys.
    """

    def __init__(
        self,
        embed_dim: int,
        heads: int,
        head_dim: int | None = None,
        kv_dim: int | None = None,
        kv_heads: int | None = None,
        bias: bool = True,
        dropout: float = 0.0,
        causal: bool = False,
        rotary_base: float | None = None,
    ) -> None:
        super().__init__()
        self.heads = heads
        self.kv_heads = kv_heads or heads
        self.head_dim = head_dim or embed_dim // heads
        self.dropout = dropout
        self.causal = causal
        self.rotary_base = rotary_base
        kv_dim = kv_dim or embed_dim
        inner, kv_inner = heads * self.head_dim, self.kv_heads * self.head_dim
        self.packed = kv_dim == embed_dim and self.kv_heads == heads
        if self.packed:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * inner, embed_dim))
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(inner, embed_dim))
            self.k_proj_weight = nn.Parameter(torch.empty(kv_inner, kv_dim))
            self.v_proj_weight = nn.Parameter(torch.empty(kv_inner, kv_dim))
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(inner + 2 * kv_inner))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(inner, embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.MultiheadAttention's initialisation."""
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            if hasattr(self, name):
                nn.init.xavier_uniform_(getattr(self, name))
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        source = x if memory is None else memory
        inner, kv_inner = self.heads * self.head_dim, self.kv_heads * self.head_dim
        biases = (None, None, None)
        if self.in_proj_bias is not None:
            biases = self.in_proj_bias.split([inner, kv_inner, kv_inner])
        if self.packed:
            weights = self.in_proj_weight.split([inner, kv_inner, kv_inner])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        q = self._heads(F.linear(x, weights[0], biases[0]), self.heads)
        k = self._heads(F.linear(source, weights[1], biases[1]), self.kv_heads)
        v = self._heads(F.linear(source, weights[2], biases[2]), self.kv_heads)
        if self.rotary_base is not None:
            q, k = rotate(q, self.rotary_base), rotate(k, self.rotary_base)
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=self.causal,
            enable_gqa=self.kv_heads != self.heads,
        )
        return self.out_proj(out.transpose(1, 2).flatten(2))

    def _heads(self, x: torch.Tensor, heads: int) -> torch.Tensor:
        """(N, T, heads * head_dim) -> (N, heads, T, head_dim)."""
        return x.unflatten(-1, (heads, self.head_dim)).transpose(1, 2)


def rotate(x: torch.Tensor, base: float) -> torch.Tensor:
    """Rotary position embedding, rotate-half convention, positions along axis -2."""
    half = x.size(-1) // 2
    frequencies = torch.exp(
        -math.log(base) * torch.arange(half, device=x.device, dtype=torch.float32) / half
    )
    angles = torch.arange(x.size(-2), device=x.device, dtype=torch.float32)[:, None] * frequencies
    cos = angles.cos().repeat(1, 2).to(x.dtype)
    sin = angles.sin().repeat(1, 2).to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class SinusoidalPositions(nn.Module):
    """Adds the fixed sinusoidal position table of "Attention Is All You Need" to (N, T, E)."""

    def __init__(self, max_len: int, embed_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        positions = torch.arange(max_len, dtype=torch.float32)[:, None]
        frequencies = torch.exp(
            -math.log(base) * torch.arange(0, embed_dim, 2, dtype=torch.float32) / embed_dim
        )
        pe = torch.zeros(max_len, embed_dim)
        pe[:, 0::2] = torch.sin(positions * frequencies)
        pe[:, 1::2] = torch.cos(positions * frequencies)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[: x.size(1)].to(x.dtype)


class Rotary(nn.Module):
    """Rotary position embedding on the last axis, positions along axis -2."""

    def __init__(self, base: float = 10000.0) -> None:
        super().__init__()
        self.base = base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rotate(x, self.base)


class TiedWeights:
    """A `load_state_dict` pre-hook for parameters tied together, given as (tied, source) key
    pairs: they are one tensor, so a state_dict that gives them different values is refused
    rather than loaded into whichever comes last."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        self.pairs = pairs

    def __call__(
        self,
        module: nn.Module,
        state_dict: dict[str, torch.Tensor],
        prefix: str,
        metadata: dict,
        strict: bool,
        missing: list[str],
        unexpected: list[str],
        errors: list[str],
    ) -> None:
        for tied, source in self.pairs:
            a, b = state_dict.get(prefix + tied), state_dict.get(prefix + source)
            if a is not None and b is not None and not torch.equal(a, b.to(a.device)):
                errors.append(
                    f"{prefix}{tied} is tied to {prefix}{source}, but the state_dict gives them "
                    "different values"
                )


class DenseBlock(nn.ModuleDict):
    """A dense block (Huang et al., 2017), as torchvision's _DenseBlock: each layer reads the
    concatenation of the block's input and every earlier layer's output along the channels,
    and the block returns the concatenation of all of them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class LayerNorm2d(nn.LayerNorm):
    """Layer normalisation over the channels of (N, C, H, W), at each position: ConvNeXt's
    norm, with nn.LayerNorm's parameters and state_dict."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class StochasticDepth(nn.Module):
    """Drops a residual branch while training: each sample's whole branch ("row") or the
    batch's ("batch") is zeroed with probability p, and what survives is scaled by 1/(1-p);
    the identity in eval mode. It holds no state, as torchvision.ops.StochasticDepth."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        kept = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(kept, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise
