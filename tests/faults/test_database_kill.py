"""PostgreSQL connections terminated again and again under load."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.db.models import Sum

from apps.apikeys.models import IdempotencyRecord, QuotaCounter
from apps.inference.models import InferenceJob, JobStatus

from .conftest import require_services, unlimited_key, wait_settled
from .load import Load

pytestmark = [pytest.mark.worker, pytest.mark.faults]

CALLS = 300
KILL_EVERY_S = 0.4
SETTLE_S = 5.0


class BackendKiller:
    """A thread terminating every connection to the test database except this test
    process's own, every ``KILL_EVERY_S``, until stopped; counts what it terminated."""

    def __init__(self, spared: int) -> None:
        self.spared = spared
        self.terminated = 0
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(KILL_EVERY_S):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND pid <> %s AND backend_type = 'client backend'",
                        [self.spared],
                    )
                    self.terminated += sum(1 for (done,) in cursor.fetchall() if done)
                self.rounds += 1
        finally:
            connections.close_all()

    def start(self) -> BackendKiller:
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=30)
        return time.time()


def test_database_connections_killed_under_load_answer_2xx_or_503_and_leave_nothing_half_written(
    stack, fixed_head, loadtester
):
    require_services()
    redis = stack.redis()
    stack.configure(cache=redis.url(0), broker=redis.url(1), results=redis.url(1))
    key, raw = unlimited_key(loadtester)
    web = stack.start()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own_pid,) = cursor.fetchone()

    # 1 to 3 inputs a call, so that a quota charged twice or refunded wrongly shows.
    load = Load(
        web.url, raw, total=CALLS, threads=8, wait=2, limit_s=90, prefix="pgkill",
        inputs=lambda i: [f"Call {i}, input {n}." for n in range(1 + i % 3)],
    )  # fmt: skip
    killer = BackendKiller(own_pid).start()
    load.start().join()
    kills_ended = killer.stop()
    settled = wait_settled(key, origin=kills_ended, within=SETTLE_S)

    rows = InferenceJob.objects.filter(api_key=key)
    calls_by_job = {call.job_id: call for call in load.calls if call.job_id}
    without_record = rows.exclude(id__in=IdempotencyRecord.objects.values("job_id")).count()
    records = IdempotencyRecord.objects.count()
    inputs_of_rows = sum(len(inputs) for inputs in rows.values_list("inputs", flat=True))
    charged = QuotaCounter.objects.aggregate(total=Sum("used"))["total"] or 0
    not_succeeded = dict(rows.exclude(status=JobStatus.SUCCEEDED).values_list("id", "status")[:5])

    summary = f"{load.summary()}; {killer.terminated} connections terminated in {killer.rounds} rounds"
    assert killer.terminated >= 20, f"too few connections were terminated to prove anything: {summary}"
    assert not load.unaccepted(), f"calls never accepted: {summary}"
    bad = load.bad_answers()
    assert not bad, f"{len(bad)} answers other than 2xx or 503 problem+json (e.g. {bad[:3]}): {summary}"
    assert len(calls_by_job) == CALLS and rows.count() == CALLS, (
        f"{CALLS} calls, {len(calls_by_job)} distinct jobs answered, {rows.count()} job rows: {summary}"
    )
    assert without_record == 0 and records == CALLS, (
        f"{without_record} job rows without their idempotency record; {records} records for {CALLS} calls"
    )
    assert charged == inputs_of_rows, f"the quota counts {charged} inputs; the accepted jobs hold {inputs_of_rows}"
    assert settled[1] == 0, (
        f"{settled[1]} rows still open {SETTLE_S} s after the last kill (all final after {settled[0]:.1f} s)"
    )
    assert not not_succeeded, f"jobs that did not succeed: {not_succeeded}"
