"""The visibility rules of ``permissions`` as query filters, so that lists, feeds,
search and notifications apply exactly the rules that detail pages do."""

from __future__ import annotations

from django.db.models import Q

from ..models import Access, NotificationKind
from ..permissions import ForumViewer


def _public(prefix: str) -> Q:
    return Q(
        **{f"{prefix}held_at__isnull": True, f"{prefix}hidden_at__isnull": True, f"{prefix}deleted_at__isnull": True}
    )


def category_readable_q(viewer: ForumViewer, prefix: str = "") -> Q:
    if viewer.is_staff:
        return Q()
    return Q(**{f"{prefix}read_access": Access.EVERYONE})


def thread_visible_q(viewer: ForumViewer, prefix: str = "") -> Q:
    """Threads ``viewer`` may open (see ``permissions.can_view_thread``)."""
    if viewer.is_staff:
        return Q()
    q = category_readable_q(viewer, f"{prefix}category__")
    visible = _public(prefix)
    if viewer.is_authenticated:
        visible |= Q(**{f"{prefix}author_id": viewer.id, f"{prefix}deleted_at__isnull": True})
    return q & visible


def thread_listed_q(viewer: ForumViewer, prefix: str = "") -> Q:
    """Threads shown in lists: the visible ones, never deleted ones (staff included)."""
    return thread_visible_q(viewer, prefix) & Q(**{f"{prefix}deleted_at__isnull": True})


def notification_public_q() -> Q:
    """Notifications whose post and thread anyone may see. Moderation notices are about the
    recipient's own content or account and are always shown to them."""
    post_ok = Q(post__isnull=True) | _public("post__")
    thread_ok = Q(thread__isnull=True) | (_public("thread__") & Q(thread__category__read_access=Access.EVERYONE))
    return Q(kind=NotificationKind.MODERATION) | (post_ok & thread_ok)
