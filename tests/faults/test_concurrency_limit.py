"""Jobs in flight are counted from acceptance to stored outcome, exactly, under parallel
calls; a finished job frees its slot at once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from .conftest import issue_key
from .load import Answer, classify

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.embedded]

PARALLEL = 30
LIMIT = 4
PER_SECOND = 20


def _parallel(url: str, raw: str) -> list[Answer]:
    """``PARALLEL`` calls released at once (wait=0: each job stays in flight)."""
    barrier = threading.Barrier(PARALLEL)
    answers: list[Answer] = []

    def one(i: int) -> None:
        barrier.wait(timeout=30)
        answer, _ = classify(url, raw, inputs=[f"Parallel call {i}."], wait=0, idempotency_key=f"parallel-{i}")
        answers.append(answer)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_a_limit_of_4_accepts_exactly_4_of_30_parallel_calls_and_a_free_key_at_20_calls_a_second_is_never_limited(
    stack, fixed_head, loadtester
):
    # On the embedded default (file broker and result store, polled) a call takes about
    # half a second: fewer calls there, as many as the issue's report of it.
    sequential_calls = 100 if connection.vendor == "postgresql" else 40
    if connection.vendor == "postgresql":
        redis = stack.redis()
        stack.configure(cache=redis.url(0), broker=redis.url(1), results=redis.url(1))
    else:
        stack.configure()  # the embedded default: SQLite, the file broker and cache
    _limited, limited_raw = issue_key(loadtester, plan="pro", rpm=100_000, concurrency=LIMIT)
    free, free_raw = issue_key(loadtester, rpm=100_000)  # the Free plan's limit on jobs in flight
    assert free.plan.slug == "free" and free.max_concurrent_jobs == LIMIT
    # No inference worker yet: accepted jobs stay in flight while the calls race.
    web = stack.start(inference=False)
    parallel = Counter(answer.label for answer in _parallel(web.url, limited_raw))

    stack.start_worker("inference")
    sequential: list[tuple[str, str | None]] = []
    started = time.monotonic()
    for i in range(sequential_calls):
        time.sleep(max(0.0, started + i / PER_SECOND - time.monotonic()))
        answer, body = classify(web.url, free_raw, inputs=[f"Sequential call {i}."], wait=5)
        sequential.append((answer.label, (body or {}).get("status")))
    seen = Counter(f"{label} {status}" if status else label for label, status in sequential)

    assert parallel == {"202": LIMIT, "429 concurrency_limited": PARALLEL - LIMIT}, f"parallel answers: {parallel}"
    assert seen == {"200 succeeded": sequential_calls}, f"sequential answers: {seen}"
