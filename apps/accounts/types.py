"""Types for the people the portal serves, for annotations across the apps."""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from .models import User

# Whoever is looking: a signed-in user or the anonymous visitor (``request.user``).
Viewer: TypeAlias = User | AnonymousUser


class AuthenticatedHttpRequest(HttpRequest):
    """The request a ``login_required`` view receives: its user is signed in."""

    user: User
