"""Reads on API keys for the pages: the viewer's keys, one key, its usage, key requests.

Every read takes the viewer; a key that is not the viewer's raises ``Http404`` (outsiders
get 404, never someone else's row). Usage comes from ``UsageDaily`` (the nightly roll-up)
and, for today and yesterday when no roll-up row exists yet, straight from ``UsageRecord``.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core import signing
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from apps.core.stats import percentile

from .limits import quota_used
from .models import APIKey, KeyRequest, Plan, RequestStatus, UsageDaily, UsageRecord

REVEAL_LINK_SALT = "apikeys.reveal-link"
REVEAL_LINK_MAX_AGE = timedelta(days=7)
USAGE_DAYS = 30
# Days that may lack a roll-up row because the nightly task has not run for them yet.
LIVE_DAYS = 2


class RevealLinkExpired(Exception):
    """The one-time link is genuine but older than ``REVEAL_LINK_MAX_AGE``."""


# ---------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------
def apikey_list_owned(*, viewer: Any) -> QuerySet[APIKey]:
    """The viewer's keys, newest first, with plan and successor loaded (none if anonymous)."""
    if not getattr(viewer, "is_authenticated", False):
        return APIKey.objects.none()
    return APIKey.objects.filter(owner=viewer).select_related("plan", "replaced_by").order_by("-created_at")


def apikey_get_owned(*, viewer: Any, pk: Any) -> APIKey:
    """The viewer's key ``pk``; ``Http404`` for anyone else's key or an unknown id."""
    key = apikey_list_owned(viewer=viewer).filter(pk=pk).first()
    if key is None:
        raise Http404("no such key")
    return key


def apikey_reveal_token(*, key: APIKey) -> str:
    """A signed token naming ``key`` and its owner, for the one-time link in the email."""
    return signing.dumps({"key": str(key.pk), "owner": key.owner_id}, salt=REVEAL_LINK_SALT, compress=True)


def apikey_get_by_reveal_token(*, viewer: Any, token: str) -> APIKey:
    """The issued key a one-time link points to, if the viewer owns it.

    Raises ``RevealLinkExpired`` for a genuine link past its age, ``Http404`` for a forged
    link or someone else's key (the two are indistinguishable to an outsider).
    """
    try:
        data = signing.loads(token, salt=REVEAL_LINK_SALT, max_age=REVEAL_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise RevealLinkExpired from None
    except signing.BadSignature:
        raise Http404("no such link") from None
    if not isinstance(data, dict) or data.get("owner") != getattr(viewer, "pk", None):
        raise Http404("no such link")
    return apikey_get_owned(viewer=viewer, pk=data.get("key"))


# ---------------------------------------------------------------------------------------
# Key requests (a higher plan)
# ---------------------------------------------------------------------------------------
def key_request_list(*, viewer: Any, limit: int = 5) -> list[KeyRequest]:
    """The viewer's latest requests, newest first."""
    if not getattr(viewer, "is_authenticated", False):
        return []
    return list(KeyRequest.objects.filter(user=viewer).select_related("plan").order_by("-created_at")[:limit])


def key_request_decided_since(*, viewer: Any, since: datetime) -> list[KeyRequest]:
    """The viewer's requests decided after ``since`` (for the notice on the next visit)."""
    if not getattr(viewer, "is_authenticated", False):
        return []
    return list(
        KeyRequest.objects.filter(user=viewer, decided_at__gt=since)
        .exclude(status=RequestStatus.PENDING)
        .select_related("plan")
        .order_by("decided_at")
    )


def plan_list() -> list[Plan]:
    """Every plan, cheapest first, for the comparison table."""
    return list(Plan.objects.order_by("order", "slug"))


def plan_choices_for_request(*, viewer: Any) -> QuerySet[Plan]:
    """Plans a developer may ask for: every plan above the default one."""
    default = Plan.objects.filter(is_default=True).values_list("order", flat=True).first() or 0
    return Plan.objects.filter(order__gt=default).order_by("order", "slug")


# ---------------------------------------------------------------------------------------
# Usage
# ---------------------------------------------------------------------------------------
def error_type_of(status_code: int, error_type: str) -> str:
    """The name an error is counted under: its problem ``type``, else ``http_<status>``."""
    return error_type or f"http_{status_code}"


def usage_summarise(records: Iterable[tuple[int, str, int, float | None, float | None]]) -> dict[str, Any]:
    """Figures of one key's day from ``(status_code, error_type, inputs, queue_ms,
    inference_ms)`` rows: requests, inputs, errors by type and p50/p95 of each latency part.
    The shape of a ``UsageDaily`` row, shared by the roll-up and the live view."""
    requests = inputs = 0
    errors: Counter[str] = Counter()
    queue: list[float] = []
    inference: list[float] = []
    for status_code, error, used, queue_ms, inference_ms in records:
        requests += 1
        inputs += used or 0
        if status_code >= 400:
            errors[error_type_of(status_code, error)] += 1
        if queue_ms is not None:
            queue.append(queue_ms)
        if inference_ms is not None:
            inference.append(inference_ms)
    return {
        "requests": requests,
        "inputs": inputs,
        "errors": dict(sorted(errors.items())),
        "p50_queue_ms": percentile(queue, 50, ndigits=2),
        "p95_queue_ms": percentile(queue, 95, ndigits=2),
        "p50_inference_ms": percentile(inference, 50, ndigits=2),
        "p95_inference_ms": percentile(inference, 95, ndigits=2),
    }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start and end (exclusive) of ``day`` in the site's time zone (UTC)."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


USAGE_RECORD_FIELDS = ("status_code", "error_type", "inputs", "queue_ms", "inference_ms")


@dataclass
class DayUsage:
    day: date
    requests: int = 0
    inputs: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    p50_queue_ms: float | None = None
    p95_queue_ms: float | None = None
    p50_inference_ms: float | None = None
    p95_inference_ms: float | None = None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def ok_count(self) -> int:
        return self.requests - self.error_count


@dataclass
class KeyUsage:
    key: APIKey
    days: list[DayUsage]  # the last USAGE_DAYS days, oldest first, today last
    month_days: list[DayUsage]  # this month up to today
    days_in_month: int
    quota_limit: int
    quota_used: int
    period: str

    @property
    def total_requests(self) -> int:
        return sum(d.requests for d in self.days)

    @property
    def total_errors(self) -> int:
        return sum(d.error_count for d in self.days)

    @property
    def total_inputs(self) -> int:
        return sum(d.inputs for d in self.days)

    @property
    def errors_by_type(self) -> list[tuple[str, int]]:
        totals: Counter[str] = Counter()
        for day in self.days:
            totals.update(day.errors)
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))

    @property
    def quota_remaining(self) -> int:
        return max(self.quota_limit - self.quota_used, 0)

    @property
    def has_latency(self) -> bool:
        return any(d.p50_queue_ms is not None or d.p50_inference_ms is not None for d in self.days)

    @property
    def burn_down(self) -> list[tuple[date, int]]:
        """Quota left at the end of each day of this month so far."""
        left, points = self.quota_limit, []
        for day in self.month_days:
            left -= day.inputs
            points.append((day.day, max(left, 0)))
        return points


def _live_days(key: APIKey, days: list[date]) -> dict[date, DayUsage]:
    """Roll up ``days`` (consecutive, at most LIVE_DAYS) straight from the usage records."""
    if not days:
        return {}
    start, _ = day_bounds(min(days))
    _, end = day_bounds(max(days))
    by_day: dict[date, list[tuple[Any, ...]]] = {day: [] for day in days}
    rows = UsageRecord.objects.filter(key=key, created_at__gte=start, created_at__lt=end).values_list(
        "created_at", *USAGE_RECORD_FIELDS
    )
    for created_at, *rest in rows:
        local = timezone.localtime(created_at).date()
        if local in by_day:
            by_day[local].append(tuple(rest))
    return {day: DayUsage(day=day, **usage_summarise(rows)) for day, rows in by_day.items()}


def apikey_usage(*, viewer: Any, key: APIKey, today: date | None = None) -> KeyUsage:
    """Usage of the viewer's ``key``: the last 30 days and this month's quota burn-down.

    Raises ``Http404`` when the key is not the viewer's.
    """
    if key.owner_id != getattr(viewer, "pk", None):
        raise Http404("no such key")
    today = today or timezone.localdate()
    first = today - timedelta(days=USAGE_DAYS - 1)
    month_start = today.replace(day=1)
    earliest = min(first, month_start)
    stored = {
        row.day: DayUsage(
            day=row.day,
            requests=row.requests,
            inputs=row.inputs,
            errors=dict(row.errors or {}),
            p50_queue_ms=row.p50_queue_ms,
            p95_queue_ms=row.p95_queue_ms,
            p50_inference_ms=row.p50_inference_ms,
            p95_inference_ms=row.p95_inference_ms,
        )
        for row in UsageDaily.objects.filter(key=key, day__gte=earliest, day__lte=today)
    }
    recent = [today - timedelta(days=n) for n in range(LIVE_DAYS - 1, -1, -1)]
    stored.update(_live_days(key, [day for day in recent if day not in stored or day == today]))

    def span(start: date) -> list[DayUsage]:
        count = (today - start).days + 1
        return [stored.get(start + timedelta(days=n)) or DayUsage(day=start + timedelta(days=n)) for n in range(count)]

    return KeyUsage(
        key=key,
        days=span(first),
        month_days=span(month_start),
        days_in_month=calendar.monthrange(today.year, today.month)[1],
        quota_limit=key.inputs_per_month,
        quota_used=quota_used(subject=key.quota_subject),
        period=today.strftime("%Y-%m"),
    )
