"""Silencing and suspending members, and lifting it. The member is told why and until
when (in the forum and by email); every step is in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import InvalidInput
from ..models import Sanction, SanctionKind
from ..permissions import can_lift_sanction, can_sanction
from .audit import audit_record, snapshot
from .common import sanction_message
from .moderation import _required, require_moderator
from .notifications import notify_moderation

if TYPE_CHECKING:
    from apps.accounts.models import User

_FIELDS = ["kind", "reason", "starts_at", "ends_at", "lifted_at", "lift_reason"]


def _sanction(*, kind: str, user: User, moderator: User, reason: str, until: datetime | None) -> Sanction:
    from ..selectors.viewer import forum_viewer

    viewer = require_moderator(moderator)
    if not can_sanction(viewer, forum_viewer(user)):
        raise PermissionDenied(_("You cannot sanction this member."))
    reason = _required(reason)
    now = timezone.now()
    if until is not None and until <= now:
        raise InvalidInput(_("The end must be in the future."))
    sanction = Sanction.objects.create(
        user=user, kind=kind, reason=reason, starts_at=now, ends_at=until, created_by=moderator
    )
    audit_record(
        actor=moderator,
        action=f"user.{kind}",
        target=user,
        reason=reason,
        before={},
        after={**snapshot(sanction, _FIELDS), "sanction": str(sanction.pk)},
    )
    notify_moderation(user=user, actor=moderator, message=sanction_message(sanction))
    return sanction


@transaction.atomic
def user_silence(*, user: User, moderator: User, reason: str, until: datetime | None) -> Sanction:
    """Make ``user`` read-only until ``until`` (None: until lifted)."""
    return _sanction(kind=SanctionKind.SILENCE, user=user, moderator=moderator, reason=reason, until=until)


@transaction.atomic
def user_suspend(*, user: User, moderator: User, reason: str, until: datetime | None) -> Sanction:
    """Suspend ``user`` from the forum until ``until``: they read as a visitor would."""
    return _sanction(kind=SanctionKind.SUSPEND, user=user, moderator=moderator, reason=reason, until=until)


@transaction.atomic
def sanction_lift(*, sanction: Sanction, admin: User, reason: str) -> Sanction:
    """End a sanction early (admins only)."""
    from ..selectors.viewer import forum_viewer

    if not can_lift_sanction(forum_viewer(admin)):
        raise PermissionDenied(_("Only admins can lift a sanction."))
    reason = _required(reason)
    sanction = Sanction.objects.select_for_update(of=("self",)).select_related("user").get(pk=sanction.pk)
    if not sanction.is_active:
        return sanction
    before = snapshot(sanction, _FIELDS)
    sanction.lifted_at = timezone.now()
    sanction.lifted_by = admin
    sanction.lift_reason = reason
    sanction.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    audit_record(
        actor=admin,
        action="sanction.lift",
        target=sanction.user,
        reason=reason,
        before=before,
        after=snapshot(sanction, _FIELDS),
    )
    label = _("silence") if sanction.kind == SanctionKind.SILENCE else _("suspension")
    notify_moderation(
        user=sanction.user,
        actor=admin,
        message=_("An admin lifted your %(sanction)s. Reason: %(reason)s") % {"sanction": label, "reason": reason},
    )
    return sanction
