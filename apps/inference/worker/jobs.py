"""A job as the worker sees it, the outcome message it publishes, and delivery counting.

Redelivery: a job's delivery count lives in the cache, so it survives the worker that
died running it. A job seen again is run on its own, after its neighbours, so a poison
input cannot take a whole batch down with it more than once; past
``INFERENCE_MAX_ATTEMPTS`` it fails without running (``flush.process``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from apps.core.clients import REDIS_UNAVAILABLE, redis_client

from ..results import given_up_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPT_KEY = "inference:attempt:"
# How long the worker remembers deliveries of a job.
MEMORY_SECONDS = 24 * 3600
# How long a flush keeps trying to read and store while Redis is away (a restart); past
# it the error propagates, the job stays open and the reconciler sends it again.
STORE_RETRY_SECONDS = 20.0

Outcome = dict[str, Any]


@dataclass
class Job:
    """One request of a flush."""

    id: str
    model: dict[str, Any]
    inputs: list[str]
    queued_at: float | None
    attempt: int = 1
    # Who pays for the job (its slot among the subject's jobs in flight); "" when untracked.
    subject: str = ""


def outcome(job: Job, status: str, *, hostname: str, batch_size: int, started: float, **extra: Any) -> Outcome:
    """The message that reports ``job`` (running, succeeded or failed) to the web side."""
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


def given_up(job: Job, *, hostname: str) -> Outcome:
    """The failed outcome of a job delivered more than ``INFERENCE_MAX_ATTEMPTS`` times."""
    now = time.time()
    error = given_up_error(job.attempt - 1)
    return outcome(job, "failed", hostname=hostname, batch_size=0, started=now, finished_at=now, error=error)


def _count_one(job_id: str) -> int:
    key = ATTEMPT_KEY + job_id
    cache.add(key, 0, timeout=MEMORY_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=MEMORY_SECONDS)
        return 1


def count_deliveries(job_ids: list[str]) -> dict[str, int]:
    """Count one more delivery of each job; returns each job's count so far.

    On Redis (the cache lives at ``REDIS_URL`` whenever that is set) one round trip covers
    the whole flush, INCR creating a missing counter at 1; the embedded default's file
    cache takes a few calls per job.
    """
    if not settings.REDIS_URL or not job_ids:
        return {job_id: _count_one(job_id) for job_id in job_ids}
    pipe = redis_client(settings.REDIS_URL).pipeline(transaction=False)
    for job_id in job_ids:
        key = cache.make_key(ATTEMPT_KEY + job_id)
        pipe.incr(key)
        pipe.expire(key, MEMORY_SECONDS)
    counts = pipe.execute()[::2]
    return {job_id: int(count) for job_id, count in zip(job_ids, counts, strict=True)}


def uncount_deliveries(job_ids: list[str]) -> None:
    """Take back this delivery of jobs a flush hands back without having started them
    (another part of the flush used up its time): it was no attempt of theirs."""
    for job_id in job_ids:
        try:
            cache.decr(ATTEMPT_KEY + job_id)
        except ValueError:  # forgotten meanwhile: nothing to take back
            continue


def retrying(call: Callable[[], T], *, what: str) -> T:
    """``call()``, again with backoff while Redis (broker, results, cache) is away, for up
    to ``STORE_RETRY_SECONDS``; then the error propagates. The outcome of a job that has
    run is worth waiting a few seconds for."""
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
