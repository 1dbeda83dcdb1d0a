"""The daily usage roll-up: UsageRecord rows of one day become one UsageDaily row per key."""

import json
import threading
import time as clock
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.apikeys.models import UsageDaily, UsageRecord
from apps.apikeys.services import usage_daily_rollup
from apps.apikeys.tasks import rollup_usage

from .conftest import make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

DAY = date(2026, 3, 14)


def _record(key, *, at, status=200, error="", inputs=1, queue=None, inference=None, user=None):
    return UsageRecord.objects.create(
        key=key, user=user, endpoint="POST /classify", status_code=status, error_type=error, inputs=inputs,
        latency_ms=5, queue_ms=queue, inference_ms=inference, created_at=timezone.make_aware(at),
    )  # fmt: skip


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def test_one_row_per_key_with_requests_inputs_errors_by_type_and_latency_percentiles(owner, outsider):
    key, _ = make_key(owner)
    other, _ = make_key(outsider)
    for i in range(20):
        _record(key, at=_at(DAY, 9, i), inputs=2, queue=float(i + 1), inference=float(10 * (i + 1)))
    _record(key, at=_at(DAY, 10), status=429, error="rate_limited", inputs=0)
    _record(key, at=_at(DAY, 11), status=429, error="rate_limited", inputs=0)
    _record(key, at=_at(DAY, 12), status=500, inputs=0)
    _record(other, at=_at(DAY, 23, 59), status=400, error="invalid_input", inputs=0)
    # Outside the day, or without a key (the playground): not counted.
    _record(key, at=_at(DAY - timedelta(days=1), 23, 59))
    _record(key, at=_at(DAY + timedelta(days=1), 0, 0))
    _record(None, at=_at(DAY, 9), user=owner)

    assert usage_daily_rollup(day=DAY) == 2
    row = UsageDaily.objects.get(key=key, day=DAY)
    assert row.requests == 23
    assert row.inputs == 40
    assert row.errors == {"http_500": 1, "rate_limited": 2}
    assert row.p50_queue_ms == 10.0  # nearest rank: an observed latency
    assert row.p95_queue_ms == 19.0
    assert row.p50_inference_ms == 100.0
    assert row.p95_inference_ms == 190.0
    other_row = UsageDaily.objects.get(key=other, day=DAY)
    assert other_row.requests == 1
    assert other_row.errors == {"invalid_input": 1}
    assert other_row.p50_queue_ms is None


def test_rerunning_the_rollup_replaces_the_days_rows_instead_of_adding_to_them(owner, outsider):
    key, _ = make_key(owner)
    gone, _ = make_key(outsider)
    _record(key, at=_at(DAY, 8))
    _record(gone, at=_at(DAY, 8))
    UsageDaily.objects.create(key=key, day=DAY - timedelta(days=1), requests=7)  # another day: untouched
    usage_daily_rollup(day=DAY)
    usage_daily_rollup(day=DAY)
    assert UsageDaily.objects.get(key=key, day=DAY).requests == 1
    # A late record, and a key whose records were removed since: the re-run reflects both.
    _record(key, at=_at(DAY, 23, 30), status=404, error="model_not_found")
    UsageRecord.objects.filter(key=gone).delete()
    usage_daily_rollup(day=DAY)
    row = UsageDaily.objects.get(key=key, day=DAY)
    assert row.requests == 2
    assert row.errors == {"model_not_found": 1}
    assert not UsageDaily.objects.filter(key=gone, day=DAY).exists()
    assert UsageDaily.objects.get(key=key, day=DAY - timedelta(days=1)).requests == 7


def test_the_task_is_named_on_the_default_queue_and_rolls_up_yesterday_by_default(owner):
    key, _ = make_key(owner)
    yesterday = timezone.localdate() - timedelta(days=1)
    _record(key, at=_at(yesterday, 12))
    _record(key, at=_at(DAY, 12))
    assert rollup_usage.name == "apikeys.rollup_usage"
    assert rollup_usage.queue == "default"
    assert rollup_usage.soft_time_limit < rollup_usage.time_limit
    assert rollup_usage.apply().get() == 1
    assert UsageDaily.objects.get(key=key).day == yesterday
    args = [DAY.isoformat()]
    json.dumps(args)  # the payload is JSON, as on the wire
    assert rollup_usage.apply(args=args).get() == 1
    assert UsageDaily.objects.filter(key=key).count() == 2


def test_the_usage_page_reads_rolled_up_days(client, owner):
    key, _ = make_key(owner)
    earlier = timezone.localdate() - timedelta(days=6)
    for _ in range(3):
        _record(key, at=_at(earlier, 12), status=429, error="quota_exceeded", inputs=0)
    usage_daily_rollup(day=earlier)
    UsageRecord.objects.all().delete()  # the page must not need the raw records any more
    client.force_login(owner)
    html = client.get(f"/account/keys/{key.pk}/usage/").content.decode()
    assert "3 requests in the last 30 days, 3 of them errors" in html
    assert "quota_exceeded: 3" in html


def test_a_rollup_of_the_same_day_that_commits_first_makes_the_other_redo_its_rows(transactional_db, owner):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time, so two roll-ups never overlap there")
    key, _ = make_key(owner)
    _record(key, at=_at(DAY, 12))
    _record(key, at=_at(DAY, 13), status=500, error="internal")
    written, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def run(name: str, *, hold: bool) -> None:
        try:
            with transaction.atomic():
                outcomes[name] = usage_daily_rollup(day=DAY)
                if hold:  # written but not committed yet
                    written.set()
                    release.wait(120)
        except Exception as exc:  # reported by the assertions below
            outcomes[name] = exc
        finally:
            written.set()
            connection.close()

    first = threading.Thread(target=run, args=("first",), kwargs={"hold": True})
    first.start()
    written.wait(120)
    second = threading.Thread(target=run, args=("second",), kwargs={"hold": False})
    second.start()
    # The second run's insert waits for the first's uncommitted row; commit the first then.
    deadline = clock.monotonic() + 120  # a guard against a hang, not a speed check
    with connection.cursor() as cursor:
        while second.is_alive() and clock.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
            clock.sleep(0.05)
    assert second.is_alive(), outcomes
    release.set()
    first.join(120)
    second.join(120)
    assert outcomes == {"first": 1, "second": 1}
    row = UsageDaily.objects.get()
    assert (row.key_id, row.day, row.requests, row.errors) == (key.pk, DAY, 2, {"internal": 1})


@pytest.mark.worker
def test_the_rollup_runs_through_a_real_worker(transactional_db, owner):
    from tests.conftest import _require_broker
    from tests.services import celery_worker

    _require_broker()
    key, _ = make_key(owner)
    _record(key, at=_at(DAY, 12))
    with celery_worker(queues="default"):
        assert rollup_usage.delay(DAY.isoformat()).get(timeout=60) == 1
    assert UsageDaily.objects.get(key=key, day=DAY).requests == 1
