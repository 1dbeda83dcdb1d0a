"""Submission is all or nothing: a call refused because the broker was down never runs."""

from __future__ import annotations

import time

import pytest
from django.db.models import Sum

from apps.apikeys.models import QuotaCounter
from apps.inference.models import InferenceJob, JobStatus

from .conftest import issue_key, require_services
from .harness import read_ledger
from .load import classify, is_unavailable, job_wait

pytestmark = [pytest.mark.worker, pytest.mark.faults]

# A short lease, so that a row left open by the refused call would be re-sent by the
# reconciler (every second) well within the test.
LEASE_S = 3
RECONCILE_S = 1


def test_a_call_refused_while_the_broker_is_down_gets_503_and_its_job_never_runs_later(stack, fixed_head, loadtester):
    require_services()
    # The broker on a Redis of its own, so that it can fail while the cache and the
    # result backend (where jobs in flight are counted) still answer.
    store = stack.redis("store")
    broker = stack.redis("broker")
    stack.configure(
        cache=store.url(0), broker=broker.url(0), results=store.url(1), INFERENCE_LEASE_SECONDS=str(LEASE_S)
    )
    key, raw = issue_key(loadtester, plan="pro", rpm=100_000, concurrency=1)
    web = stack.start()
    inference = stack.workers["inference"]["process"]
    text = "Sent while the broker is down."

    # The broker alone is down: everything before the enqueue works, the enqueue cannot.
    broker.stop()
    broker_down, _ = classify(web.url, raw, inputs=[text], wait=5, idempotency_key="first")
    broker.start()
    # All of Redis is down.
    store.stop()
    broker.stop()
    all_down, _ = classify(web.url, raw, inputs=["Sent while Redis is down."], wait=5, idempotency_key="second")
    store.start()
    back = broker.start()

    # The client retries its first call with the same Idempotency-Key. The key allows one
    # job in flight: it is accepted only if the refused calls left no slot taken, and it
    # runs only if they left no idempotency record behind.
    retry, body = classify(web.url, raw, inputs=[text], wait=10, idempotency_key="first")
    retried = str(body["id"]) if retry.status in (200, 202) and body else None
    finished = job_wait(web.url, raw, retried, timeout=30) if retried else {}
    # The workers run on for a lease and two reconciler rounds after Redis returned.
    time.sleep(max(0.0, back + LEASE_S + 2 * RECONCILE_S + 1 - time.time()))

    ledger = read_ledger(store, broker)
    others = InferenceJob.objects.filter(api_key=key).exclude(id=retried)
    ran = (set(ledger.runs) | set(ledger.stored)) - {retried}
    pushed = set(ledger.pushes) - {retried}
    charged = QuotaCounter.objects.aggregate(total=Sum("used"))["total"] or 0

    for answer in (broker_down, all_down):
        assert is_unavailable(answer), f"expected a 503 problem+json with Retry-After, got {answer}"
    assert retried and finished.get("status") == "succeeded", (
        f"the retried call after Redis returned: {retry.label}, then {finished}"
    )
    assert not others.exclude(status__in=[JobStatus.FAILED, JobStatus.CANCELLED]).exists(), (
        f"refused calls left open or finished rows: {list(others.values_list('id', 'status'))}"
    )
    assert not pushed, f"jobs the client was told failed were queued: {sorted(pushed)}"
    assert not ran, f"jobs the client was told failed ran: {sorted(ran)}"
    assert charged == 1, f"the quota charged {charged} inputs; only the retried call's one was accepted"
    assert inference.poll() is None, "the inference worker died"
