"""Reads for staff: the review queue, the audit log, sanctions. Non-staff get 404."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404

from ..models import AuditLogEntry, Flag, FlagStatus, Post, Sanction
from ..permissions import ForumViewer, can_moderate
from .viewer import forum_viewer

if TYPE_CHECKING:
    from ..permissions import AnyViewer

AUDIT_ACTIONS = (
    "post.hide",
    "post.unhide",
    "post.delete",
    "post.restore",
    "post.edit",
    "post.release",
    "post.hold",
    "post.auto_hide",
    "review.keep",
    "thread.lock",
    "thread.unlock",
    "thread.close",
    "thread.reopen",
    "thread.pin",
    "thread.unpin",
    "thread.move",
    "thread.slow_mode",
    "thread.split",
    "thread.solve",
    "thread.unsolve",
    "user.silence",
    "user.suspend",
    "sanction.lift",
    "category.create",
    "category.change",
    "category.delete",
)
AUDIT_TARGET_TYPES = ("post", "thread", "user", "category")


def _require_staff(viewer: AnyViewer) -> ForumViewer:
    viewer = forum_viewer(viewer)
    if not can_moderate(viewer):
        raise Http404("staff only")
    return viewer


def review_queue(*, viewer: AnyViewer, show: str = "all") -> QuerySet[Post]:
    """Posts waiting for a decision: with pending flags (``flagged``), held (``held``) or
    both (``all``); the longest-waiting first. Each post carries ``open_flags``."""
    _require_staff(viewer)
    pending = Flag.objects.filter(post=OuterRef("pk"), status=FlagStatus.PENDING)
    flagged = Q(Exists(pending))
    held = Q(held_at__isnull=False)
    condition = {"flagged": flagged, "held": held}.get(show, flagged | held)
    return (
        Post.objects.filter(condition, deleted_at__isnull=True)
        .annotate(
            waiting_since=Coalesce(Min("flags__created_at", filter=Q(flags__status=FlagStatus.PENDING)), "held_at")
        )
        .select_related("thread__category", "author__profile")
        .prefetch_related(
            Prefetch(
                "flags",
                queryset=Flag.objects.filter(status=FlagStatus.PENDING)
                .select_related("flagger")
                .order_by("created_at"),
                to_attr="open_flags",
            )
        )
        .order_by("waiting_since", "created_at")
    )


def review_queue_count(*, viewer: AnyViewer) -> int:
    viewer = forum_viewer(viewer)
    if not can_moderate(viewer):
        return 0
    pending = Flag.objects.filter(post=OuterRef("pk"), status=FlagStatus.PENDING)
    return Post.objects.filter(Q(Exists(pending)) | Q(held_at__isnull=False), deleted_at__isnull=True).count()


def author_histories(*, viewer: AnyViewer, posts: list[Post]) -> dict[Any, dict[str, Any]]:
    """For each author of ``posts``: posts, hidden, deleted, flags upheld, sanctions (active
    first). Three queries whatever the number of posts."""
    _require_staff(viewer)
    ids = {p.author_id for p in posts if p.author_id}
    history: dict[Any, dict[str, Any]] = {
        i: {"posts": 0, "hidden": 0, "deleted": 0, "flags_upheld": 0, "sanctions": []} for i in ids
    }
    for row in (
        Post.objects.filter(author_id__in=ids)
        .values("author_id")
        .annotate(
            total=Count("pk"),
            hidden=Count("pk", filter=Q(hidden_at__isnull=False)),
            deleted=Count("pk", filter=Q(deleted_at__isnull=False)),
        )
    ):
        history[row["author_id"]].update(posts=row["total"], hidden=row["hidden"], deleted=row["deleted"])
    for upheld in (
        Flag.objects.filter(post__author_id__in=ids, status=FlagStatus.AGREED)
        .values("post__author_id")
        .annotate(n=Count("pk"))
    ):
        history[upheld["post__author_id"]]["flags_upheld"] = upheld["n"]
    for sanction in Sanction.objects.filter(user_id__in=ids).order_by("-created_at"):
        history[sanction.user_id]["sanctions"].append(sanction)
    return history


def audit_log(
    *,
    viewer: AnyViewer,
    actor: str = "",
    action: str = "",
    target_type: str = "",
    target_id: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditLogEntry]:
    """Entries newest first, filtered by actor name, action, target and time."""
    _require_staff(viewer)
    entries = AuditLogEntry.objects.all()
    if actor:
        entries = entries.filter(actor_label__iexact=actor.strip())
    if action:
        entries = entries.filter(action=action)
    if target_type:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=target_id.strip())
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lt=until)
    return entries.order_by("-created_at", "-id")


def sanction_list(*, viewer: AnyViewer, active_only: bool = True) -> QuerySet[Sanction]:
    _require_staff(viewer)
    sanctions = Sanction.objects.all() if not active_only else Sanction.objects.active()
    return sanctions.select_related("user__profile", "created_by", "lifted_by").order_by("-created_at")


def sanction_get(*, viewer: AnyViewer, pk: Any) -> Sanction:
    _require_staff(viewer)
    sanction = Sanction.objects.select_related("user").filter(pk=pk).first()
    if sanction is None:
        raise Http404("no such sanction")
    return sanction
