"""The limiter and the quota under real concurrency: threads against the real database
(PostgreSQL in CI, SQLite in the embedded run) and the real Redis when configured."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.apikeys.limits import quota_consume, quota_used, rate_limit_take

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


def _parallel(calls: int, fn, workers: int = 24) -> list:
    def run(i: int):
        try:
            return fn(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(calls)))


def test_500_concurrent_requests_against_100_a_minute_accept_at_most_100_plus_refill():
    results = _parallel(500, lambda i: rate_limit_take(subject="key:concurrency", per_minute=100))
    accepted = sum(r.allowed for r in results)
    # The bucket refills 100/60 tokens a second; the burst lasts well under 5 s.
    assert 100 <= accepted <= 108, accepted
    refused = [r for r in results if not r.allowed]
    assert refused
    assert all(r.retry_after >= 1 for r in refused)
    assert all(r.limit == 100 for r in results)


def test_the_bucket_refills_and_reports_remaining_and_reset():
    first = rate_limit_take(subject="key:headers", per_minute=60)
    assert first.allowed
    assert first.remaining == 59
    assert 1 <= first.reset_seconds <= 2
    subjects_are_separate = rate_limit_take(subject="key:other", per_minute=60)
    assert subjects_are_separate.remaining == 59


def test_1200_parallel_requests_against_1000_remaining_accept_exactly_1000():
    results = _parallel(1200, lambda i: quota_consume(subject="key:quota", limit=1000, amount=1))
    assert sum(r.allowed for r in results) == 1000
    assert quota_used(subject="key:quota") == 1000


def test_a_request_larger_than_what_remains_is_refused_whole():
    assert quota_consume(subject="key:big", limit=10, amount=8).allowed
    refused = quota_consume(subject="key:big", limit=10, amount=3)
    assert not refused.allowed
    assert refused.used == 8
    assert quota_consume(subject="key:big", limit=10, amount=2).allowed
