"""Celery entry points of the API keys. Names are a wire contract.

- ``apikeys.rollup_usage`` (default queue, periodic, nightly): writes the ``UsageDaily``
  rows of one day (yesterday unless told) from the ``UsageRecord`` rows. Idempotent: a
  re-run replaces that day's rows. Retried only when the database is briefly unreachable.
"""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from portal.celery import DEFAULT_QUEUE


@shared_task(
    name="apikeys.rollup_usage",
    queue=DEFAULT_QUEUE,
    # A busy day has many records: longer than the default queue's 60 s.
    soft_time_limit=540,
    time_limit=600,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def rollup_usage(day: str | None = None) -> int:
    """Roll up ``day`` (``YYYY-MM-DD``, UTC; default yesterday); returns the rows written."""
    from .services import usage_daily_rollup

    target = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    return usage_daily_rollup(day=target)
