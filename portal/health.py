"""Readiness checks: each returns a dict with ``ok`` and what it saw, never raises."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from apps.inference.selectors import queue_depth, worker_list_live
from portal.celery import INFERENCE_QUEUE, app


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as exc:  # a failing dependency is a result here, not an error
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _broker() -> dict[str, Any]:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return {"transport": conn.transport.driver_type}


def _cache() -> dict[str, Any]:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def _workers() -> dict[str, Any]:
    workers = worker_list_live()
    inference = [w for w in workers if INFERENCE_QUEUE in w.get("queues", [])]
    return {
        "inference": len(inference),
        "total": len(workers),
        "queue_depth": queue_depth(INFERENCE_QUEUE),
        "stalled": [w["hostname"] for w in inference if w.get("stalled")],
        "workers": [
            {key: w.get(key) for key in ("hostname", "queues", "device", "models", "stalled", "stall")} for w in workers
        ],
    }


def readiness() -> tuple[bool, dict[str, Any]]:
    """Run every check; ready when the database, broker and cache answer, no inference
    worker says it stalled (its watchdog), and, unless ``READYZ_REQUIRE_WORKERS`` is off,
    at least one inference worker is alive."""
    checks = {
        "database": _timed(_database),
        "broker": _timed(_broker),
        "cache": _timed(_cache),
        "workers": _timed(_workers),
    }
    if checks["workers"]["ok"] and settings.READYZ_REQUIRE_WORKERS and checks["workers"]["inference"] == 0:
        checks["workers"]["ok"] = False
        checks["workers"]["error"] = "no live inference worker"
    elif checks["workers"]["ok"] and checks["workers"]["stalled"]:
        # A worker that takes messages but stopped flushing them holds its jobs hostage.
        checks["workers"]["ok"] = False
        checks["workers"]["error"] = "inference worker stalled: " + ", ".join(checks["workers"]["stalled"])
    ready = all(check["ok"] for check in checks.values())
    return ready, checks
