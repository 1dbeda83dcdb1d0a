"""What the v1 API grew for the playground: where a waiting job stands (`queue`), which
worker runs it, and an optional `version` on POST /api/v1/classify."""

import pytest

from apps.inference.models import InferenceJob, JobStatus
from apps.inference.services import inference_job_submit
from apps.mlmodels.models import VersionStatus

from ..apikeys.conftest import KeyClient, make_key
from ..models import make_version
from .conftest import DEMO

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def api(client, owner):
    return KeyClient(client, make_key(owner)[1])


def test_a_queued_job_says_how_many_jobs_are_ahead_and_that_no_worker_is_online(demo, api, outsider, no_workers):
    for text in ("earlier one", "earlier two"):
        inference_job_submit(owner=outsider, model=DEMO, inputs=[text])
    response = api.post("classify", {"model": DEMO, "inputs": ["mine"], "wait": 0})
    assert response.status_code == 202
    body = response.json()
    assert body["queue"] == {"jobs_ahead": 2, "position": 3, "workers_online": 0}
    assert body["model"] == DEMO
    assert body["version"] == 1
    polled = api.get(f"jobs/{body['id']}").json()
    assert polled["queue"]["jobs_ahead"] == 2


def test_jobs_that_already_run_are_not_counted_as_ahead(demo, api, outsider):
    running = inference_job_submit(owner=outsider, model=DEMO, inputs=["running"])
    InferenceJob.objects.filter(id=running.id).update(status=JobStatus.RUNNING)
    body = api.post("classify", {"model": DEMO, "inputs": ["mine"], "wait": 0}).json()
    assert body["queue"]["jobs_ahead"] == 0


def test_a_running_job_names_its_worker_and_batch_size(demo, api):
    job_id = api.post("classify", {"model": DEMO, "inputs": ["mine"], "wait": 0}).json()["id"]
    InferenceJob.objects.filter(id=job_id).update(status=JobStatus.RUNNING, worker="gpu-1@host", batch_size=7)
    body = api.get(f"jobs/{job_id}").json()
    assert body["status"] == "running"
    assert body["worker"] == "gpu-1@host"
    assert body["batch_size"] == 7


def test_a_live_worker_heartbeat_is_counted_as_online(demo, api, no_workers):
    import time

    from apps.inference.heartbeat import heartbeat_write

    heartbeat_write(hostname="w1@test", queues=["inference"], started_at=time.time())
    heartbeat_write(hostname="w2@test", queues=["default"], started_at=time.time())
    body = api.post("classify", {"model": DEMO, "inputs": ["mine"], "wait": 0}).json()
    assert body["queue"]["workers_online"] == 1


def test_classify_may_pick_a_version_and_defaults_to_the_newest_published(demo, api, fixed_head_artifact):
    make_version(fixed_head_artifact, slug=DEMO, version=2)
    newest = api.post("classify", {"model": DEMO, "inputs": ["a"], "wait": 0}).json()
    pinned = api.post("classify", {"model": DEMO, "version": 1, "inputs": ["a"], "wait": 0}).json()
    assert InferenceJob.objects.get(id=newest["id"]).model_version.version == 2
    assert InferenceJob.objects.get(id=pinned["id"]).model_version.version == 1
    assert pinned["version"] == 1


@pytest.mark.parametrize("version", [0, -1, "2", 1.5, True, 2**31])
def test_a_bad_version_is_a_400_and_nothing_is_queued(demo, api, version):
    response = api.post("classify", {"model": DEMO, "version": version, "inputs": ["a"], "wait": 0})
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_input"
    assert InferenceJob.objects.count() == 0


def test_an_unknown_or_retired_version_is_refused_before_anything_is_queued(demo, api, fixed_head_artifact):
    assert api.post("classify", {"model": DEMO, "version": 9, "inputs": ["a"]}).json()["type"] == "model_not_found"
    make_version(fixed_head_artifact, slug=DEMO, version=2, status=VersionStatus.RETIRED)
    assert api.post("classify", {"model": DEMO, "version": 2, "inputs": ["a"]}).json()["type"] == "model_retired"
    assert InferenceJob.objects.count() == 0


def test_the_idempotency_key_tells_versions_apart(demo, api, fixed_head_artifact):
    make_version(fixed_head_artifact, slug=DEMO, version=2)
    body = {"model": DEMO, "inputs": ["same"], "wait": 0}
    first = api.post("classify", body, **{"Idempotency-Key": "k1"})
    assert api.post("classify", body, **{"Idempotency-Key": "k1"}).json()["id"] == first.json()["id"]
    conflict = api.post("classify", {**body, "version": 1}, **{"Idempotency-Key": "k1"})
    assert conflict.status_code == 409
