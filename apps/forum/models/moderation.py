"""Flags, sanctions and the append-only audit log."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import AppendOnlyError, AppendOnlyModel

from .content import Post


class FlagReason(models.TextChoices):
    SPAM = "spam", _("Spam")
    OFF_TOPIC = "off_topic", _("Off-topic")
    ABUSIVE = "abusive", _("Abusive or harassing")
    OTHER = "other", _("Something else")


class FlagStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    AGREED = "agreed", _("Agreed")
    DISAGREED = "disagreed", _("Disagreed (post kept)")


class Flag(models.Model):
    """One member's report of one post. Enough pending flags hide the post until a
    moderator decides (see ``services.moderation``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="flags")
    flagger = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_flags")
    reason = models.CharField(_("reason"), max_length=12, choices=FlagReason.choices)
    text = models.CharField(_("details"), max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=FlagStatus.choices, default=FlagStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "post"], name="forum_flag_status_post")]
        constraints = [
            models.UniqueConstraint(fields=["post", "flagger"], name="forum_flag_once_per_member"),
            models.CheckConstraint(condition=Q(reason__in=FlagReason.values), name="forum_flag_reason_valid"),
            models.CheckConstraint(condition=Q(status__in=FlagStatus.values), name="forum_flag_status_valid"),
            models.CheckConstraint(
                condition=~Q(reason=FlagReason.OTHER) | ~Q(text=""), name="forum_flag_other_needs_text"
            ),
            models.CheckConstraint(
                condition=(Q(status=FlagStatus.PENDING) & Q(resolved_at__isnull=True))
                | (~Q(status=FlagStatus.PENDING) & Q(resolved_at__isnull=False)),
                name="forum_flag_resolved_at_matches",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} flag on {self.post_id}"


class SanctionKind(models.TextChoices):
    SILENCE = "silence", _("Silenced (read-only)")
    SUSPEND = "suspend", _("Suspended")


class SanctionQuerySet(models.QuerySet["Sanction"]):
    def active(self, *, at: Any = None) -> SanctionQuerySet:
        now = at or timezone.now()
        return self.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), lifted_at__isnull=True, starts_at__lte=now)


class Sanction(models.Model):
    """A silence (read-only) or suspension of a member, with a reason and an end.
    ``ends_at`` null means until an admin lifts it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_sanctions")
    kind = models.CharField(max_length=10, choices=SanctionKind.choices)
    reason = models.CharField(_("reason"), max_length=500)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lift_reason = models.CharField(max_length=500, blank=True)

    objects = SanctionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "lifted_at"], name="forum_sanction_user_lifted")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=SanctionKind.values), name="forum_sanction_kind_valid"),
            models.CheckConstraint(condition=~Q(reason=""), name="forum_sanction_reason_required"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="forum_sanction_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | ~Q(lift_reason=""),
                name="forum_sanction_lift_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.user_id}"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.lifted_at is None and self.starts_at <= now and (self.ends_at is None or self.ends_at > now)


# The name this app's callers know the append-only refusal by.
AuditLogImmutable = AppendOnlyError


class AuditLogEntry(AppendOnlyModel):
    """One staff (or system) action: who, what, on which target, why, before and after.

    Append-only at three levels: this model refuses updates and deletes, the admin has no
    change or delete permission, and the database refuses UPDATE and DELETE with a trigger
    (migration 0003, from ``append_only_trigger_sql``). ``actor`` keeps the id even after the
    account is deleted (no foreign key constraint, nothing cascades into this table);
    ``actor_label`` keeps the name.
    ``before``/``after`` are flat JSON objects of the changed fields.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        editable=False,
    )
    actor_label = models.CharField(max_length=150, editable=False)
    action = models.CharField(max_length=40, db_index=True, editable=False)
    target_type = models.CharField(max_length=20, db_index=True, editable=False)
    target_id = models.CharField(max_length=64, editable=False)
    target_label = models.CharField(max_length=200, editable=False)
    reason = models.TextField(blank=True, editable=False)
    before = models.JSONField(default=dict, editable=False)
    after = models.JSONField(default=dict, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["target_type", "target_id"], name="forum_audit_target")]
        constraints = [
            models.CheckConstraint(condition=~Q(action=""), name="forum_audit_action_required"),
            models.CheckConstraint(condition=~Q(actor_label=""), name="forum_audit_actor_label_required"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_type}:{self.target_id}"
