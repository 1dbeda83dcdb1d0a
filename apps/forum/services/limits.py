"""Posting limits, checked in the posting transaction (the member's row is locked, so two
requests cannot both slip under a limit). Staff are exempt. Each limit says what it is
and when the member can post again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import forum_setting
from ..errors import PostingLimited
from ..models import Post, Thread
from ..permissions import ForumViewer
from ..rendering import RenderedPost

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from apps.accounts.models import User

MAX_MENTIONS = 10


def _duration(seconds: int, now: datetime) -> str:
    """A span in words: "12 seconds", "5 minutes", "1 hour, 30 minutes"."""
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    return timeuntil(now + timedelta(seconds=seconds), now)


def _wait(until: datetime, now: datetime) -> tuple[str, int]:
    """How long until ``until``, in words and in whole seconds (at least one)."""
    seconds = max(int((until - now).total_seconds()) + 1, 1)
    return (_duration(seconds, now) if seconds < 60 else timeuntil(until, now)), seconds


def content_limits_check(*, viewer: ForumViewer, rendered: RenderedPost) -> None:
    """Limits on what a post contains (new posts and edits alike)."""
    if viewer.is_staff:
        return
    if len(rendered.mentions) > MAX_MENTIONS:
        raise PostingLimited(
            ngettext(
                "You can mention at most %(count)d member in one post.",
                "You can mention at most %(count)d members in one post.",
                MAX_MENTIONS,
            )
            % {"count": MAX_MENTIONS}
        )
    if not viewer.is_new:
        return
    if rendered.image_count:
        raise PostingLimited(
            _("New members cannot post images during their first day. Link to the image instead, or try again later.")
        )
    most = forum_setting("NEW_USER_MAX_LINKS")
    if rendered.link_count > most:
        raise PostingLimited(
            ngettext(
                "New members can include at most %(count)d link in a post during their first day; "
                "this post has %(found)d.",
                "New members can include at most %(count)d links in a post during their first day; "
                "this post has %(found)d.",
                most,
            )
            % {"count": most, "found": rendered.link_count}
        )


def posting_limits_check(
    *, viewer: ForumViewer, fingerprint: str, rendered: RenderedPost, thread: Thread | None = None
) -> None:
    """Raise ``PostingLimited`` if ``viewer`` may not publish this post now.

    ``thread`` None means a new thread. Order: content, duplicate, slow mode, pace, hourly
    cap, daily threads, first-day allowances.
    """
    content_limits_check(viewer=viewer, rendered=rendered)
    if viewer.is_staff or viewer.user is None:
        return
    user = viewer.user
    now = timezone.now()
    mine = Post.objects.filter(author=user)

    hours = forum_setting("DUPLICATE_HOURS")
    if mine.filter(
        body_hash=fingerprint, created_at__gte=now - timedelta(hours=hours), deleted_at__isnull=True
    ).exists():
        raise PostingLimited(
            _("You already posted this text recently. Edit your earlier post, or write something new.")
        )

    if thread is not None:
        _slow_mode_check(mine=mine, thread=thread, now=now)

    last = mine.order_by("-created_at").values_list("created_at", flat=True).first()
    gap = timedelta(seconds=forum_setting("MIN_SECONDS_BETWEEN_POSTS"))
    if last is not None and last + gap > now:
        wait, seconds = _wait(last + gap, now)
        raise PostingLimited(
            _("You are posting too quickly. Please wait %(wait)s before posting again.") % {"wait": wait},
            retry_after=seconds,
        )

    hour_ago = now - timedelta(hours=1)
    per_hour = forum_setting("MAX_POSTS_PER_HOUR")
    recent = list(
        mine.filter(created_at__gte=hour_ago).order_by("created_at").values_list("created_at", flat=True)[:per_hour]
    )
    if len(recent) >= per_hour:
        wait, seconds = _wait(recent[0] + timedelta(hours=1), now)
        raise PostingLimited(
            ngettext(
                "You can post %(count)d time an hour. You can post again in %(wait)s.",
                "You can post %(count)d times an hour. You can post again in %(wait)s.",
                per_hour,
            )
            % {"count": per_hour, "wait": wait},
            retry_after=seconds,
        )

    threads_mine = Thread.objects.filter(author=user)
    if thread is None:
        per_day = forum_setting("MAX_THREADS_PER_DAY")
        day = list(
            threads_mine.filter(created_at__gte=now - timedelta(days=1))
            .order_by("created_at")
            .values_list("created_at", flat=True)[:per_day]
        )
        if len(day) >= per_day:
            wait, seconds = _wait(day[0] + timedelta(days=1), now)
            raise PostingLimited(
                ngettext(
                    "You can start %(count)d thread a day. You can start another in %(wait)s.",
                    "You can start %(count)d threads a day. You can start another in %(wait)s.",
                    per_day,
                )
                % {"count": per_day, "wait": wait},
                retry_after=seconds,
            )

    if viewer.is_new:
        _first_day_check(user=user, mine=mine, threads_mine=threads_mine, thread=thread, now=now)


def _slow_mode_check(*, mine: QuerySet[Post], thread: Thread, now: datetime) -> None:
    if not thread.slow_mode_seconds:
        return
    last_here = mine.filter(thread=thread).order_by("-created_at").values_list("created_at", flat=True).first()
    interval = timedelta(seconds=thread.slow_mode_seconds)
    if last_here is not None and last_here + interval > now:
        wait, seconds = _wait(last_here + interval, now)
        raise PostingLimited(
            _("This thread is in slow mode: one post every %(interval)s per member. You can post again in %(wait)s.")
            % {"interval": _duration(thread.slow_mode_seconds, now), "wait": wait},
            retry_after=seconds,
        )


def _first_day_check(
    *, user: User, mine: QuerySet[Post], threads_mine: QuerySet[Thread], thread: Thread | None, now: datetime
) -> None:
    """The allowances of a member's first day: a few threads, a few replies."""
    first_day_ends = user.date_joined + timedelta(hours=forum_setting("NEW_USER_HOURS"))
    wait, seconds = _wait(first_day_ends, now)
    if thread is None:
        most = forum_setting("NEW_USER_MAX_THREADS")
        if threads_mine.count() >= most:
            raise PostingLimited(
                ngettext(
                    "New members can start %(count)d thread on their first day. You can start more in %(wait)s.",
                    "New members can start %(count)d threads on their first day. You can start more in %(wait)s.",
                    most,
                )
                % {"count": most, "wait": wait},
                retry_after=seconds,
            )
    else:
        most = forum_setting("NEW_USER_MAX_REPLIES")
        if mine.filter(number__gt=1).count() >= most:
            raise PostingLimited(
                ngettext(
                    "New members can post %(count)d reply on their first day. You can reply again in %(wait)s.",
                    "New members can post %(count)d replies on their first day. You can reply again in %(wait)s.",
                    most,
                )
                % {"count": most, "wait": wait},
                retry_after=seconds,
            )
