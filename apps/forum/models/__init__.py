"""The forum's tables: content (categories, threads, posts), moderation (flags, sanctions,
the audit log) and engagement (subscriptions, notifications, read markers)."""

from .content import (
    Access,
    Category,
    CategoryColor,
    CategoryKind,
    HeldReason,
    HiddenReason,
    Like,
    PinScope,
    Post,
    PostRevision,
    Tag,
    Thread,
)
from .engagement import (
    Notification,
    NotificationKind,
    NotificationSettings,
    Subscription,
    SubscriptionLevel,
    ThreadRead,
)
from .moderation import AuditLogEntry, AuditLogImmutable, Flag, FlagReason, FlagStatus, Sanction, SanctionKind

__all__ = [
    "Access",
    "AuditLogEntry",
    "AuditLogImmutable",
    "Category",
    "CategoryColor",
    "CategoryKind",
    "Flag",
    "FlagReason",
    "FlagStatus",
    "HeldReason",
    "HiddenReason",
    "Like",
    "Notification",
    "NotificationKind",
    "NotificationSettings",
    "PinScope",
    "Post",
    "PostRevision",
    "Sanction",
    "SanctionKind",
    "Subscription",
    "SubscriptionLevel",
    "Tag",
    "Thread",
    "ThreadRead",
]
