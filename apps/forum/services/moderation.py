"""Moderators' actions on posts and threads. Each one checks ``can_moderate``, writes an
audit log entry in the same transaction (actor, action, target, reason, before, after)
and tells the author when their content changes visibility."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import ForumError, InvalidInput
from ..models import Category, Flag, FlagStatus, HiddenReason, PinScope, Post, Thread
from ..permissions import ForumViewer, can_moderate
from ..rendering import thread_slug
from .audit import audit_record, snapshot
from .common import thread_refresh_stats, thread_sync_with_first_post
from .notifications import notifications_for_published_post, notify_moderation, subscription_watch_default

if TYPE_CHECKING:
    from apps.accounts.models import User

MAX_SLOW_MODE_SECONDS = 86400


def require_moderator(actor: User) -> ForumViewer:
    from ..selectors.viewer import forum_viewer

    viewer = forum_viewer(actor)
    if not can_moderate(viewer):
        raise PermissionDenied(_("Only moderators and admins can do this."))
    return viewer


def _required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason: it is shown to the author and kept in the audit log."))
    return reason[:500]


def _lock_post(post: Post) -> Post:
    return Post.objects.select_for_update(of=("self",)).select_related("thread__category", "author").get(pk=post.pk)


def _lock_thread(thread: Thread) -> Thread:
    return Thread.objects.select_for_update(of=("self",)).select_related("category", "author").get(pk=thread.pk)


def _resolve_flags(post: Post, *, status: str, moderator: User) -> int:
    return Flag.objects.filter(post=post, status=FlagStatus.PENDING).update(
        status=status, resolved_at=timezone.now(), resolved_by=moderator
    )


_POST_STATE = ["held_at", "hidden_at", "hidden_reason", "deleted_at"]


def _post_changed(post: Post) -> None:
    post.save(
        update_fields=[
            "held_at",
            "held_reason",
            "hidden_at",
            "hidden_reason",
            "hidden_note",
            "deleted_at",
            "updated_at",
        ]
    )
    thread_sync_with_first_post(post=post)
    if post.number > 1 and not post.is_visible and post.thread.solution_id == post.pk:
        Thread.objects.filter(pk=post.thread_id).update(solution=None, solved_at=None)
        post.thread.solution_id = None
    thread_refresh_stats(thread=post.thread)


# ---------------------------------------------------------------------------------------
# Posts
# ---------------------------------------------------------------------------------------
@transaction.atomic
def post_hide(*, post: Post, moderator: User, reason: str) -> Post:
    """Hide a post (a first post hides its thread) from everyone but staff and its author."""
    require_moderator(moderator)
    reason = _required(reason)
    post = _lock_post(post)
    if post.deleted_at is not None:
        raise ForumError(_("This post is deleted; restore it first."))
    before = snapshot(post, _POST_STATE)
    post.hidden_at = post.hidden_at if post.hidden_reason == HiddenReason.MODERATOR else timezone.now()
    post.hidden_reason = HiddenReason.MODERATOR
    post.hidden_note = reason
    _post_changed(post)
    _resolve_flags(post, status=FlagStatus.AGREED, moderator=moderator)
    audit_record(
        actor=moderator,
        action="post.hide",
        target=post,
        reason=reason,
        before=before,
        after=snapshot(post, _POST_STATE),
    )
    notify_moderation(
        user=post.author,
        actor=moderator,
        thread=post.thread,
        post=post,
        message=_("A moderator hid your post in “%(title)s”. Reason: %(reason)s")
        % {"title": post.thread.title, "reason": reason},
    )
    return post


@transaction.atomic
def post_unhide(*, post: Post, moderator: User, reason: str = "") -> Post:
    require_moderator(moderator)
    post = _lock_post(post)
    if post.hidden_at is None:
        return post
    before = snapshot(post, _POST_STATE)
    was_flagged = post.hidden_reason == HiddenReason.FLAGGED
    post.hidden_at = None
    post.hidden_reason = ""
    post.hidden_note = ""
    _post_changed(post)
    if was_flagged:
        _resolve_flags(post, status=FlagStatus.DISAGREED, moderator=moderator)
    audit_record(
        actor=moderator,
        action="post.unhide",
        target=post,
        reason=reason,
        before=before,
        after=snapshot(post, _POST_STATE),
    )
    notify_moderation(
        user=post.author,
        actor=moderator,
        thread=post.thread,
        post=post,
        message=_("A moderator made your post in “%(title)s” visible again.") % {"title": post.thread.title},
    )
    return post


@transaction.atomic
def post_delete(*, post: Post, moderator: User, reason: str) -> Post:
    """Soft-delete: only staff still see it (and can restore it). A first post deletes
    its thread."""
    require_moderator(moderator)
    reason = _required(reason)
    post = _lock_post(post)
    if post.deleted_at is not None:
        return post
    before = snapshot(post, _POST_STATE)
    post.deleted_at = timezone.now()
    _post_changed(post)
    _resolve_flags(post, status=FlagStatus.AGREED, moderator=moderator)
    audit_record(
        actor=moderator,
        action="post.delete",
        target=post,
        reason=reason,
        before=before,
        after=snapshot(post, _POST_STATE),
    )
    notify_moderation(
        user=post.author,
        actor=moderator,
        thread=post.thread,
        message=_("A moderator deleted your post in “%(title)s”. Reason: %(reason)s")
        % {"title": post.thread.title, "reason": reason},
    )
    return post


@transaction.atomic
def post_restore(*, post: Post, moderator: User, reason: str = "") -> Post:
    require_moderator(moderator)
    post = _lock_post(post)
    if post.deleted_at is None:
        return post
    before = snapshot(post, _POST_STATE)
    post.deleted_at = None
    _post_changed(post)
    audit_record(
        actor=moderator,
        action="post.restore",
        target=post,
        reason=reason,
        before=before,
        after=snapshot(post, _POST_STATE),
    )
    return post


@transaction.atomic
def post_release(*, post: Post, moderator: User, reason: str = "") -> Post:
    """Publish a held post (its keys are already redacted) and send the notifications
    that were held back with it."""
    require_moderator(moderator)
    post = _lock_post(post)
    if post.held_at is None:
        return post
    before = snapshot(post, _POST_STATE)
    post.held_at = None
    post.held_reason = ""
    _post_changed(post)
    audit_record(
        actor=moderator,
        action="post.release",
        target=post,
        reason=reason,
        before=before,
        after=snapshot(post, _POST_STATE),
    )
    notify_moderation(
        user=post.author,
        actor=moderator,
        thread=post.thread,
        post=post,
        message=_("A moderator published your post in “%(title)s”.") % {"title": post.thread.title},
    )
    if post.is_visible and post.thread.is_visible:
        notifications_for_published_post(post=post)
    return post


# ---------------------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------------------
def _thread_change(*, thread: Thread, moderator: User, action: str, fields: dict[str, Any], reason: str = "") -> Thread:
    require_moderator(moderator)
    thread = _lock_thread(thread)
    before = snapshot(thread, list(fields))
    if all(getattr(thread, name) == value for name, value in fields.items()):
        return thread
    for name, value in fields.items():
        setattr(thread, name, value)
    thread.save(update_fields=[*fields, "updated_at"])
    audit_record(
        actor=moderator,
        action=action,
        target=thread,
        reason=reason,
        before=before,
        after=snapshot(thread, list(fields)),
    )
    return thread


@transaction.atomic
def thread_lock(*, thread: Thread, moderator: User, reason: str = "") -> Thread:
    """Nobody but staff can reply, edit or like in a locked thread."""
    return _thread_change(
        thread=thread, moderator=moderator, action="thread.lock", fields={"is_locked": True}, reason=reason
    )


@transaction.atomic
def thread_unlock(*, thread: Thread, moderator: User, reason: str = "") -> Thread:
    return _thread_change(
        thread=thread, moderator=moderator, action="thread.unlock", fields={"is_locked": False}, reason=reason
    )


@transaction.atomic
def thread_close(*, thread: Thread, moderator: User, reason: str = "") -> Thread:
    """A closed thread takes no new replies (from members); posts can still be edited."""
    return _thread_change(
        thread=thread, moderator=moderator, action="thread.close", fields={"is_closed": True}, reason=reason
    )


@transaction.atomic
def thread_reopen(*, thread: Thread, moderator: User, reason: str = "") -> Thread:
    return _thread_change(
        thread=thread, moderator=moderator, action="thread.reopen", fields={"is_closed": False}, reason=reason
    )


@transaction.atomic
def thread_pin(*, thread: Thread, moderator: User, scope: str = PinScope.CATEGORY, reason: str = "") -> Thread:
    """Pin at the top of its category, or of every list (``scope="global"``)."""
    if scope not in (PinScope.CATEGORY, PinScope.GLOBAL):
        raise InvalidInput(_("Choose where to pin the thread."))
    current = Thread.objects.filter(pk=thread.pk).values_list("pinned_at", flat=True).first()
    return _thread_change(
        thread=thread,
        moderator=moderator,
        action="thread.pin",
        fields={"pin": scope, "pinned_at": current or timezone.now()},
        reason=reason,
    )


@transaction.atomic
def thread_unpin(*, thread: Thread, moderator: User, reason: str = "") -> Thread:
    return _thread_change(
        thread=thread,
        moderator=moderator,
        action="thread.unpin",
        fields={"pin": PinScope.NONE, "pinned_at": None},
        reason=reason,
    )


@transaction.atomic
def thread_move(*, thread: Thread, category: Category, moderator: User, reason: str) -> Thread:
    reason = _required(reason)
    thread = _thread_change(
        thread=thread, moderator=moderator, action="thread.move", fields={"category": category}, reason=reason
    )
    if not category.is_qa and thread.solution_id:
        Thread.objects.filter(pk=thread.pk).update(solution=None, solved_at=None)
        thread.solution_id = None
    return thread


@transaction.atomic
def thread_slow_mode_set(*, thread: Thread, seconds: int, moderator: User, reason: str = "") -> Thread:
    """One post per member every ``seconds`` in this thread; 0 turns slow mode off."""
    if not 0 <= int(seconds) <= MAX_SLOW_MODE_SECONDS:
        raise InvalidInput(_("Slow mode can be at most one day between posts."))
    return _thread_change(
        thread=thread,
        moderator=moderator,
        action="thread.slow_mode",
        fields={"slow_mode_seconds": int(seconds)},
        reason=reason,
    )


@transaction.atomic
def thread_split(
    *, thread: Thread, posts: list[Post], title: str, moderator: User, reason: str, category: Category | None = None
) -> Thread:
    """Move replies of ``thread`` into a new thread (the earliest becomes its first post),
    keeping their order, authors, likes and edit history."""
    from .posting import _clean_title

    require_moderator(moderator)
    reason = _required(reason)
    title = _clean_title(title)
    thread = _lock_thread(thread)
    numbers = sorted({p.number for p in posts if p.thread_id == thread.pk and p.number > 1})
    if not numbers or len(numbers) != len(posts):
        raise InvalidInput(_("Choose one or more replies of this thread (not its first post)."))
    moving = list(
        Post.objects.select_for_update(of=("self",)).filter(thread=thread, number__in=numbers).order_by("number")
    )
    first = moving[0]
    new_thread = Thread.objects.create(
        category=category or thread.category,
        title=title,
        slug=thread_slug(title),
        author=first.author,
        language=thread.language,
        bumped_at=first.created_at,
        post_number_seq=len(moving),
        last_poster=first.author,
    )
    Thread.objects.filter(pk=new_thread.pk).update(created_at=first.created_at)
    new_thread.created_at = first.created_at
    for index, post in enumerate(moving, start=1):
        Post.objects.filter(pk=post.pk).update(thread=new_thread, number=index)
        post.thread = new_thread
        post.number = index
    first.reply_to = None
    Post.objects.filter(pk=first.pk).update(reply_to=None)
    thread_sync_with_first_post(post=first)
    if thread.solution_id in {p.pk for p in moving}:
        Thread.objects.filter(pk=thread.pk).update(solution=None, solved_at=None)
        thread.solution_id = None
    thread_refresh_stats(thread=thread)
    thread_refresh_stats(thread=new_thread)
    if first.author is not None:
        subscription_watch_default(user=first.author, thread=new_thread)
    audit_record(
        actor=moderator,
        action="thread.split",
        target=thread,
        reason=reason,
        before={"posts": numbers},
        after={"new_thread": str(new_thread.pk), "title": title},
    )
    authors = {p.author_id for p in moving if p.author_id}
    for author_id in authors:
        notify_moderation(
            user=next(p.author for p in moving if p.author_id == author_id),
            actor=moderator,
            thread=new_thread,
            message=_("A moderator moved your post from “%(old)s” to a new thread, “%(new)s”. Reason: %(reason)s")
            % {"old": thread.title, "new": title, "reason": reason},
        )
    return new_thread
