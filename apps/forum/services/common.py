"""Helpers shared by the forum's services: counters, thread state, write checks."""

from __future__ import annotations

from typing import Any

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.accounts.models import User

from ..models import Post, Sanction, Thread
from ..permissions import ForumViewer

_PUBLIC = Q(held_at__isnull=True, hidden_at__isnull=True, deleted_at__isnull=True)


def thread_refresh_stats(*, thread: Thread) -> None:
    """Recount what everyone may see: replies, likes, the last post and its time."""
    public = Post.objects.filter(thread=thread).filter(_PUBLIC)
    totals = public.aggregate(
        replies=Count("pk", filter=Q(number__gt=1)), likes=Sum("like_count"), last_number=Max("number")
    )
    last = public.order_by("-number").values("created_at", "author_id").first()
    values: dict[str, Any] = {
        "reply_count": totals["replies"] or 0,
        "like_count": totals["likes"] or 0,
        "last_post_number": totals["last_number"] or 0,
        "bumped_at": last["created_at"] if last else thread.created_at,
        "last_poster_id": last["author_id"] if last else thread.author_id,
    }
    Thread.objects.filter(pk=thread.pk).update(**values)
    for name, value in values.items():
        setattr(thread, name, value)


def thread_sync_with_first_post(*, post: Post) -> None:
    """A thread is held, hidden or deleted exactly when its first post is."""
    if post.number != 1:
        return
    values = {"held_at": post.held_at, "hidden_at": post.hidden_at, "deleted_at": post.deleted_at}
    Thread.objects.filter(pk=post.thread_id).update(**values)
    for name, value in values.items():
        setattr(post.thread, name, value)


def member_lock(*, user: User) -> None:
    """Serialise one member's posting (limits are counted inside the lock)."""
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def sanction_message(sanction: Sanction) -> str:
    if sanction.ends_at is None:
        until = _("until a moderator lifts it")
    else:
        until = _("until %(date)s (%(when)s)") % {
            "date": date_format(sanction.ends_at, "DATETIME_FORMAT"),
            "when": naturaltime(sanction.ends_at),
        }
    if sanction.kind == "silence":
        text = _("You are silenced %(until)s, so you can read but not post. Reason: %(reason)s")
    else:
        text = _("Your forum account is suspended %(until)s. Reason: %(reason)s")
    return text % {"until": until, "reason": sanction.reason}


def require_can_write(viewer: ForumViewer) -> None:
    """Raise ``PermissionDenied`` with the reason when ``viewer`` may not write at all."""
    if viewer.user is None:
        raise PermissionDenied(_("Log in to take part in the forum."))
    sanction = viewer.suspension or viewer.silence
    if sanction is not None:
        raise PermissionDenied(sanction_message(sanction))
    if not viewer.user.is_active:
        raise PermissionDenied(_("This account is inactive."))
