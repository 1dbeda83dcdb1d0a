"""The reconciler: rows catch up from stored outcomes at once; several run safely."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.inference.models import InferenceJob, JobStatus
from apps.inference.results import store_results
from apps.inference.services import CATCH_UP_AFTER_SECONDS, inference_job_submit, inference_jobs_reconcile
from apps.inference.tasks import classify

from ..models import succeeded_outcome


@pytest.mark.django_db
@pytest.mark.embedded
def test_an_open_row_takes_its_stored_outcome_on_the_next_round_not_a_lease_later(owner, published, settings):
    job = inference_job_submit(owner=owner, model="fixed-head", inputs=["lost report"])
    waiting = inference_job_submit(owner=owner, model="fixed-head", inputs=["still running"])
    # The worker stored the outcome (callers have it) but its report never arrived.
    store_results(classify.backend, [succeeded_outcome(str(job.id), worker="gone@worker")])
    InferenceJob.objects.update(enqueued_at=timezone.now() - timedelta(seconds=CATCH_UP_AFTER_SECONDS + 1))
    assert settings.INFERENCE_LEASE_SECONDS > 10  # far from due for re-sending
    assert inference_jobs_reconcile() == {"recorded": 1, "requeued": 0, "failed": 0}
    job.refresh_from_db()
    waiting.refresh_from_db()
    assert (job.status, job.worker, job.inference_ms) == (JobStatus.SUCCEEDED, "gone@worker", 2.5)
    assert job.results[0]["label"] == "beta"
    assert waiting.status == JobStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_two_reconcilers_at_once_send_each_stuck_job_exactly_once(owner, fixed_head_artifact, settings):
    from portal.celery import INFERENCE_QUEUE, app

    from ..models import make_version

    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED are PostgreSQL's; SQLite serialises writers anyway")
    version = make_version(fixed_head_artifact)
    old = timezone.now() - timedelta(seconds=settings.INFERENCE_LEASE_SECONDS + 5)
    jobs = [InferenceJob.objects.create(owner=owner, model_version=version, inputs=[f"stuck {n}"]) for n in range(40)]
    InferenceJob.objects.update(enqueued_at=old)

    def round_(_n: int) -> int:
        try:
            return inference_jobs_reconcile()["requeued"]
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(4) as pool:
            sent = sum(pool.map(round_, range(4)))
        assert sent == len(jobs)
        assert not InferenceJob.objects.filter(enqueued_at=old).exists()
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(INFERENCE_QUEUE)


@pytest.mark.django_db
def test_after_the_brokers_redis_restarts_jobs_sent_before_it_are_sent_again_at_once(
    owner, published, django_capture_on_commit_callbacks
):
    from portal.celery import app

    if not app.conf.broker_url.startswith("redis://"):
        pytest.skip("the restart is told by the Redis server's run id")
    lost = inference_job_submit(owner=owner, model="fixed-head", inputs=["popped, never noted"])
    done = inference_job_submit(owner=owner, model="fixed-head", inputs=["ran before the restart"])
    store_results(classify.backend, [succeeded_outcome(str(done.id))])
    InferenceJob.objects.update(enqueued_at=timezone.now() - timedelta(seconds=CATCH_UP_AFTER_SECONDS + 1))
    inference_jobs_reconcile()  # notes the server's run id
    InferenceJob.objects.filter(id=lost.id).update(enqueued_at=timezone.now() - timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=False):
        assert inference_jobs_reconcile()["requeued"] == 0  # same server: a lease is far off
    with app.connection_for_write() as conn:
        conn.default_channel.client.set("inference:broker-run-id", "0" * 40)  # an earlier run
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert inference_jobs_reconcile() == {"recorded": 0, "requeued": 1, "failed": 0}
    assert len(callbacks) == 1
    lost.refresh_from_db()
    assert lost.enqueued_at > timezone.now() - timedelta(seconds=5)
