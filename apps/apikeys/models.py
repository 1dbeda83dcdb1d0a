"""API keys, plans, quotas, usage and the key audit log.

Only an HMAC-SHA256 of a key is stored (``hashed_key``); the public ``key_id`` (the 8
characters after ``pk_``) finds the row. ``scopes`` and ``allowed_models`` are lists of
strings; an empty ``allowed_models`` allows every published model.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.models import AppendOnlyModel, BaseModel


class Scope(models.TextChoices):
    MODELS_READ = "models:read", _("Read models")
    INFERENCE_WRITE = "inference:write", _("Run inference")
    JOBS_READ = "jobs:read", _("Read jobs")
    USAGE_READ = "usage:read", _("Read usage")


ALL_SCOPES = [scope.value for scope in Scope]


class Plan(BaseModel):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=60)
    requests_per_minute = models.PositiveIntegerField()
    inputs_per_month = models.PositiveIntegerField()
    max_concurrent_jobs = models.PositiveIntegerField()
    is_default = models.BooleanField(default=False, help_text=_("Given to self-service keys."))
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True), name="plan_one_default")
        ]

    def __str__(self) -> str:
        return self.name


class KeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class APIKey(BaseModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key_id = models.CharField(max_length=8, unique=True)
    hashed_key = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(default=list)
    allowed_models = models.JSONField(default=list, blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="keys")
    rpm_override = models.PositiveIntegerField(null=True, blank=True)
    quota_override = models.PositiveIntegerField(null=True, blank=True)
    concurrency_override = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # An admin-issued key has no secret until its owner opens it: the secret is made and
    # shown once at that moment, so no readable key is ever stored, even for a while.
    awaiting_reveal = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"pk_{self.key_id}… ({self.name})"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at <= timezone.now():
            return KeyStatus.EXPIRED
        return KeyStatus.ACTIVE

    @property
    def prefix(self) -> str:
        return f"pk_{self.key_id}"

    @property
    def quota_subject(self) -> str:
        """What the key's rate limit and monthly quota are counted under."""
        return f"key:{self.pk}"

    # An override of None means "the plan's figure"; 0 is a real limit (nothing allowed).
    @property
    def requests_per_minute(self) -> int:
        return self.rpm_override if self.rpm_override is not None else self.plan.requests_per_minute

    @property
    def inputs_per_month(self) -> int:
        return self.quota_override if self.quota_override is not None else self.plan.inputs_per_month

    @property
    def max_concurrent_jobs(self) -> int:
        return self.concurrency_override if self.concurrency_override is not None else self.plan.max_concurrent_jobs


class KeyEvent(AppendOnlyModel):
    """Append-only audit log of key events: who, what, when, from where.

    The model and a database trigger (migration 0003) refuse changes and removals; deleting
    a key or an account only clears ``key`` and ``actor``, which the trigger allows.
    """

    key = models.ForeignKey(APIKey, null=True, on_delete=models.SET_NULL, related_name="events")
    key_prefix = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key_prefix} {self.action}"


class QuotaCounter(models.Model):
    """Inputs used by one subject (a key, or a signed-in user in the playground) in a month."""

    subject = models.CharField(max_length=60)
    period = models.CharField(max_length=7)  # YYYY-MM
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject", "period"], name="quota_one_row_per_period")]

    def __str__(self) -> str:
        return f"{self.subject} {self.period}: {self.used}"


class RateBucket(models.Model):
    """Token bucket of the database-backed limiter (the embedded default, without Redis)."""

    subject = models.CharField(max_length=60, unique=True)
    tokens = models.FloatField()
    updated = models.FloatField()

    def __str__(self) -> str:
        return self.subject


class UsageRecord(models.Model):
    key = models.ForeignKey(APIKey, null=True, blank=True, on_delete=models.CASCADE, related_name="usage")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    endpoint = models.CharField(max_length=80)
    status_code = models.PositiveSmallIntegerField()
    error_type = models.CharField(max_length=40, blank=True)
    inputs = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField()
    queue_ms = models.FloatField(null=True, blank=True)
    inference_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["key", "created_at"], name="usage_key_time")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.status_code}"


class UsageDaily(models.Model):
    """Per-key daily roll-up of UsageRecord rows (a periodic task writes it)."""

    key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="daily")
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)
    inputs = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=dict)
    p50_queue_ms = models.FloatField(null=True)
    p95_queue_ms = models.FloatField(null=True)
    p50_inference_ms = models.FloatField(null=True)
    p95_inference_ms = models.FloatField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "day"], name="usage_daily_one_row")]
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")

    def __str__(self) -> str:
        return f"{self.key_id} {self.day}"


class IdempotencyRecord(models.Model):
    subject = models.CharField(max_length=60)
    key = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    job = models.ForeignKey("inference.InferenceJob", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject", "key"], name="idempotency_unique")]

    def __str__(self) -> str:
        return f"{self.subject} {self.key}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")


class KeyRequest(BaseModel):
    """A developer asks for a higher plan; an admin approves or denies it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="key_requests")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        # Names, not ids: the admin's confirmation pages and history list requests by this.
        return gettext("%(email)s asks for the %(plan)s plan (%(status)s)") % {
            "email": self.user.email,
            "plan": self.plan.name,
            "status": self.get_status_display(),
        }
