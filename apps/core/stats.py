"""The one definition of a percentile, for every latency figure the portal shows or stores."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], p: int, *, ndigits: int | None = None) -> float | None:
    """The nearest-rank ``p``-th percentile (0 < ``p`` <= 100) of ``values``: the smallest
    value that at least ``p`` % of ``values`` are at or below. It is always a value that was
    observed (a p95 of 190 ms means a request really took 190 ms), never one interpolated
    between two. Rounded to ``ndigits`` when given; None when ``values`` is empty."""
    if not 0 < p <= 100:
        raise ValueError(f"a percentile lies in (0, 100], not {p}")
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-p * len(ordered) // 100)  # ceil(p * n / 100) in integers, free of float error
    value = ordered[max(rank, 1) - 1]
    return value if ndigits is None else round(value, ndigits)


def percentiles(
    values: Sequence[float], points: Sequence[int] = (50, 95, 99), *, ndigits: int | None = None
) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` for ``points``, each as ``percentile``."""
    ordered = sorted(values)
    return {f"p{p}": percentile(ordered, p, ndigits=ndigits) for p in points}
