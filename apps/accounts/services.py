"""Writes on accounts: roles, profiles, deletion."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from . import roles
from .models import Profile, User


class UnknownRole(ValueError):
    pass


def _group(role: str) -> Group:
    if role not in roles.ROLES:
        raise UnknownRole(f"unknown role {role!r}; choose one of {', '.join(roles.ROLES)}")
    group, _ = Group.objects.get_or_create(name=role)
    return group


def profile_ensure(*, user: User) -> Profile:
    """Return the user's profile, creating an empty one if it is missing."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def role_grant(*, user: User, role: str) -> None:
    """Add ``role`` to ``user``. Admin also makes the user staff with every permission.

    Raises ``UnknownRole`` for a name outside ``roles.ROLES``.
    """
    user.groups.add(_group(role))
    if role == roles.ADMIN and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])


@transaction.atomic
def role_revoke(*, user: User, role: str) -> None:
    """Remove ``role`` from ``user``; losing Admin also removes staff rights."""
    user.groups.remove(_group(role))
    if role == roles.ADMIN and (user.is_staff or user.is_superuser):
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])


def user_assign_default_role(*, user: User) -> None:
    """Every new account is a Developer."""
    role_grant(user=user, role=roles.DEVELOPER)


def profile_update(*, user: User, display_name: str, bio: str, website: str, github: str) -> Profile:
    profile = profile_ensure(user=user)
    profile.display_name = display_name.strip()
    profile.bio = bio.strip()
    profile.website = website.strip()
    profile.github = github.strip()
    profile.full_clean()
    profile.save()
    return profile


def user_delete(*, user: User) -> None:
    """Delete the account and everything it owns (profile, email addresses, sessions)."""
    user.delete()
