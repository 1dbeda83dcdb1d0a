"""Writes on API keys: create, issue, reveal, revoke, rotate, authenticate, requests.

Every change leaves a ``KeyEvent`` (append-only). The plaintext key exists only in the
return value of the function that made it; the database keeps an HMAC-SHA256.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import ApiKeyExpired, ApiKeyInvalid, ApiKeyRevoked
from apps.core.hotcache import HotCache, bump

from . import keyformat
from .limits import quota_carry_over
from .models import ALL_SCOPES, APIKey, KeyEvent, KeyRequest, KeyStatus, Plan, RequestStatus, UsageRecord
from .plans import plan_default

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

LAST_USED_EVERY = timedelta(minutes=1)


def key_hash(raw: str) -> str:
    return hmac.new(settings.API_KEY_HASH_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


def key_event_record(*, key: APIKey | None, actor: Any, action: str, ip: str | None = None, **details: Any) -> KeyEvent:
    """Note a change to ``key``; every process drops its copy of it (``_KEYS``) once the
    change commits, whether it was written by ``save`` or by ``QuerySet.update``."""
    bump()
    return KeyEvent.objects.create(
        key=key,
        key_prefix=key.prefix if key else "",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        ip=ip,
        details=details,
    )


def _expiry(expires_at: datetime | None) -> datetime:
    now = timezone.now()
    if expires_at is None:
        return now + timedelta(days=settings.API_KEY_DEFAULT_DAYS)
    if expires_at <= now:
        raise ValidationError("The expiry must be in the future.")
    if expires_at > now + timedelta(days=settings.API_KEY_MAX_DAYS, minutes=5):
        raise ValidationError(f"A key may live at most {settings.API_KEY_MAX_DAYS} days.")
    return expires_at


def _check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(unknown)}. Choose from {', '.join(ALL_SCOPES)}.")
    if not scopes:
        raise ValidationError("Choose at least one scope.")
    return [scope for scope in ALL_SCOPES if scope in scopes]


def _new_row(**fields: Any) -> tuple[APIKey, str]:
    for _attempt in range(5):  # an 8-character id collides about never; retry anyway
        generated = keyformat.generate()
        try:
            with transaction.atomic():
                key = APIKey.objects.create(key_id=generated.key_id, hashed_key=key_hash(generated.raw), **fields)
            return key, generated.raw
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a key id")


def apikey_create(
    *,
    owner: Any,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    allowed_models: list[str] | None = None,
    plan: Plan | None = None,
    rpm: int | None = None,
    quota: int | None = None,
    concurrency: int | None = None,
    actor: Any = None,
    ip: str | None = None,
) -> tuple[APIKey, str]:
    """Make a key for ``owner`` and return it with its plaintext, which is never stored.

    Raises ``ValidationError`` for an empty name, unknown scopes, or an expiry in the past
    or more than a year ahead. Self-service keys get the default (Free) plan.
    """
    name = name.strip()
    if not name:
        raise ValidationError("Give the key a name, so you can tell your keys apart.")
    for label, value in (("requests per minute", rpm), ("inputs per month", quota), ("concurrent jobs", concurrency)):
        if value is not None and value < 0:
            raise ValidationError(f"The {label} must be 0 or more, or empty for the plan's figure.")
    with transaction.atomic():
        key, raw = _new_row(
            name=name[:80],
            owner=owner,
            scopes=_check_scopes(scopes),
            allowed_models=sorted(set(allowed_models or [])),
            plan=plan or plan_default(),
            rpm_override=rpm,
            quota_override=quota,
            concurrency_override=concurrency,
            expires_at=_expiry(expires_at),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        key_event_record(key=key, actor=actor or owner, action="created", ip=ip, scopes=key.scopes, plan=key.plan.slug)
    return key, raw


def apikey_issue(*, owner: Any, name: str, scopes: list[str], actor: Any, **options: Any) -> APIKey:
    """An admin issues a key to ``owner``; it has no secret until the owner reveals it."""
    key, _raw = apikey_create(owner=owner, name=name, scopes=scopes, actor=actor, **options)
    APIKey.objects.filter(pk=key.pk).update(hashed_key="", awaiting_reveal=True)
    key.refresh_from_db()
    key_event_record(key=key, actor=actor, action="issued", owner=owner.email)
    return key


@transaction.atomic
def apikey_reveal(*, key: APIKey, viewer: Any, ip: str | None = None) -> str:
    """Make and return the secret of an issued key, once, for its owner only."""
    locked = APIKey.objects.select_for_update().get(pk=key.pk)
    if locked.owner_id != getattr(viewer, "pk", None) or not locked.awaiting_reveal:
        raise ValidationError("This key has already been shown, or is not yours.")
    generated = keyformat.generate(key_id=locked.key_id)
    locked.hashed_key = key_hash(generated.raw)
    locked.awaiting_reveal = False
    locked.save(update_fields=["hashed_key", "awaiting_reveal", "updated_at"])
    key_event_record(key=locked, actor=viewer, action="revealed", ip=ip)
    return generated.raw


def apikey_revoke(*, key: APIKey, actor: Any, reason: str = "", ip: str | None = None) -> APIKey:
    """Revoke now: the next request with this key gets 401 ``api_key_revoked``."""
    now = timezone.now()
    if APIKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_reason=reason[:200]):
        key_event_record(key=key, actor=actor, action="revoked", ip=ip, reason=reason)
    key.refresh_from_db()
    return key


def apikey_rotate(*, key: APIKey, actor: Any, grace: timedelta, ip: str | None = None) -> tuple[APIKey, str]:
    """A new key with the same settings now; the old one works until ``grace`` has passed.

    The new key starts with the inputs the old one used this month, so rotating never
    hands out a fresh quota (the old key keeps its own count for its grace period)."""
    if key.status != KeyStatus.ACTIVE:
        raise ValidationError("Only an active key can be rotated.")
    if grace < timedelta(0) or grace > timedelta(days=30):
        raise ValidationError("The grace period must be between 0 and 30 days.")
    with transaction.atomic():
        # Two rotations of one key at once would make two successors and carry twice.
        if APIKey.objects.select_for_update().filter(pk=key.pk).values_list("replaced_by", flat=True).get():
            raise ValidationError("This key was already rotated.")
        new, raw = apikey_create(
            owner=key.owner,
            name=key.name,
            scopes=key.scopes,
            allowed_models=key.allowed_models,
            plan=key.plan,
            rpm=key.rpm_override,
            quota=key.quota_override,
            concurrency=key.concurrency_override,
            actor=actor,
            ip=ip,
        )
        quota_carry_over(source=key.quota_subject, target=new.quota_subject)
        until = timezone.now() + grace
        APIKey.objects.filter(pk=key.pk).update(expires_at=min(key.expires_at, until), replaced_by=new)
        key_event_record(
            key=key, actor=actor, action="rotated", ip=ip, replaced_by=new.prefix, works_until=until.isoformat()
        )
    key.refresh_from_db()
    return new, raw


def apikey_revoke_leaked(*, key_id: str, source: str) -> APIKey | None:
    """Revoke a key found in public (a forum post) and tell its owner. Idempotent."""
    key = APIKey.objects.select_related("owner").filter(key_id=key_id).first()
    if key is None:
        return None
    if key.revoked_at is None:
        from django.urls import reverse

        from apps.core.sites import site_absolute

        keys_url = site_absolute(reverse("apikeys:key_list"))
        apikey_revoke(key=key, actor=None, reason=f"published in {source}")
        key_event_record(key=key, actor=None, action="leaked", source=source)
        transaction.on_commit(
            lambda: send_mail(
                subject=f"Your API key {key.prefix}… was revoked",
                message=(
                    f"Your API key {key.prefix}… ({key.name}) appeared in public at {source} and was revoked "
                    f"at once so nobody else can use it. Create a new key at {keys_url}."
                ),
                from_email=None,
                recipient_list=[key.owner.email],
                fail_silently=True,
            )
        )
    return key


def apikey_authenticate(*, raw: str, ip: str | None = None) -> APIKey:
    """The active key for ``raw``, or an error saying why not.

    A malformed key (bad shape or checksum) is refused without a database query; the
    hash comparison is constant-time. Last use is written at most once a minute.
    """
    parsed = keyformat.parse(raw)
    if parsed is None:
        raise ApiKeyInvalid("This is not a valid API key.")
    key = _KEYS.get(parsed.key_id, lambda: _key_load(parsed.key_id))
    candidate = key_hash(parsed.raw)
    stored = key.hashed_key if key and key.hashed_key else "0" * 64
    if not hmac.compare_digest(candidate, stored) or key is None:
        raise ApiKeyInvalid("This is not a valid API key.")
    if key.revoked_at is not None:
        raise ApiKeyRevoked("This API key was revoked.")
    now = timezone.now()
    if key.expires_at <= now:
        raise ApiKeyExpired(f"This API key expired on {key.expires_at:%Y-%m-%d}.")
    if not key.owner.is_active:
        raise ApiKeyRevoked("The owner of this API key is no longer active.")
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_EVERY:
        APIKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
        key.last_used_at, key.last_used_ip = now, ip  # the cached copy too: no bump needed
    return key


# Keys by key_id with their plan and owner, as of the current generation: any change to a
# key, plan or user makes every copy stale at once (``apps.core.hotcache``; the signals
# are connected in apps.py, and ``key_event_record`` bumps after every key change).
_KEYS = HotCache()


def _key_load(key_id: str) -> APIKey | None:
    # key_id is unique: no ORDER BY or LIMIT to build and run on every call.
    return next(iter(APIKey.objects.select_related("plan", "owner").filter(key_id=key_id).order_by()), None)


def key_request_create(*, user: Any, plan: Plan, reason: str) -> KeyRequest:
    reason = reason.strip()
    if len(reason) < 10:
        raise ValidationError("Tell us in a sentence or two what you need the higher plan for.")
    if KeyRequest.objects.filter(user=user, status=RequestStatus.PENDING).exists():
        raise ValidationError("You already have a request waiting for a decision.")
    return KeyRequest.objects.create(user=user, plan=plan, reason=reason)


@transaction.atomic
def key_request_decide(*, request: KeyRequest, actor: Any, approve: bool, note: str = "") -> KeyRequest:
    """Approve (the user's active keys move to the plan) or deny; the user is told by email."""
    locked = KeyRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != RequestStatus.PENDING:
        raise ValidationError("This request was already decided.")
    locked.status = RequestStatus.APPROVED if approve else RequestStatus.DENIED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.note = note
    locked.save()
    if approve:
        for key in APIKey.objects.filter(owner=locked.user, revoked_at__isnull=True):
            APIKey.objects.filter(pk=key.pk).update(plan=locked.plan)
            key_event_record(key=key, actor=actor, action="plan_changed", plan=locked.plan.slug)
    verdict = "approved" if approve else "denied"
    transaction.on_commit(
        lambda: send_mail(
            subject=f"Your request for the {locked.plan.name} plan was {verdict}",
            message=f"Your request for the {locked.plan.name} plan was {verdict}.\n\n{note}".strip(),
            from_email=None,
            recipient_list=[locked.user.email],
            fail_silently=True,
        )
    )
    return locked


# ---------------------------------------------------------------------------------------
# Added for the key pages and the admin (issue 4): new functions only, the ones above
# keep their behaviour.
# ---------------------------------------------------------------------------------------
def apikey_issue_and_notify(
    *, owner: Any, name: str, scopes: list[str], actor: Any, ip: str | None = None, **options: Any
) -> APIKey:
    """``apikey_issue``, then email the owner a signed one-time link to reveal the key.

    The link works for 7 days and only for the owner, signed in; the key list offers the
    same reveal for as long as the key waits. The email leaves after the commit.
    """
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation

    from apps.core.sites import site_absolute

    from .selectors import REVEAL_LINK_MAX_AGE, apikey_reveal_token

    key = apikey_issue(owner=owner, name=name, scopes=scopes, actor=actor, ip=ip, **options)
    with translation.override(settings.LANGUAGE_CODE):
        path = reverse("apikeys:reveal_link", kwargs={"token": apikey_reveal_token(key=key)})
        context = {
            "key": key,
            "owner": owner,
            "link": site_absolute(path),
            "list_url": site_absolute(reverse("apikeys:key_list")),
            "days": REVEAL_LINK_MAX_AGE.days,
        }
        subject = render_to_string("apikeys/email/issued_subject.txt", context).strip()
        body = render_to_string("apikeys/email/issued_body.txt", context)
    transaction.on_commit(
        lambda: send_mail(
            subject=subject, message=body, from_email=None, recipient_list=[owner.email], fail_silently=True
        )
    )
    return key


def usage_daily_rollup(*, day: Any) -> int:
    """Write the ``UsageDaily`` rows of ``day`` (a date) from its ``UsageRecord`` rows.

    Idempotent: the day's rows are replaced as a whole, so a re-run (or a run after late
    records) leaves exactly one row per key that was used that day. Returns the number of
    rows written. Records without a key (the playground) are not rolled up.
    """
    from itertools import groupby

    from .models import UsageDaily, UsageRecord
    from .selectors import USAGE_RECORD_FIELDS, day_bounds, usage_summarise

    start, end = day_bounds(day)
    records = (
        UsageRecord.objects.filter(key__isnull=False, created_at__gte=start, created_at__lt=end)
        .order_by("key_id", "created_at")
        .values_list("key_id", *USAGE_RECORD_FIELDS)
        .iterator(chunk_size=5000)
    )
    rows = [
        UsageDaily(key_id=key_id, day=day, **usage_summarise(tuple(rest) for _key, *rest in group))
        for key_id, group in groupby(records, key=lambda record: record[0])
    ]
    for attempt in range(3):
        try:
            with transaction.atomic():
                UsageDaily.objects.filter(day=day).delete()
                for row in rows:
                    row.pk = None
                UsageDaily.objects.bulk_create(rows)
            break
        except IntegrityError:  # a parallel run of the same day committed first: redo
            if attempt == 2:
                raise
    logger.info("usage roll-up of %s: %d keys", day, len(rows))
    return len(rows)


def usage_record_create(
    *,
    key: APIKey | None,
    user: User | None,
    endpoint: str,
    status_code: int,
    error_type: str,
    inputs: int,
    latency_ms: float,
    queue_ms: float | None,
    inference_ms: float | None,
) -> UsageRecord:
    """One API call as the usage pages and the daily roll-up count it."""
    return UsageRecord.objects.create(
        key=key,
        user=user,
        endpoint=endpoint[:80],
        status_code=status_code,
        error_type=error_type[:40],
        inputs=inputs,
        latency_ms=latency_ms,
        queue_ms=queue_ms,
        inference_ms=inference_ms,
    )
