"""T5's relative position bias, as attention's `relative_buckets` computes it.

Each (query i, key j) pair falls in a bucket of its offset j - i, and a table holds one learned
value per bucket and head, added to that head's scores (Raffel et al., 2020). Bidirectional
(an encoder), half the buckets hold keys before the query and half those after it; causal (a
decoder), every bucket holds keys before it, and those after share bucket 0. In each half, the
first half of the buckets count distances 0, 1, 2, ... one by one, and the others are
log-spaced from there up to `max_distance`, beyond which the last bucket holds every distance.

The table lives in the attention module, under Hugging Face's name `relative_attention_bias`,
so that T5's checkpoints load unchanged; the layers after the first take the bias the first
computed as their mask (attention's `return_position_bias`).
"""

from __future__ import annotations

import math
from typing import Any

from archc.ops.spec import fail

BUCKETS = "A353"  # too few buckets, or a max_distance the exact buckets already reach

RULE = (
    "n = buckets / 2 if bidirectional else buckets; exact = n / 2; distance d < exact: bucket d, "
    "else min(n - 1, exact + floor(log(d / exact) / log(max_distance / exact) * (n - exact)))"
)


def per_direction(buckets: int, bidirectional: bool) -> int:
    """The buckets for each side of the query: half of them when bidirectional."""
    return buckets // 2 if bidirectional else buckets


def check(buckets: int, max_distance: int, bidirectional: bool) -> None:
    """Each direction needs an exact bucket and a log-spaced one, and the log-spaced ones
    must reach further than the exact ones."""
    side = per_direction(buckets, bidirectional)
    direction = "bidirectional" if bidirectional else "causal"
    if side < 2:
        least = 4 if bidirectional else 2
        raise fail(
            BUCKETS,
            f"a {direction} relative position bias needs at least {least} buckets, got "
            f"{buckets}: each direction has exact buckets and log-spaced ones",
            rule="buckets >= 4 (bidirectional), buckets >= 2 (causal)",
            with_=f"{'buckets / 2' if bidirectional else 'buckets'} = {side} < 2",
            arg="relative_buckets",
            label=f"{buckets} buckets",
            help=f"give relative_buckets={least} or more (T5 has 32)",
        )
    exact = side // 2
    if max_distance <= exact:
        raise fail(
            BUCKETS,
            f"relative_max_distance={max_distance} is within the {exact} exact buckets, so "
            "the log-spaced buckets have no distances to spread over",
            rule="relative_max_distance > exact = (buckets / 2 if bidirectional else buckets) / 2",
            with_=f"{max_distance} <= {exact}",
            arg="relative_max_distance",
            label=f"{max_distance} <= {exact}",
            help=f"give relative_max_distance={exact + 1} or more (T5 has 128)",
        )


def bias(
    torch: Any, table: Any, queries: int, keys: int, max_distance: int, bidirectional: bool
) -> Any:
    """The (heads, queries, keys) bias the (buckets, heads) `table` gives, the queries and the
    keys at positions 0, 1, ...; the log in float32, as T5 computes it, so that a distance
    whose bucket is a whole number lands where T5 puts it."""
    side = per_direction(table.shape[0], bidirectional)
    exact = side // 2
    offset = torch.arange(keys)[None, :] - torch.arange(queries)[:, None]
    if bidirectional:
        distance, base = offset.abs(), (offset > 0).long() * side
    else:
        distance, base = torch.clamp(-offset, min=0), torch.zeros_like(offset)
    ratio = torch.log(distance.to(torch.float32) / exact) / math.log(max_distance / exact)
    spread = (ratio * (side - exact)).floor().clamp(min=0).long()  # d < exact: not used
    logarithmic = torch.clamp(exact + spread, max=side - 1)
    bucket = base + torch.where(distance < exact, distance, logarithmic)
    return table[bucket].permute(2, 0, 1)
