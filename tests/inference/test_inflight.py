"""Jobs in flight: counted from submission until the outcome is stored, atomically.

The shared inference worker is stopped first, so accepted jobs stay in flight until the
test stores their outcome the way a worker does (``results.store_results``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from apps.apikeys.models import QuotaCounter
from apps.inference.models import InferenceJob
from apps.inference.results import store_results
from apps.inference.tasks import classify

from ..apikeys.conftest import KeyClient, make_key
from ..models import make_version, succeeded_outcome

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


@pytest.fixture(autouse=True)
def _no_worker(worker_pair: Any) -> None:
    # These jobs must not finish on their own: the queue is this module's alone.
    worker_pair.stop()


def _body(text: str = "in flight") -> dict[str, Any]:
    return {"model": "fixed-head", "inputs": [text], "wait": 0}


def _finish(job_id: str, subject: str) -> None:
    """Store a succeeded outcome for ``job_id`` as the inference worker does."""
    store_results(classify.backend, [succeeded_outcome(job_id, subject=subject)])


def test_thirty_parallel_calls_against_a_limit_of_four_accept_exactly_four(owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    _key, raw = make_key(owner, concurrency=4, rpm=1000)

    def send(n: int) -> tuple[int, str]:
        try:
            response = KeyClient(Client(), raw).post("classify", _body(f"parallel {n}"))
            return response.status_code, response.json().get("type", "")
        finally:
            connection.close()

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(send, range(30)))
    accepted = [a for a in answers if a[0] == 202]
    limited = [a for a in answers if a == (429, "concurrency_limited")]
    assert (len(accepted), len(limited)) == (4, 26), answers
    assert InferenceJob.objects.count() == 4


def test_a_job_frees_its_slot_the_moment_its_outcome_is_stored(client, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    key, raw = make_key(owner, concurrency=1)
    api = KeyClient(client, raw)
    first = api.post("classify", _body("first"))
    assert first.status_code == 202
    second = api.post("classify", _body("second"))
    assert (second.status_code, second.json()["type"]) == (429, "concurrency_limited")
    # The row still says "queued": only the stored outcome counts.
    _finish(first.json()["id"], f"key:{key.pk}")
    assert InferenceJob.objects.get(id=first.json()["id"]).status == "queued"
    third = api.post("classify", _body("third"))
    assert third.status_code == 202, third.content


def test_a_call_refused_for_its_quota_holds_no_slot_and_no_quota(client, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    key, raw = make_key(owner, concurrency=1, quota=2)
    api = KeyClient(client, raw)
    refused = api.post("classify", {"model": "fixed-head", "inputs": ["a", "b", "c"], "wait": 0})
    assert (refused.status_code, refused.json()["type"]) == (429, "quota_exceeded")
    accepted = api.post("classify", _body())
    assert accepted.status_code == 202, accepted.content
    assert InferenceJob.objects.count() == 1
    assert QuotaCounter.objects.get(subject=f"key:{key.pk}").used == 1


def test_a_sequential_client_whose_jobs_finish_is_never_concurrency_limited(client, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    key, raw = make_key(owner, concurrency=1, rpm=1000)
    api = KeyClient(client, raw)
    for n in range(10):
        response = api.post("classify", _body(f"call {n}"))
        assert response.status_code == 202, (n, response.content)
        _finish(response.json()["id"], f"key:{key.pk}")
