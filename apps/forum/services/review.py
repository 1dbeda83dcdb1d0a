"""Flags and the review queue: members flag posts; enough flags hide a post until a
moderator decides; the decision resolves every pending flag on the post at once."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import forum_setting
from ..errors import ForumError, InvalidInput
from ..models import Flag, FlagReason, FlagStatus, HiddenReason, Post
from ..permissions import can_flag
from .audit import audit_record, snapshot
from .common import require_can_write
from .moderation import (
    _POST_STATE,
    _lock_post,
    _post_changed,
    _resolve_flags,
    post_delete,
    post_hide,
    post_release,
    post_unhide,
    require_moderator,
)
from .notifications import notify_moderation
from .sanctions import user_silence, user_suspend

if TYPE_CHECKING:
    from apps.accounts.models import User


class ReviewDecision(models.TextChoices):
    KEEP = "keep", gettext_lazy("Keep (publish)")
    HIDE = "hide", gettext_lazy("Hide")
    DELETE = "delete", gettext_lazy("Delete")
    SILENCE = "silence", gettext_lazy("Hide and silence the author")
    SUSPEND = "suspend", gettext_lazy("Hide and suspend the author")


@transaction.atomic
def flag_create(*, post: Post, flagger: User, reason: str, text: str = "") -> Flag:
    """Flag ``post`` once. When ``FLAGS_TO_HIDE`` members have flagged it and nobody has
    reviewed it, it is hidden until a moderator decides."""
    from ..selectors.viewer import forum_viewer

    viewer = forum_viewer(flagger)
    require_can_write(viewer)
    if not can_flag(viewer, post):
        raise PermissionDenied(_("You cannot flag this post."))
    if reason not in FlagReason.values:
        raise InvalidInput(_("Choose a reason for the flag."))
    text = (text or "").strip()[:500]
    if reason == FlagReason.OTHER and not text:
        raise InvalidInput(_("Tell the moderators what is wrong with this post."))
    try:
        with transaction.atomic():
            flag = Flag.objects.create(post=post, flagger=flagger, reason=reason, text=text)
    except IntegrityError:
        raise ForumError(_("You have already flagged this post.")) from None
    post = _lock_post(post)
    pending = Flag.objects.filter(post=post, status=FlagStatus.PENDING).count()
    if pending >= forum_setting("FLAGS_TO_HIDE") and post.hidden_at is None and post.deleted_at is None:
        before = snapshot(post, _POST_STATE)
        post.hidden_at = timezone.now()
        post.hidden_reason = HiddenReason.FLAGGED
        post.hidden_note = ""
        _post_changed(post)
        audit_record(
            actor=None,
            action="post.auto_hide",
            target=post,
            reason=f"{pending} flags",
            before=before,
            after=snapshot(post, _POST_STATE),
        )
        notify_moderation(
            user=post.author,
            actor=None,
            thread=post.thread,
            post=post,
            message=_(
                "Your post in “%(title)s” was hidden after several members flagged it. A moderator will review it."
            )
            % {"title": post.thread.title},
        )
    return flag


def _default_reason(post: Post) -> str:
    reasons = list(Flag.objects.filter(post=post, status=FlagStatus.PENDING).values_list("reason", flat=True))
    if not reasons:
        return str(_("Held post reviewed")) if post.held_at else str(_("Reviewed"))
    labels = {value: str(label) for value, label in FlagReason.choices}
    counted: dict[str, int] = {}
    for reason in reasons:
        counted[labels[reason]] = counted.get(labels[reason], 0) + 1
    return _("Flagged: %(reasons)s") % {"reasons": ", ".join(f"{k} ({v})" for k, v in counted.items())}


@transaction.atomic
def review_decide(*, post: Post, moderator: User, decision: str, reason: str = "", days: int | None = None) -> Post:
    """Apply a one-click decision from the review queue to a flagged or held post.

    keep: publish a held post, un-hide a post hidden by flags, mark the flags as
    disagreed; hide / delete: as ``post_hide`` / ``post_delete``; silence / suspend:
    hide the post and sanction its author for ``days`` (None: until lifted).
    """
    require_moderator(moderator)
    if decision not in ReviewDecision.values:
        raise InvalidInput(_("Choose a decision."))
    reason = (reason or "").strip() or _default_reason(post)
    post = _lock_post(post)
    if decision == ReviewDecision.KEEP:
        if post.held_at is not None:
            post = post_release(post=post, moderator=moderator, reason=reason)
        if post.hidden_reason == HiddenReason.FLAGGED:
            post = post_unhide(post=post, moderator=moderator, reason=reason)
        resolved = _resolve_flags(post, status=FlagStatus.DISAGREED, moderator=moderator)
        audit_record(actor=moderator, action="review.keep", target=post, reason=reason, after={"flags": resolved})
        return post
    if decision == ReviewDecision.DELETE:
        return post_delete(post=post, moderator=moderator, reason=reason)
    post = post_hide(post=post, moderator=moderator, reason=reason)
    if decision in (ReviewDecision.SILENCE, ReviewDecision.SUSPEND) and post.author is not None:
        until = timezone.now() + timedelta(days=days) if days else None
        sanction = user_silence if decision == ReviewDecision.SILENCE else user_suspend
        sanction(user=post.author, moderator=moderator, reason=reason, until=until)
    return post
