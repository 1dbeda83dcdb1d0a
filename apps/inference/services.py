"""Submitting inference jobs and recording what workers report.

Submission validates everything before a row or a message exists; the message is sent
after the transaction commits. Recording is a conditional update on open jobs, so a
redelivered or duplicated report changes nothing: a job finishes once.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Field, QuerySet, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from apps.apikeys.idempotency import idempotency_body_hash, idempotency_job_replay, idempotency_record_create
from apps.apikeys.limits import quota_consume, quota_refund
from apps.core.clients import REDIS_UNAVAILABLE
from apps.core.errors import ConcurrencyLimited, InvalidInput, QuotaExceeded, ServiceUnavailable
from apps.mlmodels.models import ModelVersion
from apps.mlmodels.selectors import model_version_serving, version_message

from .inflight import inflight_acquire, inflight_release
from .models import OPEN_STATUSES, InferenceJob, JobSource, JobStatus
from .results import PUBLISH_RETRY_POLICY, given_up_error

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
    job_id: uuid.UUID | None = None,
    subject: str = "",
) -> InferenceJob:
    """Create a job for ``inputs`` on the serving version of ``model`` and queue it.

    ``serving`` is that version where the caller has already looked it up (with
    ``model_version_serving(..., for_queue=True)``); ``subject`` names who pays, whose
    slot among jobs in flight the worker frees when it stores the outcome. Raises
    ``InvalidInput``, ``ModelNotFound`` or ``ModelRetired`` before anything is written or
    queued. The message is sent when the transaction commits (at once outside one); if
    the broker refuses it, that error propagates from the commit (see ``inference_classify``).
    """
    inputs = inference_inputs_validate(inputs)
    model_version = serving or model_version_serving(slug=model, version=version, for_queue=True)
    job = InferenceJob.objects.create(
        id=job_id or uuid.uuid4(),
        owner=owner if getattr(owner, "is_authenticated", False) else None,
        api_key=api_key,
        source=source,
        subject=subject,
        model_version=model_version,
        inputs=inputs,
        enqueued_at=timezone.now(),
    )
    transaction.on_commit(lambda: inference_job_enqueue(job=job))
    return job


def inference_job_enqueue(*, job: InferenceJob) -> None:
    """Send ``job`` to the inference queue. The message carries all a worker needs.

    The publish is retried briefly (reconnecting after a Redis restart), then raises one
    of ``PUBLISH_ERRORS``.
    """
    from .tasks import classify

    classify.apply_async(
        kwargs={
            "job_id": str(job.id),
            "model": version_message(job.model_version),
            "inputs": job.inputs,
            "queued_at": job.queued_at.timestamp(),
            "subject": job.subject,
        },
        task_id=str(job.id),
        # What monitoring tools and task events show of the message: the job, not the
        # user's texts (and no repr of them to build on every submission).
        argsrepr="()",
        kwargsrepr=repr({"job_id": str(job.id)}),
        retry_policy=PUBLISH_RETRY_POLICY,
    )


@dataclass(frozen=True)
class Payer:
    """Who a classify call is for and who pays: an API key, a signed-in user, or a
    visitor (no owner; the visitor's job ids come from the browser session).

    ``limits`` has ``inputs_per_month`` and ``max_concurrent_jobs`` (an APIKey or a Plan).
    """

    subject: str
    limits: Any
    owner: Any = None
    api_key: Any = None
    visitor_job_ids: tuple[str, ...] | None = None

    @property
    def source(self) -> str:
        return JobSource.API if self.api_key is not None else JobSource.PLAYGROUND

    def open_jobs(self) -> QuerySet[InferenceJob]:
        """This payer's open job rows (what the embedded default counts as in flight)."""
        jobs = InferenceJob.objects.filter(status__in=OPEN_STATUSES)
        if self.visitor_job_ids is not None:
            return jobs.filter(id__in=list(self.visitor_job_ids), owner__isnull=True)
        if self.api_key is not None:
            return jobs.filter(api_key=self.api_key)
        return jobs.filter(owner=self.owner, api_key__isnull=True)


def inference_classify(
    *,
    payer: Payer,
    model: str,
    inputs: list[str],
    version: int | None = None,
    idempotency_key: str = "",
    charge: Callable[[], object] | None = None,
) -> InferenceJob:
    """The whole of a classify call before waiting: the model, the idempotent replay,
    the payer's jobs in flight, ``charge`` (a visitor's hourly allowance), the monthly
    quota, the job and its idempotency record, and the queue message. All or nothing:

    - Refusals (``ModelNotFound``, ``ModelRetired``, ``IdempotencyConflict``,
      ``ConcurrencyLimited``, ``QuotaExceeded``, whatever ``charge`` raises) leave nothing
      behind: the quota is taken in the transaction that writes the job.
    - A database error rolls the whole transaction back and propagates.
    - A broker that refuses the message (``ServiceUnavailable``): the committed job and
      its record are deleted and the quota refunded, so the job never runs, and a retry
      with the same Idempotency-Key starts afresh.
    The same ``idempotency_key`` and body within a day return the first job.
    """
    serving = model_version_serving(slug=model, version=version, for_queue=True)
    body_hash = idempotency_body_hash(model=model, inputs=inputs, version=version) if idempotency_key else ""
    if idempotency_key:
        existing = idempotency_job_replay(subject=payer.subject, key=idempotency_key, body_hash=body_hash)
        if existing is not None:
            return existing
    job_id = uuid.uuid4()
    limit = payer.limits.max_concurrent_jobs
    committed = False
    try:
        with transaction.atomic():
            # The row and its idempotency record first: a parallel request with the same
            # key waits on the record's unique index and then replays this job, without
            # ever taking a slot or quota of its own.
            job = inference_job_submit(
                owner=payer.owner,
                model=model,
                inputs=inputs,
                version=version,
                api_key=payer.api_key,
                source=payer.source,
                serving=serving,
                job_id=job_id,
                subject=payer.subject,
            )
            if idempotency_key:
                idempotency_record_create(subject=payer.subject, key=idempotency_key, body_hash=body_hash, job=job)
            others = functools.partial(_open_jobs_except, payer, job_id)  # read only without Redis
            if not inflight_acquire(subject=payer.subject, job_id=str(job_id), limit=limit, open_jobs=others):
                raise ConcurrencyLimited(f"At most {limit} jobs may be in flight; wait for one to finish.")
            if charge is not None:
                charge()  # after every other check: a refused call costs the visitor no try
            quota = quota_consume(subject=payer.subject, limit=payer.limits.inputs_per_month, amount=len(inputs))
            if not quota.allowed:
                raise QuotaExceeded(
                    f"This month's quota of {quota.limit} inputs is used up ({quota.used} used). "
                    "Ask for a higher plan at /account/keys/."
                )
            committed = True  # the message goes as the block commits
    except IntegrityError:
        # A parallel request with the same Idempotency-Key won the race: its job answers.
        _free_slot(payer=payer, job_id=job_id)
        existing = idempotency_job_replay(subject=payer.subject, key=idempotency_key, body_hash=body_hash)
        if existing is None:
            raise
        return existing
    except REDIS_UNAVAILABLE as exc:
        _release_unqueued(payer=payer, job_id=job_id, amount=len(inputs), committed=committed)
        raise ServiceUnavailable("The job queue cannot be reached right now; nothing was queued or charged.") from exc
    except BaseException:
        _free_slot(payer=payer, job_id=job_id)
        raise
    return job


def _open_jobs_except(payer: Payer, job_id: uuid.UUID) -> QuerySet[InferenceJob]:
    return payer.open_jobs().exclude(id=job_id)


def _release_unqueued(*, payer: Payer, job_id: uuid.UUID, amount: int, committed: bool) -> None:
    """Undo a submission whose message never reached the broker."""
    if committed:
        with transaction.atomic():
            # Its idempotency record goes with it (CASCADE).
            if InferenceJob.objects.filter(id=job_id, status=JobStatus.QUEUED).delete()[0]:
                quota_refund(subject=payer.subject, amount=amount)
    _free_slot(payer=payer, job_id=job_id)


def _free_slot(*, payer: Payer, job_id: uuid.UUID) -> None:
    try:
        inflight_release(subject=payer.subject, job_ids=[str(job_id)])
    except REDIS_UNAVAILABLE:  # Redis is away: the slot lapses on its own
        logger.warning("could not free the in-flight slot of job %s", job_id)


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def inference_jobs_record(*, outcomes: list[dict[str, Any]]) -> int:
    """Apply worker reports to open jobs; returns how many rows changed.

    An outcome is ``{"job_id", "status": "running"|"succeeded"|"failed", "worker",
    "batch_size", "attempt", "started_at", "finished_at"?, "inference_ms"?, "results"?,
    "error"?}`` with epoch-second times. Reports about finished jobs are ignored, and of
    two outcomes of one job in ``outcomes`` the first finished one counts (a "running"
    report only where none finished). Two UPDATE statements at most, whatever the number
    of outcomes: one for jobs now running, one for jobs now finished.
    """
    running: dict[str, dict[str, Any]] = {}
    finished: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        if outcome["status"] in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            finished.setdefault(outcome["job_id"], outcome)
        elif outcome["status"] == JobStatus.RUNNING:
            running[outcome["job_id"]] = outcome
        else:
            logger.warning("ignored outcome with status %r", outcome["status"])
    running = {job_id: o for job_id, o in running.items() if job_id not in finished}
    changed = 0
    with transaction.atomic():
        if running:
            changed += _open_jobs_update(running, status=lambda _o: JobStatus.RUNNING, finished=False)
        if finished:
            changed += _open_jobs_update(finished, status=lambda o: o["status"], finished=True)
    return changed


def _open_jobs_update(
    outcomes: dict[str, dict[str, Any]], *, status: Callable[[dict[str, Any]], str], finished: bool
) -> int:
    """One UPDATE of the still-open rows among ``outcomes``' jobs: each column a CASE on
    the job id, keeping the column as it is for a job whose outcome does not set it.

    The jobs of one flush share most values (status, worker, batch size, times), so each
    column's CASE has one branch per distinct value (``id IN (...)``), and a column that
    every job sets to the same value is set without one: building one branch per job and
    column cost more CPU than the row-by-row UPDATEs it replaced."""
    # column -> value key -> (expression, job ids); results and errors are per job.
    values: dict[str, dict[Any, tuple[Any, list[str]]]] = defaultdict(dict)

    def put(column: str, key: Any, expression: Any, job_id: str) -> None:
        values[column].setdefault(key, (expression, []))[1].append(job_id)

    for job_id, outcome in outcomes.items():
        put("status", state := status(outcome), Value(state), job_id)
        put("worker", worker := outcome.get("worker", ""), Value(worker), job_id)
        put("batch_size", size := outcome.get("batch_size"), Value(size), job_id)
        attempt = outcome.get("attempt", 1)
        put("attempts", attempt, Greatest(F("attempts"), Value(attempt)), job_id)
        if started := _when(outcome.get("started_at")):
            put("started_at", started, Coalesce(F("started_at"), Value(started)), job_id)
        if finished:
            put("finished_at", at := _when(outcome.get("finished_at")), Value(at), job_id)
        if outcome["status"] == JobStatus.SUCCEEDED:
            put("results", job_id, Value(outcome["results"]), job_id)
            put("inference_ms", ms := outcome.get("inference_ms"), Value(ms), job_id)
        elif outcome["status"] == JobStatus.FAILED:
            put("error", job_id, Value(outcome["error"]), job_id)
    columns = {}
    for name, groups in values.items():
        field = InferenceJob._meta.get_field(name)
        assert isinstance(field, Field)  # a column of the table, not a relation's reverse
        if len(groups) == 1 and len(next(iter(groups.values()))[1]) == len(outcomes):
            columns[name] = _typed(next(iter(groups.values()))[0], field)  # the same for every job
            continue
        whens = [When(id__in=ids, then=_typed(expression, field)) for expression, ids in groups.values()]
        columns[name] = Case(*whens, default=F(name), output_field=field)
    return InferenceJob.objects.filter(id__in=list(outcomes), status__in=OPEN_STATUSES).update(**columns)


def _typed(expression: Any, field: Field[Any, Any]) -> Any:
    if isinstance(expression, Value):
        return Value(expression.value, output_field=field)
    return expression


# Open rows older than this are compared with the result backend on each reconcile: by
# then a healthy worker's report has normally been written.
CATCH_UP_AFTER_SECONDS = 1.0


def inference_jobs_reconcile(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Bring open job rows in line with what happened, safe with any number of
    reconcilers at once (rows are taken with ``SKIP LOCKED``):

    1. Rows whose outcome the result backend already holds (a report lost to a broker
       fault or a killed worker) take that outcome now, not a lease later.
    2. Rows still open a lease after they were last sent are sent again, or failed if
       they used up their attempts (poison), so one bad job cannot block the queue.
       Right after the broker's Redis restarted, every open row sent before it without a
       stored outcome is sent again at once. A duplicate message is harmless: the worker
       runs a job once per flush and skips one whose outcome is stored.
    """
    now = now or timezone.now()
    caught_up = _catch_up(now=now, limit=limit)
    # After the broker's Redis restarted, a message it handed out just before going down
    # may be in no queue at all (kombu pops it, then notes it unacknowledged): every job
    # sent before the restart is due again now, not a lease later.
    restarted = _broker_restarted()
    lease = CATCH_UP_AFTER_SECONDS if restarted else settings.INFERENCE_LEASE_SECONDS
    cutoff = now - timedelta(seconds=lease)
    requeued = failed = 0
    with transaction.atomic():
        stale = list(
            InferenceJob.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("model_version__model")
            .filter(status__in=OPEN_STATUSES, enqueued_at__lt=cutoff)
            .order_by("enqueued_at")[:limit]
        )
        if restarted and stale:
            # Those whose outcome is stored are caught up on the next round instead.
            from .results import stored_outcomes

            done = stored_outcomes([str(job.id) for job in stale])
            stale = [job for job in stale if str(job.id) not in done]
        poison = [job for job in stale if job.attempts >= settings.INFERENCE_MAX_ATTEMPTS]
        for job in poison:
            failed += InferenceJob.objects.filter(id=job.id, status__in=OPEN_STATUSES).update(
                status=JobStatus.FAILED,
                finished_at=now,
                error=given_up_error(job.attempts),
            )
        resend = [job for job in stale if job not in poison]
        if resend:
            requeued = InferenceJob.objects.filter(id__in=[job.id for job in resend]).update(enqueued_at=now)
            transaction.on_commit(lambda: _resend(resend))
    for job in poison:
        if job.subject:
            inflight_release(subject=job.subject, job_ids=[str(job.id)])
    if requeued or failed or caught_up:
        logger.warning("reconciler recorded %d, re-sent %d and failed %d stuck jobs", caught_up, requeued, failed)
    return {"recorded": caught_up, "requeued": requeued, "failed": failed}


# Where the reconciler notes which Redis server (its run id) held the queue last time.
BROKER_RUN_ID_KEY = "inference:broker-run-id"


def _broker_restarted() -> bool:
    """Whether the broker's Redis is another run than at the previous reconcile (it
    restarted). False on the first look, without Redis, and while Redis cannot be read."""
    from portal.celery import app

    if not app.conf.broker_url.startswith(("redis://", "rediss://")):
        return False
    try:
        with app.connection_for_write() as conn:
            channel: Any = conn.default_channel  # kombu's Redis channel (the stubs know the base only)
            client = channel.client
            run_id = client.info("server")["run_id"]
            previous = client.getset(BROKER_RUN_ID_KEY, run_id)
    except REDIS_UNAVAILABLE:
        return False
    if previous is not None and previous.decode() != run_id:
        logger.warning("the broker's Redis restarted: re-sending jobs sent before it")
        return True
    return False


def _resend(jobs: list[InferenceJob]) -> None:
    for job in jobs:
        try:
            inference_job_enqueue(job=job)
        except REDIS_UNAVAILABLE:  # the next round sends it again, a lease later
            logger.warning("could not re-send job %s", job.id, exc_info=True)


def _catch_up(*, now: datetime, limit: int) -> int:
    """Write stored outcomes into rows still open; returns how many rows changed."""
    from .results import stored_outcomes

    with transaction.atomic():
        ids = list(
            InferenceJob.objects.select_for_update(skip_locked=True)
            .filter(status__in=OPEN_STATUSES, enqueued_at__lt=now - timedelta(seconds=CATCH_UP_AFTER_SECONDS))
            .order_by("enqueued_at")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        outcomes = list(stored_outcomes([str(i) for i in ids]).values())
        return inference_jobs_record(outcomes=outcomes) if outcomes else 0


def serving_manifest_publish() -> list[dict[str, Any]]:
    """Write the list of serving versions to the cache, where workers without a database
    read which models to warm. Call after any publish, deprecate or retire."""
    from django.core.cache import cache

    from apps.mlmodels.selectors import serving_manifest

    from .results import MANIFEST_KEY

    manifest = serving_manifest()
    cache.set(MANIFEST_KEY, manifest, timeout=None)
    return manifest


def serving_manifest_ensure() -> bool:
    """Write the manifest again if the cache lost it (a Redis restart empties it), so that
    the next worker to start warms the serving models; True when it was rewritten. The
    reconciler calls it on every tick."""
    from django.core.cache import cache

    from .results import MANIFEST_KEY

    if cache.get(MANIFEST_KEY) is not None:
        return False
    serving_manifest_publish()
    return True


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

    Returns the worker's outcome (``status`` succeeded or failed) or ``None`` on timeout,
    or at once when the result backend cannot be reached (the job is accepted all the
    same: the caller answers 202 and the client polls). With Redis this blocks on a
    pub/sub notification; it never polls the database.
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
    except REDIS_UNAVAILABLE:
        logger.warning("result backend unreachable while waiting for job %s", job.id)
        return None
    return outcome if isinstance(outcome, dict) else None
