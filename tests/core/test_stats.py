"""The portal's one percentile: nearest rank, so every figure is a latency that happened."""

import pytest

from apps.core.stats import percentile, percentiles

pytestmark = pytest.mark.embedded


def test_a_percentile_is_the_smallest_value_with_that_share_at_or_below_it():
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile(values, 99) == 20.0
    assert percentile(values, 100) == 20.0
    assert percentile(values, 1) == 1.0


def test_a_percentile_is_never_interpolated_between_two_values():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 95) == 4.0
    assert percentile([10.0, 1000.0], 50) == 10.0


def test_a_single_value_is_every_percentile_and_no_value_gives_none():
    assert percentile([7.25], 50) == 7.25
    assert percentile([7.25], 99) == 7.25
    assert percentile([], 50) is None
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


def test_percentiles_name_each_point_and_round_only_when_asked():
    values = [0.123, 0.456, 0.789]
    assert percentiles(values) == {"p50": 0.456, "p95": 0.789, "p99": 0.789}
    assert percentiles(values, (50,), ndigits=1) == {"p50": 0.5}
    assert percentile(values, 95, ndigits=2) == 0.79


def test_a_percentile_outside_one_to_a_hundred_is_refused():
    for p in (0, 101, -5):
        with pytest.raises(ValueError, match="percentile"):
            percentile([1.0], p)
