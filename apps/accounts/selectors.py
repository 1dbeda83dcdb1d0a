from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import User


def user_get_public(*, username: str) -> User:
    """An active user's public page; inactive and unknown users are 404."""
    queryset: QuerySet[User] = User.objects.filter(is_active=True).select_related("profile").prefetch_related("groups")
    return get_object_or_404(queryset, username=username)
