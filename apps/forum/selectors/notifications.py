"""A member's notifications, as they may see them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404

from ..models import Notification, NotificationSettings, Subscription
from .viewer import forum_viewer
from .visibility import category_readable_q, notification_public_q, thread_visible_q

if TYPE_CHECKING:
    from ..permissions import AnyViewer


def notification_list(*, viewer: AnyViewer) -> QuerySet[Notification]:
    """Newest first; notifications about posts the viewer may no longer see are left out
    (moderation notices are always kept)."""
    viewer = forum_viewer(viewer)
    if not viewer.is_authenticated:
        return Notification.objects.none()
    notifications = Notification.objects.filter(recipient_id=viewer.id)
    if not viewer.is_staff:
        notifications = notifications.filter(notification_public_q())
    return notifications.select_related("actor__profile", "thread", "post").order_by("-created_at")


def notification_get(*, viewer: AnyViewer, pk: Any) -> Notification:
    found = notification_list(viewer=viewer).filter(pk=pk).first()
    if found is None:
        raise Http404("no such notification")
    return found


def notification_settings_for(*, viewer: AnyViewer) -> NotificationSettings:
    viewer = forum_viewer(viewer)
    found = NotificationSettings.objects.filter(user_id=viewer.id).first()
    return found or NotificationSettings(user=viewer.user)


def subscriptions_of(*, viewer: AnyViewer) -> QuerySet[Subscription]:
    """The viewer's watched and muted threads and categories that they can still see."""
    viewer = forum_viewer(viewer)
    visible = (Q(thread__isnull=False) & thread_visible_q(viewer, "thread__")) | (
        Q(category__isnull=False) & category_readable_q(viewer, "category__")
    )
    return (
        Subscription.objects.filter(user_id=viewer.id)
        .filter(visible)
        .select_related("thread", "category")
        .order_by("-created_at")
    )
