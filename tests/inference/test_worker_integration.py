"""Jobs through the real path: service -> broker -> inference worker process -> result
backend + recording task -> job row. Needs the broker (Redis in CI)."""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import pytest

from apps.inference.models import JobStatus
from apps.inference.services import inference_job_outcome, inference_job_submit, inference_job_wait

from ..models import int8_figures
from ..services import celery_worker, worker_env
from .conftest import EXPECTED, LABELS, build_fixed_head_artifact, make_version, wait_rows

pytestmark = pytest.mark.worker


@pytest.mark.embedded
def test_a_submitted_job_completes_with_labels_in_order_and_probabilities_summing_to_one(
    worker, owner, fixed_head_artifact
):
    make_version(fixed_head_artifact)
    job = inference_job_submit(owner=owner, model="fixed-head", inputs=["The API is fast.", "Docs are great."])
    outcome = inference_job_wait(job=job, timeout=60)
    assert outcome is not None
    assert outcome["status"] == "succeeded"
    assert outcome["worker"] == worker["hostname"]
    for result in outcome["results"]:
        assert list(result["scores"]) == LABELS
        assert result["label"] == "beta"
        assert math.isclose(sum(result["scores"].values()), 1.0, rel_tol=1e-6)
        assert math.isclose(result["scores"]["beta"], EXPECTED["beta"], rel_tol=1e-4)
    (row,) = wait_rows([job.id], lambda jobs: jobs[0].status == JobStatus.SUCCEEDED, 30)
    assert row.results == outcome["results"]
    assert row.worker == worker["hostname"]
    assert row.queued_ms is not None
    assert row.inference_ms > 0


@pytest.mark.embedded
def test_twenty_concurrent_jobs_are_served_in_fewer_forward_passes_than_jobs(worker, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    jobs = [inference_job_submit(owner=owner, model="fixed-head", inputs=[f"sentence number {i}"]) for i in range(20)]
    outcomes = [inference_job_wait(job=job, timeout=60) for job in jobs]
    assert all(o and o["status"] == "succeeded" for o in outcomes)
    groups = {o["group"]: o["forward_passes"] for o in outcomes}
    assert sum(groups.values()) < 20, groups
    assert max(o["batch_size"] for o in outcomes) > 1


@pytest.mark.embedded
def test_a_version_whose_int8_variant_is_eligible_is_served_by_it_with_the_same_outcome(worker, owner):
    from django.conf import settings

    from apps.inference.selectors import worker_list_live

    # An artifact of its own, so the fp32 copy other tests use stays loaded as it is.
    artifact = build_fixed_head_artifact(Path(settings.MODEL_ARTIFACTS_DIR) / "tests" / "fixed-head-int8")
    version = make_version(artifact, slug="fixed-int8")
    version.variants = {"int8": int8_figures(0.4)}
    version.save()
    job = inference_job_submit(owner=owner, model="fixed-int8", inputs=["The API is fast.", "Docs are great."])
    outcome = inference_job_wait(job=job, timeout=60)
    assert outcome is not None and outcome["status"] == "succeeded"
    for result in outcome["results"]:  # the fixed head's answer, exactly as fp32 gives it
        assert set(result) == {"label", "score", "scores", "truncated"}
        assert list(result["scores"]) == LABELS
        assert result["label"] == "beta"
        assert math.isclose(result["scores"]["beta"], EXPECTED["beta"], rel_tol=1e-4)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (record,) = [w for w in worker_list_live() if w["hostname"] == worker["hostname"]]
        if "tests/fixed-head-int8" in record.get("models", []):
            break
        time.sleep(0.25)
    assert "tests/fixed-head-int8" in record["models"]
    # CPU workers serve the eligible variant; CUDA workers never do.
    assert ("tests/fixed-head-int8" in record.get("int8", [])) is (record["device"] == "cpu")


def test_a_worker_killed_mid_batch_loses_no_job_and_each_completes_once(
    transactional_db, owner, fixed_head_artifact, worker_pair
):
    # Redis only: its unacknowledged messages come back after the visibility timeout. The
    # file-system broker of the embedded default relies on the reconciler instead.
    from portal.celery import app

    if not app.conf.broker_url.startswith("redis"):
        pytest.skip("needs the Redis broker (runs in the PostgreSQL + Redis configuration)")
    worker_pair.stop()  # this test's own workers must be the only consumers
    make_version(fixed_head_artifact, slug="slow", version=1)
    from apps.mlmodels.models import ModelVersion

    ModelVersion.objects.filter(model__slug="slow").update(max_length=256)
    # Long inputs make one flush take seconds on a CPU: time enough to kill it mid-batch.
    text = "The deployment pipeline failed again after the upgrade and support never answered. " * 20
    # The web-side worker runs the reconciler often with a short lease: a message the
    # dead worker had taken off Redis but not yet registered as unacknowledged is gone
    # from the broker, and only the reconciler (the job row is the truth) sends it again.
    reconciling = worker_env(INFERENCE_LEASE_SECONDS="25", INFERENCE_RECONCILE_EVERY="3")
    with celery_worker(queues="default,training", env=reconciling, beat=True):
        # Time enough for the whole first flush, however busy the machine: only the kill
        # may interrupt it.
        first = celery_worker(queues="inference", pool="solo", env=worker_env(INFERENCE_TIME_LIMIT="55"))
        doomed = first.__enter__()
        try:
            jobs = [inference_job_submit(owner=owner, model="slow", inputs=[text] * 32) for _ in range(6)]
            ids = [job.id for job in jobs]
            rows = wait_rows(ids, lambda rows: any(r.status == JobStatus.RUNNING for r in rows), 60)
            taken = {row.id for row in rows if row.status == JobStatus.RUNNING}
            os.kill(doomed["process"].pid, signal.SIGKILL)
            doomed["process"].wait(timeout=10)
        finally:
            first.__exit__(None, None, None)
        # The worker is dead, so what it finished is final: a flush stores its outcomes in
        # the result backend before it reports anything else. A job it took and did not
        # finish was interrupted, whatever the web side has recorded so far.
        finished = {job.id for job in jobs if inference_job_outcome(job=job) is not None}
        interrupted = taken - finished
        assert interrupted, "no batch was running when the worker was killed; the test proves nothing"

        # A fresh worker with a short visibility timeout takes the dead worker's messages back.
        env = worker_env(CELERY_VISIBILITY_TIMEOUT="20", INFERENCE_TIME_LIMIT="15")
        with celery_worker(queues="inference", pool="solo", env=env) as rescuer:
            rows = wait_rows(ids, lambda rows: all(r.status == JobStatus.SUCCEEDED for r in rows), 150)
    for row in rows:
        assert len(row.results) == 32
        assert row.worker == (doomed["hostname"] if row.id in finished else rescuer["hostname"])
        if row.id in interrupted:
            assert row.attempts >= 2
