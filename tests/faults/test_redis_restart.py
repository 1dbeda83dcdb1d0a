"""Redis (broker, results and cache in one, as deployed) restarted twice under load."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from .conftest import accounting_summary, job_accounting, require_services, unlimited_key, wait_settled
from .harness import read_ledger
from .load import Load, classify

pytestmark = [pytest.mark.worker, pytest.mark.faults]

SUBMISSIONS = 500
PER_SECOND = 25  # 500 submissions over 20 s
# Stop Redis this many seconds into the load, for DOWN_S each time: each outage's rows
# have SETTLE_S to become final before the next outage begins.
OUTAGES_AT = (5.0, 12.0)
DOWN_S = 1.5
# Rows catch up from stored outcomes within this long of Redis's return.
SETTLE_S = 5.0
# A single job on an idle worker takes well under this end to end.
SINGLE_JOB_S = 2.0


def test_redis_restarted_twice_during_500_submissions_loses_no_job_runs_none_twice_and_never_answers_500(
    stack, fixed_head, loadtester
):
    require_services()
    redis = stack.redis()
    stack.configure(cache=redis.url(0), broker=redis.url(1), results=redis.url(1))
    key, raw = unlimited_key(loadtester)
    web = stack.start()
    inference = stack.workers["inference"]["process"]

    load = Load(
        web.url, raw, total=SUBMISSIONS, per_second=PER_SECOND, threads=8, wait=5, limit_s=90, prefix="restart"
    ).start()
    outages = []
    for at in OUTAGES_AT:
        time.sleep(max(0.0, load.started_at + at - time.time()))
        down = redis.stop()
        time.sleep(DOWN_S)
        back = redis.start()
        # Jobs submitted before Redis came back: final within SETTLE_S of its return.
        queued_before = datetime.fromtimestamp(back, tz=UTC)
        settled = wait_settled(key, origin=back, within=SETTLE_S, give_up=SETTLE_S, queued_at__lte=queued_before)
        outages.append({"down": down, "back": back, "settled_after_s": settled[0], "open_at_limit": settled[1]})
    load.join()
    settled_end = wait_settled(key, origin=load.ended_at, within=SETTLE_S)

    ledger = read_ledger(redis)
    issues = job_accounting(load, key, ledger)

    # The worker that lived through both restarts serves single jobs at once.
    singles = []
    for i in range(5):
        time.sleep(0.3)
        answer, body = classify(web.url, raw, inputs=[f"A single job after the restarts, {i}."], wait=5)
        singles.append((answer.label, (body or {}).get("status"), round(answer.at - answer.sent_at, 2)))

    summary = (
        f"{load.summary()}; outages (time.time()): {outages}; after the last call, rows final after "
        f"{settled_end[0]:.1f} s ({settled_end[1]} open at {SETTLE_S} s)"
    )
    assert not load.unaccepted(), f"calls never accepted: {summary}"
    bad = load.bad_answers()
    assert not bad, f"{len(bad)} answers a client must not see (e.g. {bad[:3]}): {summary}"
    for outage in outages:
        assert load.sent_between(outage["down"], outage["back"]) > 0, f"no call met the outage: {summary}"
    assert not any(issues.values()), f"{accounting_summary(issues, ledger, key)}; {summary}"
    for outage in outages:
        assert outage["open_at_limit"] == 0, f"rows still open {SETTLE_S} s after Redis returned: {summary}"
    assert settled_end[1] == 0, f"rows still open {SETTLE_S} s after the last call: {summary}"
    assert inference.poll() is None, "the inference worker died"
    assert all(label == "200" and status == "succeeded" and took < SINGLE_JOB_S for label, status, took in singles), (
        f"single jobs after the restarts (answer, status, seconds): {singles}"
    )
