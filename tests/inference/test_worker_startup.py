"""Workers refuse settings that would lose jobs (Redis eviction, disagreeing timeouts)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

import pytest

from ..services import ROOT, service_missing, worker_env

pytestmark = pytest.mark.worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_worker(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "inference", "--pool", "solo"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def evicting_redis():
    server = shutil.which("redis-server")
    if not server:
        service_missing("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def test_a_worker_refuses_to_start_on_a_redis_that_evicts_keys(transactional_db, evicting_redis):
    env = worker_env(CELERY_BROKER_URL=evicting_redis, CELERY_RESULT_BACKEND=evicting_redis, REDIS_URL=evicting_redis)
    result = _start_worker(env)
    assert result.returncode != 0
    assert "noeviction" in result.stdout + result.stderr


def test_a_worker_refuses_a_visibility_timeout_shorter_than_a_batch_may_run(transactional_db):
    from portal.celery import app

    if not app.conf.broker_url.startswith("redis"):
        pytest.skip("the visibility timeout belongs to the Redis broker (PostgreSQL + Redis configuration)")
    env = worker_env(CELERY_VISIBILITY_TIMEOUT="10", INFERENCE_TIME_LIMIT="30")
    result = _start_worker(env)
    assert result.returncode != 0
    assert "visibility_timeout (10) must exceed the inference hard time limit (30 s)" in result.stdout + result.stderr


@pytest.mark.embedded
def test_the_inference_worker_serves_with_the_database_unreachable(
    transactional_db, owner, fixed_head_artifact, worker_pair
):
    # The inference worker has no database path at all: started with a database URL that
    # refuses every connection, it warms its models from the published manifest, runs
    # jobs and reports them; the web-side worker writes the rows.
    from apps.inference.models import InferenceJob, JobStatus
    from apps.inference.services import inference_job_submit, inference_job_wait, serving_manifest_publish

    from ..services import celery_worker
    from .conftest import make_version

    worker_pair.stop()  # this test's inference worker must be the only consumer
    make_version(fixed_head_artifact)
    serving_manifest_publish()
    refused = f"postgres://postgres@127.0.0.1:{_free_port()}/nowhere"
    env = worker_env(DATABASE_URL=refused)
    with celery_worker(queues="default,training"), celery_worker(queues="inference", pool="solo", env=env) as worker:
        job = inference_job_submit(owner=owner, model="fixed-head", inputs=["No database here."])
        outcome = inference_job_wait(job=job, timeout=60)
        deadline = time.monotonic() + 30
        while InferenceJob.objects.get(id=job.id).status != JobStatus.SUCCEEDED and time.monotonic() < deadline:
            time.sleep(0.2)
        log = worker["log"].read_text()
    assert outcome is not None
    assert (outcome["status"], outcome["worker"]) == ("succeeded", worker["hostname"])
    assert InferenceJob.objects.get(id=job.id).status == JobStatus.SUCCEEDED
    assert "loaded" in log  # warmed from the manifest before the first request
    assert "OperationalError" not in log
    assert "Traceback" not in log
