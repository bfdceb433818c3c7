"""Modules that generated code needs and torch lacks, kept here as real, tested Python.

The code generator copies the classes and functions a model uses into the generated source
(reading this file as text), so the output still imports nothing but torch. archc itself never
imports this module; the tests do, to check each piece against torch's own modules. A line
ending in `# decoding` serves only a network that decodes with a KVCache: it is copied (without
the marker) into such a network's module, and left out of every other.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    """The keys and values each causal self-attention layer computed, kept from call to call,
    so that a decoder given one more token attends over the earlier positions without
    computing them again: each call adds its tokens' keys and values, layer by layer."""

    def __init__(self) -> None:
        self.layers: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def length(self, layer: nn.Module | None = None) -> int:
        """How many positions `layer`, by default the first layer, holds keys for."""
        layer = next(iter(self.layers), None) if layer is None else layer
        return self.layers[layer][0].size(-2) if layer in self.layers else 0

    def extend(
        self, layer: nn.Module, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`layer`'s keys and values (N, heads, S, head_dim) so far, k and v added after."""
        if layer in self.layers:
            past_k, past_v = self.layers[layer]
            k, v = torch.cat([past_k, k], dim=-2), torch.cat([past_v, v], dim=-2)
        self.layers[layer] = (k, v)
        return k, v


def cached_length(cache: KVCache | None) -> int:
    """Where a call's positions start: after those the cache holds, at 0 without one. Read
    before the first attention layer adds this call's keys."""
    return 0 if cache is None else cache.length()


class AttentionHeads(nn.Module):
    """What every attention layout shares: splitting projections into heads, qk-norm, rotary
    positions, the mask, and F.scaled_dot_product_attention."""

    def __init__(
        self,
        heads: int,
        head_dim: int,
        kv_heads: int,
        dropout: float = 0.0,
        causal: bool = False,
        scale: float | None = None,
        window: int | None = None,
        alibi: bool = False,
        rotary_base: float | None = None,
        rotary_fraction: float = 1.0,
        rotary_interleaved: bool = False,
        rotary_offset: int = 0,
        qk_norm_eps: float | None = None,
        relative_buckets: int | None = None,
        relative_max_distance: int = 128,
        return_position_bias: bool = False,
    ) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.dropout = dropout
        self.causal = causal
        self.scale = scale
        self.window = window
        self.alibi = alibi
        self.rotary = None
        if rotary_base is not None:
            self.rotary = Rotary(rotary_base, rotary_fraction, rotary_interleaved, rotary_offset)
        self.q_norm = self.k_norm = None
        if qk_norm_eps is not None:
            self.q_norm = nn.RMSNorm(head_dim, eps=qk_norm_eps)
            self.k_norm = nn.RMSNorm(head_dim, eps=qk_norm_eps)
        self.relative_attention_bias = None
        if relative_buckets is not None:
            self.relative_attention_bias = RelativePositionBias(
                relative_buckets, heads, relative_max_distance, bidirectional=not causal
            )
        self.return_position_bias = return_position_bias

    def attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        cache: KVCache | None = None,  # decoding
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Projected (N, T, heads * head_dim) queries and (N, S, kv_heads * head_dim) keys and
        values -> (N, T, heads * head_dim), and what was added to the scores (see `scores`)."""
        q = q.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)
        k = k.unflatten(-1, (self.kv_heads, self.head_dim)).transpose(1, 2)
        v = v.unflatten(-1, (self.kv_heads, self.head_dim)).transpose(1, 2)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        start = 0  # the queries' first position
        if cache is not None:  # decoding
            start = cache.length(self)  # decoding
        if self.rotary is not None:
            q, k = self.rotary(q, start=start), self.rotary(k, start=start)
        if cache is not None:  # decoding
            k, v = cache.extend(self, k, v)  # decoding
        scores = self.scores(mask, q, k, start)
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=scores,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=self.causal and scores is None,
            scale=self.scale,
            enable_gqa=self.kv_heads != self.heads,
        )
        return out.transpose(1, 2).flatten(2), scores

    def returned(
        self, out: torch.Tensor, scores: torch.Tensor | None, mask: torch.Tensor | None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The output, and with return_position_bias what was added to its scores as
        (N or 1, heads, T, S), for later layers to take as their mask, as T5's layers pass on
        the first one's position bias."""
        if not self.return_position_bias or scores is None:
            return out
        batch = 1 if mask is None else mask.size(0)
        return out, scores.expand(batch, self.heads, out.size(1), scores.size(-1))

    def scores(
        self, mask: torch.Tensor | None, q: torch.Tensor, k: torch.Tensor, start: int = 0
    ) -> torch.Tensor | None:
        """What to add to the scores, or None where is_causal says it all, the queries at
        positions start, start + 1, ... and the keys at 0, 1, ... A boolean or integer
        mask hides the keys where it is false or zero, a floating one is added; a (N, S) mask
        covers every query, and the causal and sliding-window limits join it, and ALiBi's
        linear bias slope * (j - i) for key j and query i, a slope per head. A hidden key
        scores the lowest finite value, as Hugging Face masks, so that a query whose keys are
        all hidden (padding) attends evenly instead of giving NaN. T5's relative position
        bias is added too, and with return_position_bias the result is never None."""
        plain = self.relative_attention_bias is None and not self.return_position_bias
        if plain and mask is None and self.window is None and not self.alibi and start == 0:
            return None
        query = torch.arange(start, start + q.size(-2), device=q.device)[:, None]
        key = torch.arange(k.size(-2), device=q.device)
        hidden = key > query if self.causal else torch.zeros_like(key > query)
        if self.window is not None:
            hidden = hidden | (query - key >= self.window)
        added = torch.zeros((), dtype=q.dtype, device=q.device)
        if self.alibi:
            slopes = alibi_slopes(self.heads).to(device=q.device, dtype=q.dtype)
            added = slopes[:, None, None] * (key - query)
        if self.relative_attention_bias is not None:
            added = added + self.relative_attention_bias(key - query).to(q.dtype)
        if mask is not None and mask.dim() == 2:
            mask = mask[:, None, None, :]
        if mask is not None and mask.is_floating_point():
            added = added + mask.to(q.dtype)
        elif mask is not None:
            hidden = hidden | (mask == 0)
        return added.masked_fill(hidden, torch.finfo(q.dtype).min)


class MultiheadAttention(AttentionHeads):
    """Multi-head attention, batch first, computed by F.scaled_dot_product_attention.

    Parameters carry torch.nn.MultiheadAttention's names (in_proj_weight or q/k/v_proj_weight,
    in_proj_bias, out_proj), so checkpoints load into either. Beyond torch's module it offers
    causal and sliding-window masks, ALiBi, grouped-query heads (kv_heads < heads), any head
    width, a scale of its own, and rotary positions on queries and keys.
    """

    def __init__(
        self,
        embed_dim: int,
        heads: int,
        head_dim: int | None = None,
        kv_dim: int | None = None,
        kv_heads: int | None = None,
        bias: bool = True,
        out_bias: bool | None = None,
        dropout: float = 0.0,
        causal: bool = False,
        scale: float | None = None,
        window: int | None = None,
        alibi: bool = False,
        rotary_base: float | None = None,
        rotary_fraction: float = 1.0,
        rotary_interleaved: bool = False,
        rotary_offset: int = 0,
        qk_norm_eps: float | None = None,
        relative_buckets: int | None = None,
        relative_max_distance: int = 128,
        return_position_bias: bool = False,
    ) -> None:
        head_dim = head_dim or embed_dim // heads
        kv_heads = kv_heads or heads
        super().__init__(
            heads,
            head_dim,
            kv_heads,
            dropout,
            causal,
            scale,
            window,
            alibi,
            rotary_base,
            rotary_fraction,
            rotary_interleaved,
            rotary_offset,
            qk_norm_eps,
            relative_buckets,
            relative_max_distance,
            return_position_bias,
        )
        kv_dim = kv_dim or embed_dim
        inner, kv_inner = heads * head_dim, kv_heads * head_dim
        self.split = [inner, kv_inner, kv_inner]
        if kv_dim == embed_dim and kv_heads == heads:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * inner, embed_dim))
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(inner, embed_dim))
            self.k_proj_weight = nn.Parameter(torch.empty(kv_inner, kv_dim))
            self.v_proj_weight = nn.Parameter(torch.empty(kv_inner, kv_dim))
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(inner + 2 * kv_inner))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(inner, embed_dim, bias=bias if out_bias is None else out_bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.MultiheadAttention's initialisation."""
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            if hasattr(self, name):
                nn.init.xavier_uniform_(getattr(self, name))
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,  # decoding
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        q, k, v = self.project(x, memory)
        out, scores = self.attend(
            q,
            k,
            v,
            mask,
            cache,  # decoding
        )
        return self.returned(self.out_proj(out), scores, mask)

    def project(
        self, x: torch.Tensor, memory: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries from x, keys and values from the memory, or from x in self-attention. Where
        in_proj_weight packs the three, each input is multiplied once by the rows it feeds and
        the product split, as nanoGPT's c_attn: one matmul forward and two backward per input,
        where one per projection would take three of each and sum the input's gradients."""
        bias = self.in_proj_bias
        if not hasattr(self, "in_proj_weight"):
            source = x if memory is None else memory
            q_bias, k_bias, v_bias = (None,) * 3 if bias is None else bias.split(self.split)
            return (
                F.linear(x, self.q_proj_weight, q_bias),
                F.linear(source, self.k_proj_weight, k_bias),
                F.linear(source, self.v_proj_weight, v_bias),
            )
        if memory is None or memory is x:
            q, k, v = F.linear(x, self.in_proj_weight, bias).split(self.split, dim=-1)
            return q, k, v
        inner = self.split[0]
        q_bias, kv_bias = (None, None) if bias is None else bias.split([inner, 2 * inner])
        q_weight, kv_weight = self.in_proj_weight.split([inner, 2 * inner])
        k, v = F.linear(memory, kv_weight, kv_bias).chunk(2, dim=-1)
        return F.linear(x, q_weight, q_bias), k, v


class Attention(AttentionHeads):
    """Multi-head attention with one nn.Linear per projection, under the names a model zoo
    gives them (Hugging Face's decoders: q_proj, k_proj, v_proj, o_proj), so their
    checkpoints load unchanged; a bias flag per projection, and qk-norm (an RMSNorm over each
    head's queries and keys, q_norm and k_norm) if qk_norm_eps is given. Three names leave the
    output projection out (BERT's lies in a module of its own)."""

    def __init__(
        self,
        embed_dim: int,
        heads: int,
        head_dim: int | None = None,
        kv_dim: int | None = None,
        kv_heads: int | None = None,
        bias: tuple[bool, bool, bool, bool] = (True, True, True, True),
        names: tuple[str, str, str, str] = ("q_proj", "k_proj", "v_proj", "o_proj"),
        dropout: float = 0.0,
        causal: bool = False,
        scale: float | None = None,
        window: int | None = None,
        alibi: bool = False,
        rotary_base: float | None = None,
        rotary_fraction: float = 1.0,
        rotary_interleaved: bool = False,
        rotary_offset: int = 0,
        qk_norm_eps: float | None = None,
        relative_buckets: int | None = None,
        relative_max_distance: int = 128,
        return_position_bias: bool = False,
    ) -> None:
        head_dim = head_dim or embed_dim // heads
        kv_heads = kv_heads or heads
        super().__init__(
            heads,
            head_dim,
            kv_heads,
            dropout,
            causal,
            scale,
            window,
            alibi,
            rotary_base,
            rotary_fraction,
            rotary_interleaved,
            rotary_offset,
            qk_norm_eps,
            relative_buckets,
            relative_max_distance,
            return_position_bias,
        )
        kv_dim = kv_dim or embed_dim
        inner, kv_inner = heads * head_dim, kv_heads * head_dim
        self.names = names
        shapes = [(embed_dim, inner), (kv_dim, kv_inner), (kv_dim, kv_inner), (inner, embed_dim)]
        # without the output projection's name there is no output projection
        for name, (width, out), has_bias in zip(names, shapes, bias, strict=False):
            self.add_module(name, nn.Linear(width, out, bias=has_bias))

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,  # decoding
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        source = x if memory is None else memory
        q_proj, k_proj, v_proj, *o_proj = (self.get_submodule(name) for name in self.names)
        out, scores = self.attend(
            q_proj(x),
            k_proj(source),
            v_proj(source),
            mask,
            cache,  # decoding
        )
        return self.returned(o_proj[0](out) if o_proj else out, scores, mask)


class FusedAttention(AttentionHeads):
    """Multi-head self-attention whose queries, keys and values come from one nn.Linear with
    its rows grouped by head, each head's query, key and value rows in turn, as BLOOM's
    query_key_value; then an output projection, unless `names` gives only the fused one."""

    def __init__(
        self,
        embed_dim: int,
        heads: int,
        head_dim: int | None = None,
        bias: tuple[bool, bool] = (True, True),
        names: tuple[str, ...] = ("query_key_value", "dense"),
        dropout: float = 0.0,
        causal: bool = False,
        scale: float | None = None,
        window: int | None = None,
        alibi: bool = False,
        rotary_base: float | None = None,
        rotary_fraction: float = 1.0,
        rotary_interleaved: bool = False,
        rotary_offset: int = 0,
        qk_norm_eps: float | None = None,
        relative_buckets: int | None = None,
        relative_max_distance: int = 128,
        return_position_bias: bool = False,
    ) -> None:
        head_dim = head_dim or embed_dim // heads
        super().__init__(
            heads,
            head_dim,
            heads,
            dropout,
            causal,
            scale,
            window,
            alibi,
            rotary_base,
            rotary_fraction,
            rotary_interleaved,
            rotary_offset,
            qk_norm_eps,
            relative_buckets,
            relative_max_distance,
            return_position_bias,
        )
        self.names = names
        shapes = [(embed_dim, 3 * heads * head_dim), (heads * head_dim, embed_dim)]
        # without the output projection's name there is no output projection
        for name, (width, out), has_bias in zip(names, shapes, bias, strict=False):
            self.add_module(name, nn.Linear(width, out, bias=has_bias))

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,  # decoding
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        fused, *o_proj = (self.get_submodule(name) for name in self.names)
        qkv = fused(x).unflatten(-1, (self.heads, 3, self.head_dim))
        q, k, v = (part.flatten(2) for part in qkv.unbind(-2))
        out, scores = self.attend(
            q,
            k,
            v,
            mask,
            cache,  # decoding
        )
        return self.returned(o_proj[0](out) if o_proj else out, scores, mask)


def alibi_slopes(heads: int) -> torch.Tensor:
    """ALiBi's slope per head (Press et al.): the geometric sequence 2^(-8/n), 2^(-16/n), ...
    for the largest power of two n <= heads, then every other step of the sequence for 2n,
    as BLOOM and MPT extend it to other head counts."""
    n = 2 ** math.floor(math.log2(heads))
    steps = torch.arange(1, n + 1, dtype=torch.float64)
    odd = torch.arange(1, 2 * (heads - n) + 1, 2, dtype=torch.float64)
    slopes, extra = 2.0 ** (-8.0 * steps / n), 2.0 ** (-4.0 * odd / n)
    return torch.cat([slopes, extra])


class RelativePositionBias(nn.Embedding):
    """T5's relative position bias: a learned value per head for each bucket of key-minus-query
    offsets. Half the buckets (all of them when not bidirectional) count offsets one by one,
    the other half are log-spaced up to max_distance, beyond which one bucket holds them all;
    bidirectional, the keys after the query have buckets of their own, else they share
    bucket 0 (a causal mask hides them)."""

    def __init__(
        self, buckets: int, heads: int, max_distance: int = 128, bidirectional: bool = True
    ) -> None:
        super().__init__(buckets, heads)
        self.max_distance = max_distance
        self.bidirectional = bidirectional

    def forward(self, offset: torch.Tensor) -> torch.Tensor:
        """(T, S) key-minus-query offsets -> (heads, T, S) biases."""
        return super().forward(self.bucket(offset)).permute(2, 0, 1)

    def bucket(self, offset: torch.Tensor) -> torch.Tensor:
        buckets, first = self.num_embeddings, torch.zeros_like(offset)
        if self.bidirectional:
            buckets //= 2
            first = (offset > 0).long() * buckets
            distance = offset.abs()
        else:
            distance = (-offset).clamp(min=0)
        exact = buckets // 2
        # the log in float32, as T5 computes it, so that every offset gets T5's bucket
        spread = torch.log(distance.clamp(min=exact).float() / exact)
        spread = spread / math.log(self.max_distance / exact) * (buckets - exact)
        far = (exact + spread.long()).clamp(max=buckets - 1)
        return first + torch.where(distance < exact, distance, far)


def rotate(
    x: torch.Tensor,
    base: float,
    fraction: float = 1.0,
    interleaved: bool = False,
    offset: int = 0,
    positions: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rotary position embedding on the first int(D * fraction) features of the last axis, D
    wide (all of them by default), positions along axis -2 counted from `offset`, or the
    (N, T) ids `positions`: pairs of features are the two halves (GPT-NeoX, LLaMA) or,
    interleaved, neighbours (GPT-J). The angles are computed in float32 whatever the input's
    type, as Hugging Face's models compute them."""
    dim = int(x.size(-1) * fraction)
    rotated, kept = x[..., :dim], x[..., dim:]
    steps = torch.arange(0, dim, 2, device=x.device, dtype=torch.int64).float()
    frequencies = 1.0 / base ** (steps / dim)
    if positions is None:
        at = torch.arange(offset, offset + x.size(-2), device=x.device, dtype=torch.float32)
    else:  # one row of angles per sample, the same for every head
        at = positions.float()[:, None] if x.dim() == 4 else positions.float()
    angles = at[..., None] * frequencies
    if interleaved:
        cos = angles.cos().repeat_interleave(2, dim=-1).to(x.dtype)
        sin = angles.sin().repeat_interleave(2, dim=-1).to(x.dtype)
        pairs = rotated.unflatten(-1, (-1, 2))
        turned = torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)
    else:
        cos = torch.cat([angles, angles], dim=-1).cos().to(x.dtype)
        sin = torch.cat([angles, angles], dim=-1).sin().to(x.dtype)
        first, second = rotated.chunk(2, dim=-1)
        turned = torch.cat([-second, first], dim=-1)
    return torch.cat([rotated * cos + turned * sin, kept], dim=-1)


class SinusoidalPositions(nn.Module):
    """Adds the fixed sinusoidal position table of "Attention Is All You Need" to (N, T, E):
    sines and cosines interleaved, or with layout="halves" all sines then all cosines, at
    fairseq's and tensor2tensor's frequencies. A buffer, never trained."""

    def __init__(
        self, max_len: int, embed_dim: int, base: float = 10000.0, layout: str = "interleaved"
    ) -> None:
        super().__init__()
        positions = torch.arange(max_len, dtype=torch.float32)[:, None]
        if layout == "halves":
            half = embed_dim // 2
            steps = torch.arange(half, dtype=torch.float32) / (half - 1)
            angles = positions * torch.exp(-math.log(base) * steps)
            pe = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
        else:
            frequencies = torch.exp(
                -math.log(base) * torch.arange(0, embed_dim, 2, dtype=torch.float32) / embed_dim
            )
            pe = torch.zeros(max_len, embed_dim)
            pe[:, 0::2] = torch.sin(positions * frequencies)
            pe[:, 1::2] = torch.cos(positions * frequencies)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """x plus the table's rows for positions offset, offset + 1, ..."""
        return x + self.pe[offset : offset + x.size(1)].to(x.dtype)


class Rotary(nn.Module):
    """Rotary position embedding on the last axis, positions along axis -2 (see rotate)."""

    def __init__(
        self,
        base: float = 10000.0,
        fraction: float = 1.0,
        interleaved: bool = False,
        offset: int = 0,
    ) -> None:
        super().__init__()
        self.base, self.fraction = base, fraction
        self.interleaved, self.offset = interleaved, offset

    def forward(
        self, x: torch.Tensor, positions: torch.Tensor | None = None, start: int = 0
    ) -> torch.Tensor:
        """x rotated for the ids ``positions``, else for positions self.offset + start, and on
        along axis -2."""
        start = self.offset + start
        return rotate(x, self.base, self.fraction, self.interleaved, start, positions)


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


class OffsetRMSNorm(nn.RMSNorm):
    """RMS normalisation scaled by offset + weight, as Gemma scales by 1 + weight: nn.RMSNorm's
    parameter and state_dict, its weight starting at 1 - offset, where the scale is one."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float | None = None,
        *,
        offset: float,
    ) -> None:
        self.offset = offset  # before nn.RMSNorm's __init__, which resets the weight
        super().__init__(normalized_shape, eps)

    def reset_parameters(self) -> None:
        nn.init.constant_(self.weight, 1.0 - self.offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, self.normalized_shape, self.offset + self.weight, self.eps)


class TransposedLinear(nn.Module):
    """A fully connected layer whose weight is stored (in_features, out_features), y = x W + b,
    as Hugging Face's Conv1D (GPT-2's) stores it, so those checkpoints load unchanged."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Hugging Face's Conv1D initialisation: weight Normal(0, 0.02), bias zeros."""
        nn.init.normal_(self.weight, std=0.02)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x @ self.weight
        return y if self.bias is None else y + self.bias


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


class ExpertMLP(nn.Module):
    """One expert of a sparse mixture, an MLP without biases under Hugging Face's per-expert
    names: down(act(gate(x)) * up(x)) when gated (gate_proj, up_proj, down_proj), else
    down(act(up(x)))."""

    def __init__(
        self, in_features: int, hidden: int, activation: str = "silu", gated: bool = True
    ) -> None:
        super().__init__()
        if gated:
            self.gate_proj = nn.Linear(in_features, hidden, bias=False)
        self.up_proj = nn.Linear(in_features, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, in_features, bias=False)
        self.activation = activation
        self.gated = gated

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = getattr(F, self.activation)
        if self.gated:
            return self.down_proj(act(self.gate_proj(x)) * self.up_proj(x))
        return self.down_proj(act(self.up_proj(x)))


class ExpertList(nn.ModuleList):
    """The experts of a sparse mixture as one module each (`experts.3.up_proj.weight`);
    `experts(i, x)` runs expert i on the tokens x."""

    def forward(self, index: int, x: torch.Tensor) -> torch.Tensor:
        return self[index](x)


class FusedExperts(nn.Module):
    """The experts of a sparse mixture as 3-D tensors, as transformers 5 stores them: gated,
    gate_up_proj (experts, 2 * hidden, in_features), each expert's gate rows then its up rows,
    else up_proj (experts, hidden, in_features); and down_proj (experts, in_features, hidden).
    `experts(i, x)` runs expert i on the tokens x, the MLP ExpertMLP computes. Each slice starts
    as nn.Linear's weight would."""

    def __init__(
        self,
        experts: int,
        in_features: int,
        hidden: int,
        activation: str = "silu",
        gated: bool = True,
    ) -> None:
        super().__init__()
        if gated:
            self.gate_up_proj = nn.Parameter(torch.empty(experts, 2 * hidden, in_features))
        else:
            self.up_proj = nn.Parameter(torch.empty(experts, hidden, in_features))
        self.down_proj = nn.Parameter(torch.empty(experts, in_features, hidden))
        self.activation = activation
        self.gated = gated
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for weight in self.parameters():
            bound = 1 / math.sqrt(weight.size(-1))
            nn.init.uniform_(weight, -bound, bound)

    def forward(self, index: int, x: torch.Tensor) -> torch.Tensor:
        act = getattr(F, self.activation)
        if self.gated:
            gate, up = F.linear(x, self.gate_up_proj[index]).chunk(2, dim=-1)
            hidden = act(gate) * up
        else:
            hidden = act(F.linear(x, self.up_proj[index]))
        return F.linear(hidden, self.down_proj[index])


def top_k_route(
    scores: torch.Tensor, top_k: int, softmax: str, norm_topk: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """The top_k experts of each token from the router's scores, (tokens, top_k), and the
    weights of their outputs: a softmax over all experts before the choice ("before",
    renormalised over the chosen ones with norm_topk) or over the chosen scores after it."""
    if softmax == "after":
        chosen_scores, chosen = scores.topk(top_k, dim=-1)
        return chosen, chosen_scores.softmax(dim=-1)
    weights, chosen = scores.softmax(dim=-1).topk(top_k, dim=-1)
    if norm_topk:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return chosen, weights


class Routed(nn.Module):
    """What a sparse mixture of experts routes by: a bias-free linear router, `gate`, that
    scores the experts for each token; each token goes to its top_k experts, whose outputs
    are summed weighted by the router's probabilities (top_k_route)."""

    def __init__(
        self, in_features: int, experts: int, top_k: int, softmax: str, norm_topk: bool
    ) -> None:
        super().__init__()
        self.top_k = top_k
        self.softmax = softmax
        self.norm_topk = norm_topk
        self.gate = nn.Linear(in_features, experts, bias=False)

    def route(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each token's top_k experts, (tokens, top_k), and the weights of their outputs."""
        return top_k_route(self.gate(tokens), self.top_k, self.softmax, self.norm_topk)


class SparseMoE(Routed):
    """A sparse mixture of experts (Shazeer et al., 2017) whose experts are MLPs, gated or
    not, as ExpertMLP computes. Only routed tokens are computed: the loop runs each expert
    that was chosen on its tokens and index_adds the results, as Hugging Face's sparse MoE
    blocks do."""

    def __init__(
        self,
        in_features: int,
        hidden: int,
        experts: int,
        top_k: int,
        activation: str = "silu",
        gated: bool = True,
        softmax: str = "before",
        norm_topk: bool = False,
        layout: str = "fused",
    ) -> None:
        super().__init__(in_features, experts, top_k, softmax, norm_topk)
        if layout == "fused":
            self.experts = FusedExperts(experts, in_features, hidden, activation, gated)
        else:
            self.experts = ExpertList(
                ExpertMLP(in_features, hidden, activation, gated) for _ in range(experts)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(-1, x.size(-1))
        chosen, weights = self.route(tokens)
        out = torch.zeros_like(tokens)
        for expert in chosen.unique().tolist():
            token, slot = torch.where(chosen == expert)
            routed = self.experts(expert, tokens[token]) * weights[token, slot, None]
            out.index_add_(0, token, routed)
        return out.reshape(x.shape)


class MixtureOfExperts(Routed):
    """A sparse mixture of experts whose experts are any modules that give back a tensor of
    the shape they take. Only routed tokens are computed: each expert runs on the tokens
    routed to it, (tokens, in_features)."""

    def __init__(
        self,
        experts: nn.ModuleList,
        in_features: int,
        top_k: int,
        softmax: str = "before",
        norm_topk: bool = False,
    ) -> None:
        super().__init__(in_features, len(experts), top_k, softmax, norm_topk)
        self.experts = experts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(-1, x.size(-1))
        chosen, weights = self.route(tokens)
        out = torch.zeros_like(tokens)
        for index, expert in enumerate(self.experts):
            token, slot = torch.where(chosen == index)
            if len(token) > 0:
                out.index_add_(0, token, expert(tokens[token]) * weights[token, slot, None])
        return out.reshape(x.shape)


class BatchFirstStates(nn.Module):
    """What torch's recurrent modules built with batch_first=True lack: initial and final
    states batch first too, (N, num_layers * directions, H), like the input and the output.
    The states are separate arguments and results: ``output, h, c = lstm(x, h0, c0)``."""

    def forward(self, x: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # torch's layout is (num_layers * directions, N, H), and cuDNN wants it contiguous
        given = tuple(state.transpose(0, 1).contiguous() for state in states)
        output, final = super().forward(
            x, (given if len(given) > 1 else given[0]) if given else None
        )
        finals = final if isinstance(final, tuple) else (final,)
        return (output, *(state.transpose(0, 1) for state in finals))


class StatefulRNN(BatchFirstStates, nn.RNN):
    """nn.RNN with batch-first states: ``output, h = rnn(x, h0)``."""


class StatefulLSTM(BatchFirstStates, nn.LSTM):
    """nn.LSTM with batch-first states: ``output, h, c = lstm(x, h0, c0)``."""


class StatefulGRU(BatchFirstStates, nn.GRU):
    """nn.GRU with batch-first states: ``output, h = gru(x, h0)``."""
