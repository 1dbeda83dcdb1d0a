"""A spent monthly quota tells the client when it comes back: ``Retry-After`` is the
seconds until the period ends (00:00 UTC on the first of the next month)."""

from datetime import UTC, datetime

import pytest

from apps.apikeys.limits import quota_period_end

from ..models import make_version
from .conftest import KeyClient, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _seconds_to_next_month() -> float:
    now = datetime.now(tz=UTC)
    following = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return (following - now).total_seconds()


def test_quota_exceeded_says_to_retry_when_the_month_resets_not_in_a_second(client, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    _key, raw = make_key(owner, quota=2, rpm=60)
    api = KeyClient(client, raw)
    assert api.post("classify", {"model": "fixed-head", "inputs": ["a", "b"], "wait": 0}).status_code in (200, 202)

    expected = _seconds_to_next_month()
    refused = api.post("classify", {"model": "fixed-head", "inputs": ["c"], "wait": 0})

    assert refused.status_code == 429
    assert refused.json()["type"] == "quota_exceeded"
    retry_after = int(refused["Retry-After"])
    assert retry_after > 1
    assert abs(retry_after - expected) <= 5
    # The RateLimit headers still describe the per-minute limit: two of 60 requests used.
    assert refused["RateLimit-Limit"] == "60"
    assert refused["RateLimit-Remaining"] == "58"
    assert int(refused["RateLimit-Reset"]) <= 60


def test_a_rate_limited_request_still_retries_after_the_bucket_refills(client, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    _key, raw = make_key(owner, rpm=1, quota=100)
    api = KeyClient(client, raw)
    api.get("models")
    refused = api.get("models")
    assert refused.json()["type"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60


@pytest.mark.parametrize(
    ("now", "end"),
    [
        (datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2026, 12, 15, 8, 0, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2026, 2, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_the_quota_period_ends_at_midnight_utc_on_the_first_of_the_next_month(now, end):
    assert quota_period_end(now=now) == end
