"""Celery entry points of inference. Names are a wire contract.

- ``inference.classify`` (inference queue, batched): runs on GPU/CPU workers with no
  database. Acknowledged late and rejected on worker loss (the queue's semantics, see
  portal/celery.py), so a killed worker's jobs are redelivered; no retries: a failure is
  an outcome recorded on the job.
- ``inference.record`` (default queue): writes worker reports into job rows; idempotent
  (conditional updates), retried on database errors.
- ``inference.reconcile`` (default queue, periodic, every ``INFERENCE_RECONCILE_EVERY`` s):
  writes stored outcomes into rows still open, re-sends stuck jobs, fails poison ones;
  safe with several beats (rows are taken with SKIP LOCKED); also writes the serving
  manifest again if the cache lost it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery_batches import SimpleRequest
from django.conf import settings
from django.db import DatabaseError

from portal.celery import DEFAULT_QUEUE, INFERENCE_QUEUE

from .batching import InferenceBatches


@shared_task(
    base=InferenceBatches,
    bind=True,
    name="inference.classify",
    queue=INFERENCE_QUEUE,
    flush_every=max(settings.INFERENCE_BATCH_SIZE, 1),
    flush_interval=settings.INFERENCE_FLUSH_MS / 1000,
)
def classify(self: InferenceBatches, requests: list[SimpleRequest]) -> dict[str, list[str]]:
    """One flush. Returns the ids of the jobs to deliver again (``batching.flush``)."""
    from .worker import Job, Limits, process

    jobs = [
        Job(
            id=request.kwargs["job_id"],
            model=request.kwargs["model"],
            inputs=request.kwargs["inputs"],
            queued_at=request.kwargs.get("queued_at"),
            subject=request.kwargs.get("subject") or "",
        )
        for request in requests
    ]
    hostname = requests[0].hostname if requests else ""
    limits = Limits(soft=self.soft_time_limit, hard=self.time_limit)
    result = process(jobs, state=self.data, hostname=hostname or "", limits=limits)
    return {"redeliver": result.redeliver}


@shared_task(
    name="inference.record",
    queue=DEFAULT_QUEUE,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=30,  # below the visibility timeout: a countdown must not outlive it
    max_retries=5,
)
def record(outcomes: list[dict[str, Any]]) -> int:
    from .services import inference_jobs_record

    return inference_jobs_record(outcomes=outcomes)


@shared_task(name="inference.reconcile", queue=DEFAULT_QUEUE)
def reconcile() -> dict[str, int]:
    from .services import inference_jobs_reconcile, serving_manifest_ensure

    serving_manifest_ensure()
    return inference_jobs_reconcile()
