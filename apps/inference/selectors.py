from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

from apps.core.stats import percentiles

from .heartbeat import KEY_PREFIX, REGISTRY_KEY


def worker_list_live(*, queue: str | None = None) -> list[dict[str, Any]]:
    """Workers whose heartbeat is fresh, optionally only those consuming ``queue``."""
    registry: dict[str, float] = cache.get(REGISTRY_KEY) or {}
    if not registry:
        return []
    records = cache.get_many([KEY_PREFIX + name for name in registry])
    now = time.time()
    ttl = settings.WORKER_HEARTBEAT_TTL
    live = [r for r in records.values() if now - r.get("last_seen", 0) < ttl]
    if queue is not None:
        live = [r for r in live if queue in r.get("queues", [])]
    return sorted(live, key=lambda r: r["hostname"])


def queue_depth(queue: str) -> int | None:
    """Messages waiting in ``queue`` (not counting those a worker holds), or None if unknown."""
    from portal.celery import app

    try:
        with app.connection_for_read() as conn:
            channel: Any = conn.default_channel  # the stubs know the base channel only
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except Exception:
        return None


def inference_stats(*, minutes: int = 15) -> dict[str, Any]:
    """Jobs per minute and latency percentiles (queue wait, inference, total) over the
    last ``minutes``, plus queue depth and live workers: for /readyz and the admin."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.celery import INFERENCE_QUEUE

    from .models import InferenceJob, JobStatus

    since = timezone.now() - timedelta(minutes=minutes)
    rows = list(
        InferenceJob.objects.filter(finished_at__gte=since, status=JobStatus.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("queued_at", "started_at", "finished_at", "inference_ms")[:5000]
    )
    queued = [(s - q).total_seconds() * 1000 for q, s, _f, _i in rows if s]
    total = [(f - q).total_seconds() * 1000 for q, _s, f, _i in rows if f]
    inference = [i for *_rest, i in rows if i is not None]
    return {
        "window_minutes": minutes,
        "jobs": len(rows),
        "jobs_per_minute": round(len(rows) / minutes, 2),
        "latency_ms": {
            "queue": percentiles(queued, ndigits=1),
            "inference": percentiles(inference, ndigits=1),
            "total": percentiles(total, ndigits=1),
        },
        "queue_depth": queue_depth(INFERENCE_QUEUE),
        "workers": worker_list_live(queue=INFERENCE_QUEUE),
    }


def job_get_visible(*, job_id: Any, viewer: Any) -> Any:
    """The job if ``viewer`` owns it; anyone else gets ``NotFound`` (not 403: the job's
    existence is not theirs to learn)."""
    import uuid

    from apps.core.errors import NotFound

    from .models import InferenceJob

    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("No job has this id.") from None
    job = (
        InferenceJob.objects.select_related("model_version__model")
        .filter(id=key, owner__isnull=False, owner=getattr(viewer, "pk", None))
        .first()
    )
    if job is None:
        raise NotFound("No job has this id, or it is not yours.")
    return job
