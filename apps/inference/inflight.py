"""Jobs in flight per paying subject, counted from submission to the stored outcome.

A plan's ``max_concurrent_jobs`` limits how many jobs a key (or user, or visitor) may have
between the moment it is accepted and the moment its outcome is stored, whatever the job
rows say: rows are written by the recording task a little later, and lag further after a
fault. So the count lives where the outcome is stored.

- Redis result backend (production): a sorted set per subject in the result backend's
  Redis, member = job id, score = when the entry lapses. Taking a slot is one Lua script
  (atomic: N parallel calls never exceed the limit); the worker removes the job in the
  same pipeline that stores its outcome, so the slot frees the instant a waiting caller
  can read the result. An entry lapses after ``IN_FLIGHT_SECONDS`` in case its job is
  lost for good.
- Any other result backend (the embedded default's files): the open rows of the
  subject whose outcome is not stored yet, counted inside the submitting transaction
  (SQLite takes its write lock at BEGIN, PostgreSQL an advisory lock on the subject), so
  the count and the new row are one step.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

KEY_PREFIX = "inference:inflight:"
# An accepted job counts for at most this long (the old row-based rule's window too).
IN_FLIGHT_SECONDS = 600
# The embedded default looks at this many of the subject's newest open rows.
FALLBACK_ROWS = 100

_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) + 60)
return 1
"""


def key_for(subject: str) -> str:
    return KEY_PREFIX + subject


def _backend() -> Any:
    from .tasks import classify

    return classify.backend


def _redis_client() -> Any | None:
    """The result backend's Redis client, or None where results are not kept in Redis."""
    from celery.backends.redis import RedisBackend

    backend = _backend()
    return backend.client if isinstance(backend, RedisBackend) else None


def counts_in_redis() -> bool:
    """Whether jobs in flight are counted in Redis (else from the database)."""
    return _redis_client() is not None


def inflight_acquire(*, subject: str, job_id: str, limit: int, open_jobs: Callable[[], QuerySet[Any]]) -> bool:
    """Count ``job_id`` as in flight for ``subject`` if fewer than ``limit`` are; returns
    whether it was counted.

    ``open_jobs()`` gives the subject's open job rows, built and read only without Redis; call this
    inside the transaction that writes the new job's row. Redis errors propagate (the
    API answers 503).
    """
    client = _redis_client()
    if client is not None:
        return bool(_acquire_script(client)(keys=[key_for(subject)], args=[limit, IN_FLIGHT_SECONDS, job_id]))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(subject.encode())])
    since = timezone.now() - timedelta(seconds=IN_FLIGHT_SECONDS)
    ids = [
        str(i)
        for i in open_jobs()
        .filter(queued_at__gte=since)
        .order_by("-queued_at")[:FALLBACK_ROWS]
        .values_list("id", flat=True)
    ]
    if len(ids) < limit:
        return True
    backend = _backend()
    pending = [job for job in ids if backend.get_task_meta(job).get("status") not in ("SUCCESS", "FAILURE")]
    return len(pending) < limit


@functools.cache
def _acquire_script(client: Any) -> Any:
    """The registered script, once per client (it hashes the source when built)."""
    return client.register_script(_ACQUIRE)


def inflight_release(*, subject: str, job_ids: Iterable[str]) -> None:
    """Stop counting ``job_ids`` (a submission that failed, a job failed without running)."""
    client = _redis_client()
    ids = list(job_ids)
    if client is not None and ids:
        client.zrem(key_for(subject), *ids)


def inflight_release_in(pipe: Any, outcomes: Iterable[dict[str, Any]]) -> None:
    """Add the removal of each finished outcome's job to a Redis ``pipe`` of the result
    backend (the worker's, storing those outcomes)."""
    for outcome in outcomes:
        if subject := outcome.get("subject"):
            pipe.zrem(key_for(subject), outcome["job_id"])
