"""Worker heartbeats kept in the shared cache.

Each worker process announces itself every ``WORKER_HEARTBEAT_TTL / 3`` seconds under its
own key with a TTL; a worker that dies simply stops beating and drops out of the list.
GPU hosts need only the cache (Redis), never the database. The registry of names is
rewritten on every beat, so a lost concurrent update heals itself on the next one.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

REGISTRY_KEY = "workers:registry"
KEY_PREFIX = "workers:hb:"


class _Beating:
    """This process's heartbeats: one stop event per worker, and where details come from."""

    def __init__(self) -> None:
        self.stop_events: dict[str, threading.Event] = {}
        self.details: Callable[[], dict[str, Any]] = dict


_beating = _Beating()


def worker_details_source(source: Callable[[], dict[str, Any]]) -> None:
    """Have every heartbeat of this process carry ``source()``, in place of any earlier
    source: the inference worker's device, loaded models and watchdog verdict
    (``batching.InferenceBatches.details``)."""
    _beating.details = source


def _details() -> dict[str, Any]:
    try:
        return _beating.details()
    except Exception:  # a probe must never stop the heartbeat
        logger.warning("worker details probe failed", exc_info=True)
        return {}


def queues_of(consumer: Any) -> list[str]:
    try:
        return sorted(q.name for q in consumer.task_consumer.queues)
    except AttributeError:
        return []


def heartbeat_write(
    *, hostname: str, queues: list[str], started_at: float, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Announce this worker with ``details`` (by default this process's details source);
    returns the record written."""
    ttl = settings.WORKER_HEARTBEAT_TTL
    now = time.time()
    record = {
        "hostname": hostname,
        "queues": queues,
        "pid": os.getpid(),
        "host": platform.node(),
        "started_at": started_at,
        "last_seen": now,
        **(_details() if details is None else details),
    }
    cache.set(KEY_PREFIX + hostname, record, timeout=ttl)
    registry: dict[str, float] = cache.get(REGISTRY_KEY) or {}
    registry = {name: seen for name, seen in registry.items() if now - seen < ttl}
    registry[hostname] = now
    cache.set(REGISTRY_KEY, registry, timeout=None)
    return record


def start_heartbeat(consumer: Any) -> None:
    """Start beating for the worker that owns ``consumer`` (Celery's worker_ready signal)."""
    hostname = consumer.hostname
    queues = queues_of(consumer)
    started_at = time.time()
    stop = threading.Event()
    _beating.stop_events[hostname] = stop
    interval = max(settings.WORKER_HEARTBEAT_TTL / 3, 0.5)

    def beat() -> None:
        stalled = False
        while not stop.is_set():
            try:
                record = heartbeat_write(hostname=hostname, queues=queues, started_at=started_at)
                if record.get("stalled") != stalled:
                    stalled = bool(record.get("stalled"))
                    if stalled:
                        logger.error("inference worker %s stalled: %s", hostname, record.get("stall"))
                    else:
                        logger.warning("inference worker %s flushes again", hostname)
            except Exception:  # the cache may blink; the next beat retries
                logger.warning("worker heartbeat failed", exc_info=True)
            stop.wait(interval)

    threading.Thread(target=beat, name="portal-heartbeat", daemon=True).start()
    logger.info("worker %s beating for queues %s", hostname, ",".join(queues))


def stop_heartbeat(sender: Any) -> None:
    """Stop beating and drop out of the list at once (Celery's worker_shutdown signal)."""
    for hostname, stop in list(_beating.stop_events.items()):
        stop.set()
        try:
            cache.delete(KEY_PREFIX + hostname)
        except Exception:
            logger.warning("could not remove heartbeat of %s", hostname, exc_info=True)
        _beating.stop_events.pop(hostname, None)
