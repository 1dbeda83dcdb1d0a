"""The inference worker's unit of work, with no database: messages in, results out.

A flush of the batched task hands over up to ``INFERENCE_BATCH_SIZE`` requests. They are
grouped by model version and each group runs as few forward passes as its size allows
(inputs sorted by length, cut into chunks). Results go to the result backend (for callers
waiting on the job) and, in one small message per group, to the recording task on the
default queue, which writes the job rows.

Redelivery: a job's delivery count lives in the cache. A job seen again after its worker
died is run on its own, after its neighbours, so a poison input cannot take a whole batch
down with it more than once; past ``INFERENCE_MAX_ATTEMPTS`` it fails without running.
A job whose outcome the result backend already holds is skipped, so a redelivered
message runs nothing twice.

Faults: while Redis is away (a restart), a flush keeps trying to read and store for up to
``STORE_RETRY_SECONDS``; reports the broker refuses are kept and sent again; and after
every reconnect the event loop's timers (the batch flush, the report flush) are armed
anew on the new loop (``batching.InferenceBatches.Strategy``).

Reports to the web side are gathered over ``INFERENCE_RECORD_DELAY_MS`` into one message.
Jobs are reported "running" before a flush only when the flush is expected to take longer
than ``INFERENCE_RUNNING_REPORT_MS`` (from the time per character of the model's earlier
passes on this worker; a model not yet timed always reports). A short flush goes straight
to its outcome: a status that would last a few milliseconds is not worth a database write.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache

from apps.core.clients import REDIS_UNAVAILABLE
from apps.mlmodels.runtime import ClassifierCache, configure_threads, resolve_device

from .heartbeat import worker_info_update
from .results import MANIFEST_KEY, PUBLISH_RETRY_POLICY, store_results, stored_outcomes

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST_KEY", "Job", "flush_records", "process", "stored_outcomes", "warm_up"]

ATTEMPT_KEY = "inference:attempt:"
# How long the worker remembers deliveries of a job.
MEMORY_SECONDS = 24 * 3600

_classifiers: ClassifierCache | None = None
# Milliseconds of forward pass per input character, per model version (moving average).
_ms_per_char: dict[Any, float] = {}


def classifiers() -> ClassifierCache:
    global _classifiers
    if _classifiers is None:
        configure_threads(settings.TORCH_NUM_THREADS)
        _classifiers = ClassifierCache(
            settings.INFERENCE_MODEL_CACHE_SIZE, device=resolve_device(settings.INFERENCE_DEVICE)
        )
    return _classifiers


def artifact_path(artifact_dir: str) -> Path:
    path = Path(artifact_dir)
    return path if path.is_absolute() else Path(settings.MODEL_ARTIFACTS_DIR) / path


@dataclass
class Job:
    """One request of a flush, as the worker sees it."""

    id: str
    model: dict[str, Any]
    inputs: list[str]
    queued_at: float | None
    attempt: int = 1
    # Who pays for the job (its slot among the subject's jobs in flight); "" when untracked.
    subject: str = ""


def _redis_cache() -> Any:
    """A client on the cache's Redis database, or None without Redis (the embedded default's
    file cache). The cache lives at ``REDIS_URL`` whenever that is set (settings)."""
    if not settings.REDIS_URL:
        return None
    from apps.core.clients import redis_client

    return redis_client(settings.REDIS_URL)


def _attempt(job_id: str) -> int:
    key = ATTEMPT_KEY + job_id
    cache.add(key, 0, timeout=MEMORY_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=MEMORY_SECONDS)
        return 1


def _attempts(job_ids: list[str]) -> dict[str, int]:
    """Count one more delivery of each job; returns each job's count so far.

    On Redis one round trip covers the whole flush (INCR creates a missing counter at 1);
    other caches take a few calls per job.
    """
    client = _redis_cache()
    if client is None or not job_ids:
        return {job_id: _attempt(job_id) for job_id in job_ids}
    pipe = client.pipeline(transaction=False)
    for job_id in job_ids:
        key = cache.make_key(ATTEMPT_KEY + job_id)
        pipe.incr(key)
        pipe.expire(key, MEMORY_SECONDS)
    counts = pipe.execute()[::2]
    return {job_id: int(count) for job_id, count in zip(job_ids, counts, strict=True)}


# Outcomes waiting to go to the recording task, and how to send them later: the batched
# task installs the worker's event-loop timer (``use_timer``); without one (a direct call)
# every report goes at once.
_unrecorded: list[dict[str, Any]] = []
_schedule: Any = None
_record_due = False
_record_lock = threading.Lock()
RECORD_MAX_OUTCOMES = 512


# Seconds before outcomes that could not be sent are tried again.
RECORD_RETRY_SECONDS = 1.0


def use_timer(schedule: Any) -> None:
    """Let ``schedule(seconds, callback)`` delay recording (the worker's event loop).

    Called again after every reconnect: the event loop drops its timers with the old
    connection, so a report that was due is scheduled anew on the new timer.
    """
    global _schedule, _record_due
    with _record_lock:
        _schedule = schedule
        pending = bool(_unrecorded)
        _record_due = pending
    if pending:
        schedule(settings.INFERENCE_RECORD_DELAY_MS / 1000, flush_records)


def _record(outcomes: list[dict[str, Any]]) -> None:
    """Send ``outcomes`` to the recording task, gathered over ``INFERENCE_RECORD_DELAY_MS``.

    One message (and one transaction on the web side) then covers every flush of that
    window. Delayed outcomes are safe: callers already have them from the result backend,
    and if the worker dies first the reconciler re-sends the job, whose finished outcome
    the next worker records again (``process``).
    """
    global _record_due
    if not outcomes:
        return
    delay = settings.INFERENCE_RECORD_DELAY_MS / 1000
    with _record_lock:  # the timer may run in its own thread (transports without an event loop)
        _unrecorded.extend(outcomes)
        now = _schedule is None or delay <= 0 or len(_unrecorded) >= RECORD_MAX_OUTCOMES
        later = not now and not _record_due
        _record_due = _record_due or later
    if now:
        flush_records()
    elif later:
        _schedule(delay, flush_records)


def flush_records() -> None:
    """Send every outcome not yet sent to the recording task (also at worker shutdown).

    If the broker refuses the message, the outcomes go back to the front of the queue and
    are tried again ``RECORD_RETRY_SECONDS`` later; the error propagates only without a
    timer (a direct call, or shutdown), where the reconciler takes over.
    """
    global _record_due
    from .tasks import record

    with _record_lock:
        _record_due = False
        outcomes = list(_unrecorded)
        _unrecorded.clear()
    if not outcomes:
        return
    try:
        record.apply_async(args=[outcomes], retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:
        with _record_lock:
            _unrecorded[:0] = outcomes
            retry = _schedule is not None and not _record_due
            _record_due = _record_due or retry
        if not retry:
            raise
        logger.warning("could not send %d outcomes to the recording task; retrying", len(outcomes), exc_info=True)
        _schedule(RECORD_RETRY_SECONDS, flush_records)


def _publish(outcomes: list[dict[str, Any]]) -> None:
    """Hand outcomes to waiting callers (result backend) and to the web side (recording)."""
    from .tasks import classify

    if not outcomes:
        return
    finished = [o for o in outcomes if o["status"] in ("succeeded", "failed")]
    # Failed jobs are stored as a result too: the payload says "failed" and why, and a
    # waiting caller reads it like any other outcome.
    _store_until_stored(classify.backend, finished)
    _record(outcomes)


# How long a flush keeps trying to store its outcomes while the result backend is away
# (a Redis restart); past it the job stays open and the reconciler sends it again.
STORE_RETRY_SECONDS = 20.0


def _store_until_stored(backend: Any, outcomes: list[dict[str, Any]]) -> None:
    """``store_results``, retried while the backend cannot be reached: the outcome of a
    job that has run is worth waiting a few seconds for."""
    _retrying(lambda: store_results(backend, outcomes), what=f"storing {len(outcomes)} outcomes")


def _retrying(call: Any, *, what: str) -> Any:
    """``call()``, again with backoff while Redis (broker, results, cache) is away, for up
    to ``STORE_RETRY_SECONDS``; then the error propagates."""
    deadline = time.monotonic() + STORE_RETRY_SECONDS
    pause = 0.1
    while True:
        try:
            return call()
        except REDIS_UNAVAILABLE:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("Redis unreachable while %s; again in %.1f s", what, pause)
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _outcome(job: Job, status: str, hostname: str, batch_size: int, started: float, **extra: Any) -> dict[str, Any]:
    if job.subject:
        extra["subject"] = job.subject
    return {
        "job_id": job.id,
        "status": status,
        "worker": hostname,
        "batch_size": batch_size,
        "attempt": job.attempt,
        "started_at": started,
        "queued_at": job.queued_at,
        "model": job.model["slug"],
        "version": job.model["version"],
        **extra,
    }


def expected_ms(jobs: list[Job]) -> float | None:
    """How long a group of one model version's jobs should take, or None if not yet known."""
    rate = _ms_per_char.get(jobs[0].model["version_id"])
    return None if rate is None else rate * sum(len(text) for job in jobs for text in job.inputs)


def reports_running(batches: list[list[Job]], *, suspects: bool) -> bool:
    """Whether a flush marks its jobs running first: when it holds redelivered jobs, a model
    not yet timed here, or more work than ``INFERENCE_RUNNING_REPORT_MS``."""
    estimates = [expected_ms(batch) for batch in batches]
    if suspects or None in estimates:
        return True
    return sum(e for e in estimates if e is not None) > settings.INFERENCE_RUNNING_REPORT_MS


def _learn(version_id: Any, texts: list[str], inference_ms: float) -> None:
    chars = sum(len(text) for text in texts)
    if chars:
        rate = inference_ms / chars
        old = _ms_per_char.get(version_id)
        _ms_per_char[version_id] = rate if old is None else 0.8 * old + 0.2 * rate


def run_group(jobs: list[Job], *, hostname: str) -> list[dict[str, Any]]:
    """One model version's jobs in as few forward passes as possible; never raises."""
    started = time.time()
    group = uuid.uuid4().hex
    texts = [text for job in jobs for text in job.inputs]
    model = jobs[0].model
    try:
        classifier = classifiers().get(artifact_path(model["artifact_dir"]), max_length=model.get("max_length"))
        predictions, timing = classifier.predict_timed(texts)
    except Exception as exc:  # the job fails with a clear error; the worker goes on
        logger.exception("inference failed for %s v%s", model["slug"], model["version"])
        finished = time.time()
        error = {"type": "inference_failed", "detail": f"The model could not run: {type(exc).__name__}."}
        return [
            _outcome(job, "failed", hostname, len(texts), started, finished_at=finished, error=error) for job in jobs
        ]
    finished = time.time()
    _learn(model["version_id"], texts, timing.inference_ms)
    worker_info_update(models=sorted({Path(p).parent.name + "/" + Path(p).name for p in classifiers().loaded()}))
    outcomes = []
    offset = 0
    for job in jobs:
        own = predictions[offset : offset + len(job.inputs)]
        offset += len(job.inputs)
        outcomes.append(
            _outcome(
                job,
                "succeeded",
                hostname,
                len(texts),
                started,
                finished_at=finished,
                inference_ms=round(timing.inference_ms, 3),
                forward_passes=timing.forward_passes,
                group=group,
                results=[p.as_json() for p in own],
            )
        )
    return outcomes


def process(jobs: Iterable[Job], *, hostname: str) -> list[dict[str, Any]]:
    """The worker's unit of work for one flush. Returns every outcome it published."""
    # One job once per flush: after a reconnect the broker can hand back a message the
    # worker still holds unacknowledged, and both copies may land in one flush.
    unique: dict[str, Job] = {}
    for job in jobs:
        unique.setdefault(job.id, job)
    jobs = list(unique.values())
    fresh, suspects = [], []
    # A redelivered message of a finished job runs nothing; its stored outcome is recorded
    # again, in case the worker that finished it died before its report was sent.
    stored = _retrying(lambda: stored_outcomes([job.id for job in jobs]), what="reading stored outcomes")
    published = list(stored.values())
    _record(published)
    jobs = [job for job in jobs if job.id not in stored]
    attempts = _retrying(lambda: _attempts([job.id for job in jobs]), what="counting deliveries")
    for job in jobs:
        job.attempt = attempts[job.id]
        if job.attempt > settings.INFERENCE_MAX_ATTEMPTS:
            error = {
                "type": "inference_failed",
                "detail": f"The job stopped its worker {job.attempt - 1} times and was given up.",
            }
            now = time.time()
            outcome = _outcome(job, "failed", hostname, 0, now, finished_at=now, error=error)
            _publish([outcome])
            published.append(outcome)
        elif job.attempt > 1:
            suspects.append(job)
        else:
            fresh.append(job)

    groups: dict[Any, list[Job]] = defaultdict(list)
    for job in fresh:
        groups[job.model["version_id"]].append(job)
    batches = list(groups.values()) + [[job] for job in suspects]
    now = time.time()
    if reports_running(batches, suspects=bool(suspects)):
        from .tasks import record

        running = [
            _outcome(job, "running", hostname, sum(len(j.inputs) for j in batch), now)
            for batch in batches
            for job in batch
        ]
        try:
            record.apply_async(args=[running], retry_policy=PUBLISH_RETRY_POLICY)  # at once: the outcomes come later
        except Exception:  # only a status on the way to the outcome: never worth a lost flush
            logger.warning("could not report %d jobs running", len(running), exc_info=True)
    for batch in batches:
        outcomes = run_group(batch, hostname=hostname)
        _publish(outcomes)  # before the next group: a later crash cannot lose these
        published.extend(outcomes)
    return published


def warm_up(manifest: list[dict[str, Any]] | None = None) -> list[str]:
    """Load the serving models before the first request; returns what was loaded."""
    if manifest is None:
        manifest = cache.get(MANIFEST_KEY)
    if manifest is None:
        manifest = _manifest_from_database()
    loaded = []
    for entry in manifest[: settings.INFERENCE_MODEL_CACHE_SIZE]:
        try:
            classifiers().get(artifact_path(entry["artifact_dir"]), max_length=entry.get("max_length"))
            loaded.append(f"{entry['slug']}/v{entry['version']}")
        except Exception:
            logger.warning("could not warm %s v%s", entry.get("slug"), entry.get("version"), exc_info=True)
    worker_info_update(device=classifiers().device, models=loaded)
    return loaded


def _manifest_from_database() -> list[dict[str, Any]]:
    # Only where the worker happens to have the database (the embedded default); GPU
    # hosts have none and rely on the manifest in the cache.
    try:
        from apps.mlmodels.selectors import serving_manifest

        return serving_manifest()
    except Exception:
        logger.info("no serving manifest in the cache and no database: nothing to warm")
        return []


class WorkerConfigError(RuntimeError):
    pass


def check_worker_config() -> None:
    """Refuse to run with settings that would lose jobs.

    - Redis must not evict keys (``maxmemory-policy noeviction``): an evicted queue entry
      or unacked record is a lost job.
    - Broker and result backend must share one visibility timeout, longer than the
      inference hard time limit, or a slow batch is delivered twice while it runs.
    """
    from portal.celery import INFERENCE_QUEUE, app, time_limits

    broker_options = app.conf.broker_transport_options or {}
    if app.conf.broker_url.startswith(("redis://", "rediss://")):
        import redis

        from apps.core.clients import redis_client

        client = redis_client(app.conf.broker_url, socket_timeout=5)
        try:
            policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
        except redis.ResponseError:
            policy = None  # CONFIG is disabled on some managed Redis; say so and go on
            logger.warning("cannot read Redis maxmemory-policy; make sure it is noeviction")
        if policy is not None and policy != "noeviction":
            raise WorkerConfigError(
                f"Redis maxmemory-policy is {policy!r}; the inference queue needs 'noeviction' "
                "(evicted keys are lost jobs). Run: redis-cli CONFIG SET maxmemory-policy noeviction"
            )
        broker_timeout = broker_options.get("visibility_timeout")
        result_options = app.conf.result_backend_transport_options or {}
        result_timeout = result_options.get("visibility_timeout", broker_timeout)
        if str(app.conf.result_backend or "").startswith("redis") and result_timeout != broker_timeout:
            raise WorkerConfigError(
                f"broker visibility_timeout ({broker_timeout}) and result backend visibility_timeout "
                f"({result_timeout}) disagree; set CELERY_VISIBILITY_TIMEOUT once for both"
            )
        hard_limit = time_limits(INFERENCE_QUEUE)[1]
        if broker_timeout is None or broker_timeout <= hard_limit:
            raise WorkerConfigError(
                f"visibility_timeout ({broker_timeout}) must exceed the inference hard time limit ({hard_limit} s)"
            )
