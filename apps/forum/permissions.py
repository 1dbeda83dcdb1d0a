"""Who may do what in the forum: one place for every rule, as pure functions of a
``ForumViewer`` and the objects involved (no queries).

Roles: anonymous < new member (first day) < member < author (of the object) <
moderator < admin. Silenced members are read-only; suspended members read as anonymous
would. Staff (moderators and admins) see hidden, held and deleted content; authors see
their own hidden and held posts (not deleted ones); everyone else sees neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeAlias

from django.utils import timezone

from .conf import forum_setting
from .models import Access, Category, Post, Sanction, SanctionKind, Thread

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.accounts.types import Viewer


@dataclass
class ForumViewer:
    """Who is looking, with their forum roles and sanctions loaded once."""

    user: User | None = None
    is_moderator: bool = False
    is_admin: bool = False
    unread_notifications: int = 0
    sanctions: list[Sanction] = field(default_factory=list)

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    # Cached: ``user`` is usually ``request.user``, a lazy proxy that costs a call per
    # attribute, and a thread page asks these of every post.
    @cached_property
    def id(self) -> Any:
        return self.user.pk if self.user is not None else None

    @property
    def is_staff(self) -> bool:
        return self.is_moderator or self.is_admin

    @property
    def silence(self) -> Sanction | None:
        return _strongest(self.sanctions, SanctionKind.SILENCE)

    @property
    def suspension(self) -> Sanction | None:
        return _strongest(self.sanctions, SanctionKind.SUSPEND)

    @property
    def is_suspended(self) -> bool:
        return self.suspension is not None

    @property
    def is_silenced(self) -> bool:
        return self.silence is not None

    @cached_property
    def can_write(self) -> bool:
        """May post, reply, edit, like and flag at all (before object rules)."""
        return self.user is not None and self.user.is_active and not self.is_silenced and not self.is_suspended

    @property
    def is_new(self) -> bool:
        """In their first day (limits apply). Staff never are."""
        if self.user is None or self.is_staff:
            return False
        return self.user.date_joined > timezone.now() - timedelta(hours=forum_setting("NEW_USER_HOURS"))

    def owns(self, obj: Thread | Post) -> bool:
        return self.user is not None and obj.author_id == self.id


ANONYMOUS = ForumViewer()

if TYPE_CHECKING:
    # What the forum's reads accept as the viewer: ``request.user``, a resolved viewer, or
    # None for no one signed in.
    AnyViewer: TypeAlias = Viewer | ForumViewer | None


def _strongest(sanctions: list[Sanction], kind: str) -> Sanction | None:
    active = [s for s in sanctions if s.kind == kind and s.is_active]
    if not active:
        return None
    # An open-ended sanction outlasts any dated one.
    return max(active, key=lambda s: (s.ends_at is None, s.ends_at or s.starts_at))


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------
def can_read_category(viewer: ForumViewer, category: Category) -> bool:
    return category.read_access == Access.EVERYONE or viewer.is_staff


def can_view_thread(viewer: ForumViewer, thread: Thread) -> bool:
    if not can_read_category(viewer, thread.category):
        return False
    if thread.is_visible or viewer.is_staff:
        return True
    return viewer.owns(thread) and thread.deleted_at is None


def can_view_post(viewer: ForumViewer, post: Post) -> bool:
    if not can_view_thread(viewer, post.thread):
        return False
    if post.is_visible or viewer.is_staff:
        return True
    return viewer.owns(post) and post.deleted_at is None


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------
def can_start_thread(viewer: ForumViewer, category: Category) -> bool:
    if not viewer.can_write or not can_read_category(viewer, category):
        return False
    return category.post_access == Access.EVERYONE or viewer.is_staff


def can_reply(viewer: ForumViewer, thread: Thread) -> bool:
    if not viewer.can_write or not can_view_thread(viewer, thread):
        return False
    if viewer.is_staff:
        return thread.deleted_at is None
    return thread.is_visible and not thread.is_locked and not thread.is_closed


def edit_deadline(post: Post) -> datetime:
    return post.created_at + timedelta(minutes=forum_setting("EDIT_WINDOW_MINUTES"))


def can_edit_post(viewer: ForumViewer, post: Post) -> bool:
    """Staff edit any post (with a reason); authors edit their own within the window,
    unless the thread is locked or the post deleted."""
    if not viewer.can_write and not viewer.is_staff:
        return False
    if not can_view_post(viewer, post):
        return False
    if viewer.is_staff:
        return True
    return (
        viewer.owns(post)
        and post.deleted_at is None
        and not post.thread.is_locked
        and timezone.now() <= edit_deadline(post)
    )


def can_like(viewer: ForumViewer, post: Post) -> bool:
    return (
        viewer.can_write
        and post.is_visible
        and not viewer.owns(post)
        and can_view_post(viewer, post)
        and not post.thread.is_locked
    )


def can_flag(viewer: ForumViewer, post: Post) -> bool:
    return viewer.can_write and post.is_visible and not viewer.owns(post) and can_view_post(viewer, post)


def can_mark_solution(viewer: ForumViewer, thread: Thread, post: Post | None = None) -> bool:
    """The thread's author or staff, in a Q&A category, on a visible reply of the thread."""
    if not thread.category.is_qa or not can_view_thread(viewer, thread):
        return False
    if not (viewer.is_staff or (viewer.owns(thread) and viewer.can_write)):
        return False
    if thread.is_locked and not viewer.is_staff:
        return False
    if post is None:
        return True
    return post.thread_id == thread.pk and post.number > 1 and post.is_visible


def can_subscribe(viewer: ForumViewer) -> bool:
    return viewer.user is not None and viewer.user.is_active


# ---------------------------------------------------------------------------------------
# Moderation
# ---------------------------------------------------------------------------------------
def can_moderate(viewer: ForumViewer) -> bool:
    """Hide, delete, lock, pin, move, close, slow mode, split; review flags; audit log."""
    return viewer.is_staff and viewer.user is not None and viewer.user.is_active


def can_sanction(viewer: ForumViewer, target: ForumViewer) -> bool:
    """Moderators sanction members; only admins sanction moderators; nobody sanctions
    an admin or themself."""
    if not can_moderate(viewer) or target.user is None or target.id == viewer.id:
        return False
    if target.is_admin:
        return False
    if target.is_moderator:
        return viewer.is_admin
    return True


def can_lift_sanction(viewer: ForumViewer) -> bool:
    return viewer.is_admin and viewer.user is not None and viewer.user.is_active
