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


# GET /api/v1/jobs/{id}?wait=: the answer comes when the job finishes or the wait runs out.


@pytest.fixture
def unconsumed_queue(worker_pair):
    """No worker consumes the queue (an earlier test may have started the shared pair):
    jobs stay queued."""
    worker_pair.stop()


def _queued_job(api) -> str:
    response = api.post("classify", {"model": "fixed-head", "inputs": ["Waiting."], "wait": 0})
    assert response.status_code == 202
    return response.json()["id"]


@pytest.mark.embedded
@pytest.mark.parametrize("wait", ["-1", "-0.5", "30.5", "31", "abc", "nan", "inf", "1e9"])
def test_a_wait_out_of_range_or_not_a_number_is_a_400_problem(unconsumed_queue, api, fixed_head_artifact, wait):
    make_version(fixed_head_artifact)
    job_id = _queued_job(api)
    response = api.get(f"jobs/{job_id}?wait={wait}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "invalid_input"
    assert "wait" in problem["detail"]


@pytest.mark.embedded
@pytest.mark.parametrize("wait", ["0", "0.25", "1"])
def test_a_job_still_queued_when_the_wait_runs_out_is_a_202_with_where_it_stands(
    unconsumed_queue, api, fixed_head_artifact, wait
):
    make_version(fixed_head_artifact)
    job_id = _queued_job(api)
    response = api.get(f"jobs/{job_id}?wait={wait}")
    assert response.status_code == 202
    body = response.json()
    assert body["id"] == job_id
    assert body["status"] == "queued"
    assert body["url"].endswith(f"/api/v1/jobs/{job_id}")
    assert body["queue"] == {"jobs_ahead": 0, "position": 1, "workers_online": 0}


def _get_while(api, job_id, change):
    """GET the job with ``wait=2`` in another thread; half a second in (the request has read
    the row and is waiting), ``change()`` here; returns the response and what ``change``
    returned."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def held_get():
        try:
            return api.get(f"jobs/{job_id}?wait=2")
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(held_get)
        time.sleep(0.5)
        changed = change()
        return answer.result(), changed


def test_a_job_that_starts_running_during_the_wait_is_shown_running_when_it_runs_out(
    unconsumed_queue, api, fixed_head_artifact
):
    from apps.inference.services import inference_jobs_record

    make_version(fixed_head_artifact)
    job_id = _queued_job(api)
    # The worker's report, through the web side's recording service.
    running = {"job_id": job_id, "status": "running", "worker": "gpu-1@host", "batch_size": 3, "attempt": 1}
    response, recorded = _get_while(
        api, job_id, lambda: inference_jobs_record(outcomes=[{**running, "started_at": time.time()}])
    )
    assert recorded == 1
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["worker"], body["batch_size"]) == ("running", "gpu-1@host", 3)


def test_a_job_deleted_during_the_wait_is_a_404(unconsumed_queue, api, fixed_head_artifact):

    make_version(fixed_head_artifact)
    job_id = _queued_job(api)
    # As deleting the account does.
    response, _deleted = _get_while(api, job_id, lambda: InferenceJob.objects.filter(id=job_id).delete())
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


@pytest.mark.worker
@pytest.mark.embedded
def test_a_wait_answers_200_as_soon_as_the_job_finishes(worker, api, fixed_head_artifact):
    make_version(fixed_head_artifact)
    job_id = api.post("classify", {"model": "fixed-head", "inputs": ["Right away."], "wait": 0}).json()["id"]
    # One request, held until the worker's outcome arrives: 200, not a 202 when the wait ran out.
    started = time.monotonic()
    response = api.get(f"jobs/{job_id}?wait=30")
    assert response.status_code == 200, response.content
    assert time.monotonic() - started < 30  # it did not sit out its wait
    body = response.json()
    assert body["status"] == "succeeded"
    assert [result["label"] for result in body["results"]] == ["beta"]
    # A finished job answers at once, whatever the wait.
    started = time.monotonic()
    again = api.get(f"jobs/{job_id}?wait=30")
    assert time.monotonic() - started < 30
    assert again.status_code == 200
    assert again.json()["results"] == body["results"]


def test_an_outsider_waiting_on_someone_elses_job_gets_a_404(
    unconsumed_queue, api, client, outsider, fixed_head_artifact
):
    make_version(fixed_head_artifact)
    job_id = _queued_job(api)
    stranger = KeyClient(client, make_key(outsider)[1])
    response = stranger.get(f"jobs/{job_id}?wait=1")
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


def test_the_openapi_schema_documents_the_wait_of_get_job(client):
    schema = client.get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/jobs/{job_id}"]["get"]["parameters"]
    wait = next(p for p in parameters if p["name"] == "wait")
    assert wait["in"] == "query"
    assert not wait.get("required", False)
    assert wait["schema"]["type"] == "number"
    assert (wait["schema"]["minimum"], wait["schema"]["maximum"]) == (0, 30)
    assert "400" in schema["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]
