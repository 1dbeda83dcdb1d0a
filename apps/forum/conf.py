"""The forum's tunables, each overridable by a ``FORUM_*`` Django setting of the same name.

Read through ``forum_setting`` at call time (not import time), so tests can override them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Lists and pages
    "THREADS_PER_PAGE": 30,
    "POSTS_PER_PAGE": 50,
    "NEW_THREAD_DAYS": 14,  # an unseen thread bumped within this many days is "new"
    # Editing
    "EDIT_WINDOW_MINUTES": 24 * 60,
    "MAX_BODY_CHARS": 20_000,
    "MIN_BODY_CHARS": 2,
    "MIN_TITLE_CHARS": 8,
    "MAX_TAGS": 5,
    # New members (first day): few threads and replies, few links, no images
    "NEW_USER_HOURS": 24,
    "NEW_USER_MAX_THREADS": 3,
    "NEW_USER_MAX_REPLIES": 10,
    "NEW_USER_MAX_LINKS": 2,
    # Everyone (staff are exempt): a minimum gap between posts and an hourly cap
    "MIN_SECONDS_BETWEEN_POSTS": 15,
    "MAX_POSTS_PER_HOUR": 30,
    "MAX_THREADS_PER_DAY": 20,
    # The same text from the same member within this many hours is a duplicate
    "DUPLICATE_HOURS": 24,
    # Pending flags from this many members hide a post until a moderator reviews it
    "FLAGS_TO_HIDE": 3,
    # Unsubscribe links stay valid this long
    "UNSUBSCRIBE_MAX_AGE_DAYS": 90,
}


def forum_setting(name: str) -> Any:
    return getattr(settings, f"FORUM_{name}", DEFAULTS[name])
