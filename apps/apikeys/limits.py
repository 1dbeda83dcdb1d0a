"""Rate limits and monthly quotas that hold under concurrency.

Rate limit: a token bucket per subject (a key, or a signed-in user), refilled at
``per_minute / 60`` tokens a second up to ``per_minute``. With Redis it is one Lua script
(atomic on the server, using the server's clock); without Redis (the embedded default)
the same arithmetic runs on a row locked inside a transaction.

Quota: one conditional UPDATE (``used + n <= limit``) per request, so 1,200 parallel
requests against 1,000 remaining accept exactly 1,000, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.net import address_group

from .models import QuotaCounter, RateBucket


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # until one request would pass (0 when allowed)


_BUCKET_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return {allowed, tostring(tokens)}
"""


def _decide(allowed: bool, tokens: float, capacity: int, rate: float) -> RateDecision:
    remaining = max(math.floor(tokens), 0)
    reset = math.ceil((capacity - tokens) / rate) if tokens < capacity else 0
    retry = 0 if allowed else max(math.ceil((1 - tokens) / rate), 1)
    return RateDecision(allowed=allowed, limit=capacity, remaining=remaining, reset_seconds=reset, retry_after=retry)


class RedisLimiter:
    def __init__(self, url: str) -> None:
        from apps.core.clients import redis_client

        # A Redis that hangs must not hang every API call: fail fast, answer 503.
        self.client = redis_client(url, socket_timeout=2, socket_connect_timeout=2)
        self.script = self.client.register_script(_BUCKET_SCRIPT)

    def take(self, subject: str, per_minute: int) -> RateDecision:
        rate = per_minute / 60
        allowed, tokens = self.script(keys=[f"ratelimit:{subject}"], args=[per_minute, rate, 1])
        return _decide(bool(allowed), float(tokens), per_minute, rate)


class DatabaseLimiter:
    """The same bucket on a row lock: SQLite takes the write lock at BEGIN (IMMEDIATE),
    PostgreSQL locks the row with SELECT ... FOR UPDATE."""

    def take(self, subject: str, per_minute: int) -> RateDecision:
        rate = per_minute / 60
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    bucket = RateBucket.objects.select_for_update().filter(subject=subject).first()
                    # Read the clock only while holding the lock, and never move the
                    # bucket's clock back: a refill interval must be counted once.
                    now = time.time()
                    if bucket is None:
                        bucket = RateBucket.objects.create(subject=subject, tokens=per_minute, updated=now)
                    now = max(now, bucket.updated)
                    tokens = min(per_minute, bucket.tokens + (now - bucket.updated) * rate)
                    allowed = tokens >= 1
                    if allowed:
                        tokens -= 1
                    RateBucket.objects.filter(pk=bucket.pk).update(tokens=tokens, updated=now)
                return _decide(allowed, tokens, per_minute, rate)
            except IntegrityError:  # two first requests created the row at once
                continue
        raise RuntimeError("rate limiter could not settle")


@functools.cache
def _limiter_for(redis_url: str) -> RedisLimiter | DatabaseLimiter:
    return RedisLimiter(redis_url) if redis_url else DatabaseLimiter()


def limiter() -> RedisLimiter | DatabaseLimiter:
    """The limiter of ``REDIS_URL`` (the database's without Redis), built once per URL."""
    return _limiter_for(settings.REDIS_URL or "")


def rate_limit_take(*, subject: str, per_minute: int) -> RateDecision:
    if per_minute <= 0:
        # A limit of 0 (a key's override) refuses every request; the bucket would divide by it.
        return RateDecision(allowed=False, limit=0, remaining=0, reset_seconds=60, retry_after=60)
    return limiter().take(subject, per_minute)


@dataclass(frozen=True)
class QuotaDecision:
    allowed: bool
    limit: int
    used: int | None  # read back for a refusal only; None when allowed


def _period() -> str:
    return timezone.now().strftime("%Y-%m")


def quota_period_end(*, now: datetime | None = None) -> datetime:
    """When the quota period holding ``now`` (default: this moment) ends: 00:00 UTC on
    the first of the next month, when every subject's count starts again from 0."""
    now = (now or timezone.now()).astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def quota_reset_seconds() -> int:
    """Whole seconds until the current quota period ends (at least 1): a refused
    request's ``Retry-After``."""
    now = timezone.now()
    return max(math.ceil((quota_period_end(now=now) - now).total_seconds()), 1)


def quota_consume(*, subject: str, limit: int, amount: int) -> QuotaDecision:
    """Use ``amount`` inputs of ``subject``'s monthly quota if that many remain.

    A conditional UPDATE decides, so parallel requests can never overspend. Once the
    month's counter exists an allowed request costs that one query; the month's first
    request creates the counter, and a refusal reads back what is used.
    """
    period = _period()
    counter = QuotaCounter.objects.filter(subject=subject, period=period)

    def take() -> bool:
        return bool(counter.filter(used__lte=limit - amount).update(used=F("used") + amount))

    if not take():
        try:
            with transaction.atomic():
                QuotaCounter.objects.get_or_create(subject=subject, period=period)
        except IntegrityError:
            pass  # created by a parallel request
        if not take():
            used = counter.values_list("used", flat=True).first() or 0
            return QuotaDecision(allowed=False, limit=limit, used=used)
    return QuotaDecision(allowed=True, limit=limit, used=None)


def quota_refund(*, subject: str, amount: int) -> None:
    QuotaCounter.objects.filter(subject=subject, period=_period(), used__gte=amount).update(used=F("used") - amount)


def quota_carry_over(*, source: str, target: str) -> int:
    """Add the inputs ``source`` used this month to ``target``'s count (a rotated key's
    successor), so that a new subject never starts the month afresh. The source's
    counter is locked while it is read; returns the amount carried."""
    period = _period()
    with transaction.atomic():
        used = (
            QuotaCounter.objects.select_for_update()
            .filter(subject=source, period=period)
            .values_list("used", flat=True)
            .first()
        ) or 0
        if used:
            counter, created = QuotaCounter.objects.get_or_create(
                subject=target, period=period, defaults={"used": used}
            )
            if not created:
                QuotaCounter.objects.filter(pk=counter.pk).update(used=F("used") + used)
    return used


def quota_used(*, subject: str) -> int:
    return QuotaCounter.objects.filter(subject=subject, period=_period()).values_list("used", flat=True).first() or 0


# --- The playground's allowance for visitors without an account ----------------------
# A visitor may run the models in ``PLAYGROUND_ANONYMOUS_MODELS`` only
# ``PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR`` times an hour per address (an IPv6 /64), on top
# of the per-minute limit every caller has.

ANONYMOUS_WINDOW_SECONDS = 3600


def anonymous_models() -> list[str]:
    """Model ids a visitor without an account may run from the playground."""
    return list(getattr(settings, "PLAYGROUND_ANONYMOUS_MODELS", ["sentiment-demo"]))


def anonymous_runs_per_hour() -> int:
    return int(getattr(settings, "PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR", 5))


def _anonymous_window(ip: str | None) -> tuple[str, int]:
    now = time.time()
    window = int(now // ANONYMOUS_WINDOW_SECONDS)
    reset = max(math.ceil((window + 1) * ANONYMOUS_WINDOW_SECONDS - now), 1)
    return f"playground:anon:{address_group(ip)}:{window}", reset


def anonymous_run_take(*, ip: str | None, limit: int) -> RateDecision:
    """Count one run of a visitor at ``ip`` in the current hour (a fixed window).

    With Redis the count is one atomic INCR; the file cache of the embedded default
    reads and writes, so two truly simultaneous runs may count once (a demo allowance,
    not a bill)."""
    key, reset = _anonymous_window(ip)
    cache.add(key, 0, timeout=ANONYMOUS_WINDOW_SECONDS + 60)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=ANONYMOUS_WINDOW_SECONDS + 60)
        used = 1
    # Backends that emulate incr with a plain set would otherwise shorten the expiry.
    cache.touch(key, ANONYMOUS_WINDOW_SECONDS + 60)
    allowed = used <= limit
    return RateDecision(
        allowed=allowed,
        limit=limit,
        remaining=max(limit - used, 0),
        reset_seconds=reset,
        retry_after=0 if allowed else reset,
    )


def anonymous_runs_left(*, ip: str | None) -> tuple[int, int]:
    """``(runs left, seconds until the window resets)`` for a visitor, without counting."""
    key, reset = _anonymous_window(ip)
    return max(anonymous_runs_per_hour() - int(cache.get(key) or 0), 0), reset
