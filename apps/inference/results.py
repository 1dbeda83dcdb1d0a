"""Outcomes in the Celery result backend: storing them as a worker, reading them back.

No torch and no database here: the web side (waiting callers, the reconciler) and the
inference worker both use it.
"""

from __future__ import annotations

from typing import Any

# Publishing a message while Redis restarts: about a second of reconnecting, then the
# error (a submission answers 503; a worker keeps its reports and tries again later).
PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}


def given_up_error(attempts: int) -> dict[str, str]:
    """The error of a job failed after ``attempts`` deliveries, none of which finished it
    (its worker died, or the flush outran its time limit): the worker and the reconciler
    both write it."""
    return {
        "type": "inference_failed",
        "detail": f"The job stopped its worker or outran the time limit {attempts} times and was given up.",
    }


# Where publishing writes the serving versions that database-less workers warm from.
MANIFEST_KEY = "inference:manifest"


def store_results(backend: Any, outcomes: list[dict[str, Any]]) -> None:
    """Store each outcome as its job's task result and notify the callers waiting on it.

    On Redis this takes two round trips for the whole flush instead of three per job (the
    backend's own ``mark_as_done``), with the same rule: a result already stored as a
    success is kept, so the first outcome of a job wins.
    """
    from celery import states
    from celery.backends.redis import RedisBackend

    from .inflight import inflight_release_in

    if not outcomes:
        return
    if not isinstance(backend, RedisBackend):
        for outcome in outcomes:
            if backend.get_task_meta(outcome["job_id"]).get("status") != states.SUCCESS:
                backend.mark_as_done(outcome["job_id"], outcome)
        return
    redis_backend: Any = backend  # the stubs lack the backend's app and expires
    client = redis_backend.client
    keys = [backend.get_key_for_task(outcome["job_id"]) for outcome in outcomes]
    done_at = redis_backend.app.now().isoformat()
    pipe = client.pipeline(transaction=False)
    for key, outcome, stored in zip(keys, outcomes, client.mget(keys), strict=True):
        if stored is not None and backend.decode_result(stored).get("status") == states.SUCCESS:
            continue
        meta = {
            "status": states.SUCCESS,
            "result": outcome,
            "traceback": None,
            "children": [],
            "date_done": done_at,
            "task_id": outcome["job_id"],
        }
        value = backend.encode(meta)
        pipe.set(key, value, ex=redis_backend.expires or None)
        pipe.publish(key, value)
    # The same round trip frees each job's slot among its subject's jobs in flight.
    inflight_release_in(pipe, outcomes)
    pipe.execute()


def stored_outcomes(job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The outcomes the result backend already holds for ``job_ids``, by job id: one MGET
    on Redis. The backend, not a marker in the cache, says whether a job is done, so a
    worker that cannot reach the cache still never runs a finished job again; the
    reconciler reads it too, to catch rows up after a lost report."""
    from celery.backends.redis import RedisBackend

    from .tasks import classify

    backend = classify.backend
    if not job_ids:
        return {}
    if isinstance(backend, RedisBackend):
        raw = backend.client.mget([backend.get_key_for_task(job_id) for job_id in job_ids])
        metas = [backend.decode_result(value) if value is not None else {} for value in raw]
    else:
        metas = [backend.get_task_meta(job_id) for job_id in job_ids]
    stored = {}
    for job_id, meta in zip(job_ids, metas, strict=True):
        outcome = meta.get("result")
        if isinstance(outcome, dict) and outcome.get("job_id") == job_id:
            stored[job_id] = outcome
    return stored
