"""Subscriptions, notifications, per-user notification settings and read markers."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .content import Category, Post, Thread


class SubscriptionLevel(models.TextChoices):
    WATCHING = "watching", _("Watching")
    MUTED = "muted", _("Muted")


class Subscription(models.Model):
    """Watching a thread (every reply) or a category (every new thread); or muting one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_subscriptions")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    level = models.CharField(max_length=10, choices=SubscriptionLevel.choices, default=SubscriptionLevel.WATCHING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(thread__isnull=False) & Q(category__isnull=True))
                | (Q(thread__isnull=True) & Q(category__isnull=False)),
                name="forum_subscription_one_target",
            ),
            models.CheckConstraint(condition=Q(level__in=SubscriptionLevel.values), name="forum_subscription_level"),
            models.UniqueConstraint(
                fields=["user", "thread"], condition=Q(thread__isnull=False), name="forum_subscription_thread_once"
            ),
            models.UniqueConstraint(
                fields=["user", "category"],
                condition=Q(category__isnull=False),
                name="forum_subscription_category_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.level} {self.thread_id or self.category_id}"


class NotificationKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    MENTION = "mention", _("Mention")
    NEW_THREAD = "new_thread", _("New thread")
    SOLUTION = "solution", _("Solution")
    LIKE = "like", _("Like")
    MODERATION = "moderation", _("Moderation")


class Notification(models.Model):
    """Something a member should know about. Moderation notices carry their own text and
    are always shown to their recipient; the others follow the post's visibility."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_notifications"
    )
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="forum_notif_recipient")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NotificationKind.values), name="forum_notification_kind"),
            models.CheckConstraint(
                condition=~Q(kind=NotificationKind.MODERATION) | ~Q(message=""),
                name="forum_notification_moderation_message",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class NotificationSettings(models.Model):
    """Which notifications a member wants by email (in-site ones are always kept)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_notification_settings"
    )
    email_replies = models.BooleanField(_("Replies to my threads and posts"), default=True)
    email_mentions = models.BooleanField(_("Mentions of my @name"), default=True)
    email_watching = models.BooleanField(_("New threads in categories I watch"), default=True)
    email_solutions = models.BooleanField(_("My answer was marked as the solution"), default=True)
    email_moderation = models.BooleanField(_("Moderation decisions about my posts or account"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    EMAIL_FIELD_BY_KIND: ClassVar[dict[str, str]] = {
        NotificationKind.REPLY: "email_replies",
        NotificationKind.MENTION: "email_mentions",
        NotificationKind.NEW_THREAD: "email_watching",
        NotificationKind.SOLUTION: "email_solutions",
        NotificationKind.MODERATION: "email_moderation",
    }

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"


class ThreadRead(models.Model):
    """How far a member has read a thread: the unread markers in lists."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    last_read_number = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="forum_thread_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.thread_id} to {self.last_read_number}"
