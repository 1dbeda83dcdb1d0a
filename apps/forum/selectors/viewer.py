"""Who is looking: roles, sanctions and the notification count in one query."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Now

from apps.accounts import roles
from apps.accounts.models import User

from ..models import Notification, Sanction
from ..permissions import ANONYMOUS, ForumViewer
from .visibility import notification_public_q

if TYPE_CHECKING:
    from ..permissions import AnyViewer

STAFF_ROLES = (roles.MODERATOR, roles.ADMIN)
_Membership = User.groups.through


def _has_role(role: str | tuple[str, ...], ref: str = "pk") -> Exists:
    names = (role,) if isinstance(role, str) else role
    return Exists(_Membership.objects.filter(user_id=OuterRef(ref), group__name__in=names))


def unread_notifications_subquery(ref: str = "pk") -> Coalesce:
    visible = notification_public_q() | _has_role(STAFF_ROLES, "recipient_id")
    counted = (
        Notification.objects.filter(recipient_id=OuterRef(ref), read_at__isnull=True)
        .filter(visible)
        .order_by()
        .values("recipient_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@functools.cache
def _viewer_rows() -> QuerySet[Any, Any]:
    """Roles, sanctions and unread count of every user, to be filtered to one. Built once
    per process: building its subqueries took twice as long as running the query, on every
    forum page. Nothing in it depends on the request (the database's clock dates the
    sanctions), and filtering clones it."""
    return User.objects.annotate(
        _mod=_has_role(roles.MODERATOR),
        _admin=_has_role(roles.ADMIN),
        _sanctioned=Exists(Sanction.objects.active(at=Now()).filter(user_id=OuterRef("pk"))),
        _unread=unread_notifications_subquery(),
    ).values("_mod", "_admin", "_sanctioned", "_unread", "is_superuser")


def forum_viewer(user: AnyViewer) -> ForumViewer:
    """The ``ForumViewer`` for ``user`` (a User, AnonymousUser, None or a ForumViewer).

    One query for a signed-in member; a second only when a sanction is active.
    """
    if isinstance(user, ForumViewer):
        return user
    if not isinstance(user, User):  # None or the anonymous visitor
        return ANONYMOUS
    row = _viewer_rows().filter(pk=user.pk).first()
    if row is None:
        return ANONYMOUS
    sanctions = list(Sanction.objects.active().filter(user_id=user.pk)) if row["_sanctioned"] else []
    return ForumViewer(
        user=user,
        is_moderator=row["_mod"],
        is_admin=row["_admin"] or row["is_superuser"],
        unread_notifications=row["_unread"],
        sanctions=sanctions,
    )


def staff_user_ids(user_ids: list[Any]) -> dict[Any, str]:
    """The staff role (``Admin`` over ``Moderator``) of each of ``user_ids`` that has one."""
    found: dict[Any, str] = {}
    for user_id, name in _Membership.objects.filter(user_id__in=user_ids, group__name__in=STAFF_ROLES).values_list(
        "user_id", "group__name"
    ):
        if found.get(user_id) != roles.ADMIN:
            found[user_id] = name
    return found


def role_annotations(prefix: str) -> dict[str, Exists]:
    """Annotations saying whether the user at ``prefix`` (e.g. ``author_id``) is staff."""
    return {
        "author_is_admin": _has_role(roles.ADMIN, prefix),
        "author_is_moderator": _has_role(roles.MODERATOR, prefix),
    }


__all__ = ["forum_viewer", "role_annotations", "staff_user_ids", "unread_notifications_subquery"]
