"""For the site-wide header: the forum bell's unread count on every page (one query for
signed-in members, none for visitors). Enable by adding
``"apps.forum.context_processors.forum_bell"`` to the template context processors."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def forum_bell(request: HttpRequest) -> dict[str, object]:
    def unread() -> int:
        from .selectors import forum_viewer

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return 0
        viewer = getattr(request, "_forum_viewer", None) or forum_viewer(user)
        # A per-request cache that the forum views share (views/common.py).
        request._forum_viewer = viewer  # type: ignore[attr-defined]
        return viewer.unread_notifications

    # Lazy: pages that never show the bell never pay for it.
    return {"forum_unread_notifications": SimpleLazyObject(unread)}
