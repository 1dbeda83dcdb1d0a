"""The append-only audit log: every staff (and system) action, written in the same
transaction as the action itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from ..models import AuditLogEntry, Post, Thread

if TYPE_CHECKING:
    from apps.accounts.models import User

SYSTEM_LABEL = "system"


def _target(target: Any) -> tuple[str, str, str]:
    if isinstance(target, Thread):
        return "thread", str(target.pk), target.title[:200]
    if isinstance(target, Post):
        return "post", str(target.pk), f"{target.thread.title[:180]} #{target.number}"
    if isinstance(target, AbstractBaseUser):
        return "user", str(target.pk), target.get_username()[:200]
    if isinstance(target, models.Model):
        return target._meta.model_name or "object", str(target.pk), str(target)[:200]
    raise TypeError(f"cannot audit a {type(target).__name__}")


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Any,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """Append one entry. ``actor`` None means the system (e.g. the key-leak guard).

    ``before``/``after`` hold only JSON values (strings, numbers, booleans, null).
    """
    target_type, target_id, target_label = _target(target)
    return AuditLogEntry.objects.create(
        actor=actor,
        actor_label=actor.get_username() if actor is not None else SYSTEM_LABEL,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        reason=reason,
        before=before or {},
        after=after or {},
    )


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """The JSON-safe values of ``fields`` on ``obj`` (datetimes as ISO strings, FKs as ids)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, models.Model):
            value = str(value.pk)
        elif value is not None and not isinstance(value, str | int | float | bool):
            value = str(value)
        out[name] = value
    return out
