"""The inference worker SIGKILLed twice and gunicorn reloaded twice under 1,000 jobs."""

from __future__ import annotations

import os
import signal
import time

import pytest

from apps.inference.models import InferenceJob

from .conftest import Background, accounting_summary, job_accounting, require_services, unlimited_key, wait_settled
from .harness import read_ledger
from .load import Load

pytestmark = [pytest.mark.worker, pytest.mark.faults]

JOBS = 1000
PER_SECOND = 25  # 1,000 jobs over 40 s
# Kill the inference worker (and start a new one) once this many calls were accepted;
# reload gunicorn (SIGHUP) at these counts, from another thread.
KILL_AT = (200, 550)
RELOAD_AT = (400, 750)
# Seconds before Redis hands a dead worker's unacknowledged messages to another worker;
# a batch's hard time limit must stay below it (workers refuse to start otherwise).
VISIBILITY_TIMEOUT = 10
TIME_LIMIT = 6
SETTLE_S = 5.0
# Jobs wait this long in the worker's buffer before a flush, so that a kill always finds
# some the worker holds unacknowledged (on a quiet machine a 2 ms flush is over too soon).
FLUSH_MS = 200


def _wait_until_held(redis, timeout: float = 10.0) -> int:
    """Block until the broker notes messages the worker holds unacknowledged; how many."""
    client = redis.client(1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = int(client.hlen("unacked"))
        if held:
            return held
        time.sleep(0.002)
    return 0


def test_the_inference_worker_killed_twice_and_the_web_reloaded_during_1000_jobs_ends_each_job_once(
    stack, fixed_head, loadtester
):
    require_services()
    redis = stack.redis()
    stack.configure(
        cache=redis.url(0),
        broker=redis.url(1),
        results=redis.url(1),
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        INFERENCE_TIME_LIMIT=str(TIME_LIMIT),
        INFERENCE_FLUSH_MS=str(FLUSH_MS),
    )
    key, raw = unlimited_key(loadtester)
    web = stack.start()
    events: list[tuple[str, float]] = []

    def reload_web() -> None:
        for count in RELOAD_AT:
            load.wait_accepted(count)
            events.append(("SIGHUP gunicorn", time.time()))
            web.reload()

    load = Load(web.url, raw, total=JOBS, per_second=PER_SECOND, threads=8, wait=1, limit_s=150, prefix="kill").start()
    # Web reloads run beside the kills (a new worker takes seconds to start), so that
    # every fault falls inside the load.
    reloads = Background(reload_web)
    last_restart = 0.0
    for count in KILL_AT:
        load.wait_accepted(count)
        doomed = stack.workers["inference"]["process"]
        held = _wait_until_held(redis)
        events.append((f"SIGKILL inference worker holding {held}", time.time()))
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        stack.start_worker("inference")
        last_restart = time.time()
    reloads.join()
    load.join()
    # A killed worker's messages come back after the visibility timeout; rows are final
    # a few seconds later (or a few seconds after the last call, if that is later).
    origin = max(last_restart + VISIBILITY_TIMEOUT, load.ended_at)
    settled = wait_settled(key, origin=origin, within=SETTLE_S)

    ledger = read_ledger(redis)
    issues = job_accounting(load, key, ledger)
    attempts = {str(i): n for i, n in InferenceJob.objects.filter(api_key=key).values_list("id", "attempts")}
    redelivered = [i for i in load.job_ids() if ledger.pushes.get(i, 0) > 1 or attempts.get(i, 0) > 1]

    summary = (
        f"{load.summary()}; rows final {settled[0]:.1f} s after the last restart plus the visibility timeout "
        f"({settled[1]} open at {SETTLE_S} s)"
    )
    late = [name for name, at in events if at > load.ended_at]
    assert not late, f"faults after the load had ended prove nothing: {late}; {summary}"
    assert redelivered, f"no job was redelivered: the kills interrupted nothing, and the test proves nothing; {summary}"
    assert not load.unaccepted(), f"calls never accepted: {summary}"
    bad = load.bad_answers()
    assert not bad, f"{len(bad)} answers a client must not see (e.g. {bad[:3]}): {summary}"
    assert not any(issues.values()), f"{accounting_summary(issues, ledger, key)}; {summary}"
    assert settled[1] == 0, f"rows still open too long: {summary}"
