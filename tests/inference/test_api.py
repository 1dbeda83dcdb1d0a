"""POST /api/v1/classify and GET /api/v1/jobs/{id} through a real worker."""

import math
import time

import pytest

from apps.inference.models import InferenceJob

from ..apikeys.conftest import KeyClient, make_key
from ..models import EXPECTED, LABELS, make_version

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(client, owner):
    return KeyClient(client, make_key(owner)[1])


@pytest.mark.worker
@pytest.mark.embedded
def test_classify_waits_and_returns_results_in_the_documented_shape(worker, api, fixed_head_artifact):
    make_version(fixed_head_artifact)
    response = api.post("classify", {"model": "fixed-head", "inputs": ["Great docs.", "Slow support."], "wait": 30})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"id", "status", "model", "version", "results", "timing", "batch_size"}
    assert body["status"] == "succeeded"
    assert body["model"] == "fixed-head"
    assert body["version"] == 1
    assert set(body["timing"]) == {"queued_ms", "inference_ms", "total_ms"}
    assert body["timing"]["total_ms"] >= body["timing"]["inference_ms"] > 0
    for result in body["results"]:
        assert result["label"] == "beta"
        assert list(result["scores"]) == LABELS
        assert math.isclose(result["score"], EXPECTED["beta"], rel_tol=1e-4)
    job = api.get(f"jobs/{body['id']}")
    assert job.status_code == 200
    assert job.json()["results"] == body["results"]


@pytest.mark.worker
def test_wait_zero_returns_202_with_a_job_url_that_later_has_the_results(worker, api, fixed_head_artifact):
    make_version(fixed_head_artifact)
    response = api.post("classify", {"model": "fixed-head", "inputs": ["Later, please."], "wait": 0})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] in ("queued", "running")
    assert body["url"].endswith(f"/api/v1/jobs/{body['id']}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        polled = api.get(f"jobs/{body['id']}")
        if polled.status_code == 200:
            break
        time.sleep(0.2)
    assert polled.status_code == 200
    assert polled.json()["status"] == "succeeded"


@pytest.mark.embedded
def test_the_same_idempotency_key_and_body_return_the_same_job(api, fixed_head_artifact):
    make_version(fixed_head_artifact)
    body = {"model": "fixed-head", "inputs": ["once only"], "wait": 0}
    first = api.post("classify", body, **{"Idempotency-Key": "abc-123"})
    second = api.post("classify", body, **{"Idempotency-Key": "abc-123"})
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert InferenceJob.objects.count() == 1
    conflict = api.post("classify", {**body, "inputs": ["something else"]}, **{"Idempotency-Key": "abc-123"})
    assert conflict.status_code == 409
    assert conflict.json()["type"] == "idempotency_conflict"
    other = api.post("classify", body, **{"Idempotency-Key": "another"})
    assert other.json()["id"] != first.json()["id"]
    assert InferenceJob.objects.count() == 2


@pytest.mark.embedded
def test_parallel_requests_with_one_idempotency_key_make_one_job(client, owner, fixed_head_artifact):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    make_version(fixed_head_artifact)
    _key, raw = make_key(owner)
    body = {"model": "fixed-head", "inputs": ["race"], "wait": 0}

    def send(_i):
        try:
            return KeyClient(Client(), raw).post("classify", body, **{"Idempotency-Key": "race-1"}).json()["id"]
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(send, range(16)))
    assert len(ids) == 1
    assert InferenceJob.objects.count() == 1
