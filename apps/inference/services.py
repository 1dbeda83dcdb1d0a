"""Submitting inference jobs and recording what workers report.

Submission validates everything before a row or a message exists; the message is sent
after the transaction commits. Recording is a conditional update on open jobs, so a
redelivered or duplicated report changes nothing: a job finishes once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from apps.core.errors import InvalidInput
from apps.mlmodels.models import ModelVersion
from apps.mlmodels.selectors import model_version_serving, version_message

from .models import OPEN_STATUSES, InferenceJob, JobSource, JobStatus

logger = logging.getLogger(__name__)

MAX_INPUTS = 32
MAX_CHARS = 2000


def inference_inputs_validate(inputs: Any) -> list[str]:
    """Return ``inputs`` if it is 1..32 strings of 1..2000 characters of valid UTF-8 text.

    Raises ``InvalidInput`` naming the first offending input.
    """
    if isinstance(inputs, str):
        raise InvalidInput("`inputs` must be a list of strings, not a single string.")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("`inputs` must be a non-empty list of strings.")
    if len(inputs) > MAX_INPUTS:
        raise InvalidInput(f"Send at most {MAX_INPUTS} inputs per request; this one has {len(inputs)}.")
    for index, text in enumerate(inputs):
        if not isinstance(text, str):
            raise InvalidInput(f"inputs[{index}] must be a string.")
        if not text.strip():
            raise InvalidInput(f"inputs[{index}] is empty.")
        if len(text) > MAX_CHARS:
            raise InvalidInput(f"inputs[{index}] has {len(text)} characters; the limit is {MAX_CHARS}.")
        if "\x00" in text:
            raise InvalidInput(f"inputs[{index}] contains a NUL character.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"inputs[{index}] is not valid UTF-8 text.") from None
    return inputs


def inference_job_submit(
    *,
    owner: Any,
    model: str,
    inputs: Any,
    source: str = JobSource.API,
    version: int | None = None,
    api_key: Any = None,
    serving: ModelVersion | None = None,
) -> InferenceJob:
    """Create a job for ``inputs`` on the serving version of ``model`` and queue it.

    ``serving`` is that version where the caller has already looked it up (with
    ``model_version_serving(..., for_queue=True)``). Raises ``InvalidInput``,
    ``ModelNotFound`` or ``ModelRetired`` before anything is written or queued.
    """
    inputs = inference_inputs_validate(inputs)
    model_version = serving or model_version_serving(slug=model, version=version, for_queue=True)
    job = InferenceJob.objects.create(
        owner=owner if getattr(owner, "is_authenticated", False) else None,
        api_key=api_key,
        source=source,
        model_version=model_version,
        inputs=inputs,
        enqueued_at=timezone.now(),
    )
    # One INSERT needs no transaction of its own. Inside a caller's transaction the
    # message waits for its commit; outside one the row is already committed.
    transaction.on_commit(lambda: inference_job_enqueue(job=job))
    return job


def inference_job_enqueue(*, job: InferenceJob) -> None:
    """Send ``job`` to the inference queue. The message carries all a worker needs."""
    from .tasks import classify

    classify.apply_async(
        kwargs={
            "job_id": str(job.id),
            "model": version_message(job.model_version),
            "inputs": job.inputs,
            "queued_at": job.queued_at.timestamp(),
        },
        task_id=str(job.id),
        # What monitoring tools and task events show of the message: the job, not the
        # user's texts (and no repr of them to build on every submission).
        argsrepr="()",
        kwargsrepr=repr({"job_id": str(job.id)}),
    )


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def inference_jobs_record(*, outcomes: list[dict[str, Any]]) -> int:
    """Apply worker reports to open jobs; returns how many rows changed.

    An outcome is ``{"job_id", "status": "running"|"succeeded"|"failed", "worker",
    "batch_size", "attempt", "started_at", "finished_at"?, "inference_ms"?, "results"?,
    "error"?}`` with epoch-second times. Reports about finished jobs are ignored.
    """
    changed = 0
    with transaction.atomic():
        for outcome in outcomes:
            open_job = InferenceJob.objects.filter(id=outcome["job_id"], status__in=OPEN_STATUSES)
            common: dict[str, Any] = {
                "worker": outcome.get("worker", ""),
                "batch_size": outcome.get("batch_size"),
                "attempts": Greatest(F("attempts"), Value(outcome.get("attempt", 1))),
            }
            if started := _when(outcome.get("started_at")):
                common["started_at"] = Coalesce(F("started_at"), Value(started))
            if outcome["status"] == JobStatus.RUNNING:
                changed += open_job.update(status=JobStatus.RUNNING, **common)
            elif outcome["status"] == JobStatus.SUCCEEDED:
                changed += open_job.update(
                    status=JobStatus.SUCCEEDED,
                    results=outcome["results"],
                    inference_ms=outcome.get("inference_ms"),
                    finished_at=_when(outcome.get("finished_at")),
                    **common,
                )
            elif outcome["status"] == JobStatus.FAILED:
                changed += open_job.update(
                    status=JobStatus.FAILED,
                    error=outcome["error"],
                    finished_at=_when(outcome.get("finished_at")),
                    **common,
                )
            else:
                logger.warning("ignored outcome with status %r", outcome["status"])
    return changed


def inference_jobs_reconcile(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Re-send jobs still open a lease after they were last sent; fail those that have
    used up their attempts (poison), so one bad job cannot block the queue forever."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.INFERENCE_LEASE_SECONDS)
    stale = list(
        InferenceJob.objects.select_related("model_version__model")
        .filter(status__in=OPEN_STATUSES, enqueued_at__lt=cutoff)
        .order_by("enqueued_at")[:limit]
    )
    requeued = failed = 0
    for job in stale:
        if job.attempts >= settings.INFERENCE_MAX_ATTEMPTS:
            failed += InferenceJob.objects.filter(id=job.id, status__in=OPEN_STATUSES).update(
                status=JobStatus.FAILED,
                finished_at=now,
                error={
                    "type": "inference_failed",
                    "detail": f"The job stopped its worker {job.attempts} times and was given up.",
                },
            )
            continue
        if InferenceJob.objects.filter(id=job.id, status__in=OPEN_STATUSES).update(enqueued_at=now):
            transaction.on_commit(lambda job=job: inference_job_enqueue(job=job))
            requeued += 1
    if requeued or failed:
        logger.warning("reconciler re-sent %d and failed %d stuck jobs", requeued, failed)
    return {"requeued": requeued, "failed": failed}


def serving_manifest_publish() -> list[dict[str, Any]]:
    """Write the list of serving versions to the cache, where workers without a database
    read which models to warm. Call after any publish, deprecate or retire."""
    from django.core.cache import cache

    from apps.mlmodels.selectors import serving_manifest

    from .worker import MANIFEST_KEY

    manifest = serving_manifest()
    cache.set(MANIFEST_KEY, manifest, timeout=None)
    return manifest


def inference_job_outcome(*, job: InferenceJob) -> dict[str, Any] | None:
    """The worker's outcome if the result backend already has it (no waiting)."""
    from .tasks import classify

    result = classify.AsyncResult(str(job.id))
    if result.ready():
        outcome = result.get(propagate=False, disable_sync_subtasks=False)
        return outcome if isinstance(outcome, dict) else None
    return None


def inference_job_wait(*, job: InferenceJob, timeout: float) -> dict[str, Any] | None:
    """Wait up to ``timeout`` seconds for ``job``'s outcome from the result backend.

    Returns the worker's outcome (``status`` succeeded or failed) or ``None`` on timeout.
    With Redis this blocks on a pub/sub notification; it never polls the database.
    """
    from celery.exceptions import TimeoutError as CeleryTimeout

    from .tasks import classify

    if timeout <= 0:
        return None
    result = classify.AsyncResult(str(job.id))
    try:
        # Redis notifies waiters (pub/sub); the file backend of the embedded default is
        # polled, every 50 ms rather than Celery's default half second.
        outcome = result.get(timeout=timeout, interval=0.05, propagate=False, disable_sync_subtasks=False)
    except CeleryTimeout:
        return None
    return outcome if isinstance(outcome, dict) else None
