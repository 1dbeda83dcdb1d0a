"""The forum's repeated HTML (the posts of a thread page, the rows of a thread list),
rendered once and then served from a cache addressed by content.

Each fragment is rendered from a *card*: a flat dict of exactly what its template reads,
built from the models here and never holding a model, so the template cannot read anything
the key does not cover. The key is a hash of the card, of the values shared by the page, of
the templates' source, of the active language's translations and formats and of the time
zone. Nothing is ever invalidated: an edit, a like, a moderation action, a new role, a
renamed member or the clock turning "3 minutes ago" into "4 minutes ago" changes the card
and so the key, and an entry nobody asks for again expires. A fragment depends on the viewer
only through the card (what they may do with a post), so viewers who may do the same share
it. The CSRF token, which must never be shared, stays out of the cache: fragments hold a
placeholder that each response fills in.

Each process keeps the fragments it used last in memory (``RecentFragments``), in front of
the ``fragments`` cache alias where there is one (Redis, shared by every process; the
embedded default has none). Entries are a pure function of their key, so no copy is ever
stale, and a cache that fails or forgets only costs time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import django
from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.base import BaseCache
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.formats import get_format
from django.utils.html import avoid_wrapping
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import TIME_STRINGS
from django.utils.timezone import is_aware
from django.utils.translation import gettext as _
from django.utils.translation import trans_real

from apps.accounts.models import Profile, User

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import Category, Post, Thread

logger = logging.getLogger(__name__)

CACHE_ALIAS = "fragments"
TTL_SECONDS = 24 * 3600
# Part of every key: raise it when fragments render differently for a reason that neither
# their templates' source nor their cards show (a filter's code, a formatting setting).
VERSION = 1
# Stands for the CSRF token in cached HTML. Post HTML is sanitised with comments stripped
# and everything else in a fragment is escaped, so no member can write this marker.
CSRF_SLOT = mark_safe("<!--csrf-token-->")

Card = dict[str, Any]

# Per process, per template or translation catalogue (weakly: a reload replaces them).
_memos: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


class _Untranslated:
    """Stands for the catalogue when translation is deactivated."""


_UNTRANSLATED = _Untranslated()


def _active_catalog() -> Any:
    """The active language's translations (its own object per language and per reload)."""
    language = translation.get_language()
    return trans_real.translation(language) if language else _UNTRANSLATED


def _per_catalog(kind: str, make: Callable[[], Any]) -> Any:
    memo = _memos.setdefault(_active_catalog(), {})
    found = memo.get(kind)
    if found is None:
        found = memo[kind] = make()
    return found


_CHUNKS = (("week", 7 * 24 * 3600), ("day", 24 * 3600), ("hour", 3600), ("minute", 60))


def _largest_unit(value: datetime, now: datetime) -> tuple[str, int]:
    """The first unit of ``timesince(value, now, depth=1)`` and its count, by the same
    arithmetic (calendar months and years, then weeks, days, hours, minutes)."""
    if is_aware(now) and is_aware(value):
        now = now.astimezone(value.tzinfo)
    months = (now.year - value.year) * 12 + (now.month - value.month)
    if value.day > now.day or (value.day == now.day and value.time() > now.time()):
        months -= 1
    if months >= 12:
        return "year", months // 12
    if months >= 1:
        return "month", months
    seconds = (now - value).total_seconds()
    for unit, chunk in _CHUNKS:
        if seconds >= chunk:
            return unit, int(seconds // chunk)
    return "minute", 0


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """A compact relative time with one unit: "3 days ago", "just now" (what
    ``timesince(value, depth=1)`` says, plus "ago").

    Translating on every call cost a tenth of a thread page's time when it was called per
    post; the text of each unit and count is kept per catalogue instead.
    """
    if value is None:
        return ""
    now = now or timezone.now()
    texts = _per_catalog("ago", dict)
    bucket = _largest_unit(value, now) if now - value >= timedelta(minutes=1) else None
    text = texts.get(bucket)
    if text is None:
        if bucket is None:
            text = _("just now")
        else:
            unit, count = bucket
            text = _("%(time)s ago") % {"time": avoid_wrapping(TIME_STRINGS[unit] % {"num": count})}
        texts[bucket] = text
    return text


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _fingerprint(obj: Any, compute: Callable[[], str]) -> str:
    memo = _memos.setdefault(obj, {})
    found = memo.get("fingerprint")
    if found is None:
        found = memo["fingerprint"] = _digest(compute())
    return found


def _translations_fingerprint() -> str:
    catalog = getattr(_active_catalog(), "_catalog", None)
    if catalog is None:
        return "untranslated"
    return _per_catalog("fingerprint", lambda: _digest(repr(sorted((repr(k), v) for k, v in catalog.items()))))


class RecentFragments:
    """The fragments this process used last, in front of the shared cache: a page whose
    fragments are all here makes no round trip and unpickles nothing. An entry is a pure
    function of its key, so no process's copy is ever stale. Bounded by ``max_chars``, least
    recently used out first."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        found = {}
        with self._lock:
            for key in keys:
                html = self._entries.get(key)
                if html is not None:
                    self._entries.move_to_end(key)
                    found[key] = html
        return found

    def set_many(self, entries: Mapping[str, str]) -> None:
        with self._lock:
            for key, html in entries.items():
                previous = self._entries.pop(key, None)
                self._chars += len(html) - (len(previous) if previous is not None else 0)
                self._entries[key] = html
            while self._chars > self.max_chars and self._entries:
                self._chars -= len(self._entries.popitem(last=False)[1])


# Some 1,500 posts (4 to 16 MB, as the text is Latin or Chinese): the hottest pages.
_recent = RecentFragments(max_chars=4_000_000)


def _cache() -> BaseCache | None:
    try:
        return caches[CACHE_ALIAS]
    except InvalidCacheBackendError:
        return None


def render_cards(
    request: HttpRequest | None,
    template_name: str,
    cards: Sequence[Card],
    *,
    item: str,
    shared: Mapping[str, Any],
) -> SafeString:
    """The HTML of ``template_name`` rendered once per card (as ``item``, beside
    ``shared``), joined, from the cache where it can be.

    ``shared`` and every card must hold only str, int, bool, None, datetimes and lists or
    dicts of those; ``template_name`` includes no other template (the key covers its own
    source only). Cache errors are logged and the fragments rendered.
    """
    if not cards:
        return mark_safe("")
    template = get_template(template_name)
    compiled = template.template  # type: ignore[attr-defined]  # the backend's wrapper holds the compiled one
    salt = json.dumps(
        [
            VERSION,
            _fingerprint(compiled, lambda: compiled.source),
            translation.get_language(),
            _translations_fingerprint(),
            get_format("DATETIME_FORMAT"),
            timezone.get_current_timezone_name(),
            django.get_version(),
            shared,
        ],
        default=str,
    )
    salted = hashlib.blake2b(salt.encode(), digest_size=16)
    keys = []
    for card in cards:
        hasher = salted.copy()
        hasher.update(repr(card).encode())  # repr, not JSON: half the cost, as exact for these types
        keys.append(f"forum:{hasher.hexdigest()}")
    found = _recent.get_many(keys)
    cache = _cache()
    shared_found: dict[str, str] = {}
    if cache is not None and len(found) < len(keys):
        try:
            shared_found = cache.get_many([key for key in keys if key not in found])
        except Exception:  # a cache that fails must not fail the page
            logger.warning("forum fragment cache unavailable", exc_info=True)
            cache = None
    fresh: dict[str, str] = {}
    parts: list[str] = []
    for key, card in zip(keys, cards, strict=True):
        html = found.get(key) or shared_found.get(key) or fresh.get(key)
        if html is None:
            html = fresh[key] = template.render({**shared, item: card, "csrf_token": CSRF_SLOT})
        parts.append(html)
    _recent.set_many({**shared_found, **fresh})
    if fresh and cache is not None:
        try:
            cache.set_many(fresh, TTL_SECONDS)
        except Exception:  # as above
            logger.warning("forum fragment cache unavailable", exc_info=True)
    html = "".join(parts)
    if CSRF_SLOT in html:
        if request is None:
            raise ValueError("fragments with forms need the request for its CSRF token")
        html = html.replace(CSRF_SLOT, get_token(request))
    return mark_safe(html)  # noqa: S308 (rendered by our templates with autoescape on)


# ---------------------------------------------------------------------------------------
# Cards
# ---------------------------------------------------------------------------------------
def _member(user: User) -> Card:
    """Name, handle and initials of a member, with their profile."""
    profile = user.profile
    return {"username": user.username, "name": profile.name, "initials": profile.initials}


def post_card(post: Post, *, thread: Thread, now: datetime, authors: dict[Any, Card]) -> Card:
    """What ``forum/_post.html`` shows of ``post`` (from ``post_page``, with the actions
    of ``posts_mark_actions``). ``authors`` caches each author's part for the page."""
    author = None
    if post.author_id is not None:
        author = authors.get(post.author_id)
        if author is None:
            # The names come annotated (post_page); the profile's own rules make the initials.
            user = User(pk=post.author_id, username=post.author_username or "")
            user.profile = Profile(user=user, display_name=post.author_display_name or "")
            author = authors[post.author_id] = _member(user)
    reply = None
    if post.reply_to_id is not None and post.reply_to_thread_id == thread.pk:
        reply = {
            "id": str(post.reply_to_id),
            "number": post.reply_to_number,
            "username": post.reply_to_username or "",
        }
    role = "admin" if getattr(post, "author_is_admin", False) else ""
    if not role and getattr(post, "author_is_moderator", False):
        role = "moderator"
    return {
        "id": str(post.pk),
        "number": post.number,
        "author": author,
        "role": role,
        "is_op": post.number > 1 and post.author_id is not None and post.author_id == thread.author_id,
        "created_at": post.created_at,
        "created_ago": ago(post.created_at, now),
        "edit_count": post.edit_count,
        "reply_to": reply,
        "is_visible": post.is_visible,
        "held": post.held_at is not None,
        "hidden_reason": post.hidden_reason if post.hidden_at is not None else "",
        "hidden_note": post.hidden_note if post.hidden_at is not None else "",
        "deleted_ago": ago(post.deleted_at, now) if post.deleted_at is not None else "",
        "pending_flags": getattr(post, "pending_flags", 0),
        "html": post.html,
        "like_count": post.like_count,
        "liked": bool(getattr(post, "viewer_liked", False)),
        "flagged": bool(getattr(post, "viewer_flagged", False)),
        "is_solution": bool(getattr(post, "is_solution", False)),
        "can_like": bool(getattr(post, "can_like", False)),
        "can_edit": bool(getattr(post, "can_edit", False)),
        "can_flag": bool(getattr(post, "can_flag", False)),
        "can_solve": bool(getattr(post, "can_solve", False)),
    }


def thread_row_card(thread: Thread, *, category: Category | None, tag_urls: dict[str, str], now: datetime) -> Card:
    """What ``forum/_thread_row.html`` shows of ``thread`` (from ``thread_list``, marked by
    ``threads_mark_unread``) on a list of ``category`` (None: a list across categories).
    ``tag_urls`` caches each tag's URL for the page."""
    last_read = getattr(thread, "last_read", None)
    unread = getattr(thread, "unread_count", 0)
    url = thread.get_absolute_url()
    if unread and last_read:
        url = f"{url}#post-{last_read + 1}"
    tags = []
    for tag in thread.tags.all():
        if tag.slug not in tag_urls:
            tag_urls[tag.slug] = tag.get_absolute_url()
        tags.append({"slug": tag.slug, "url": tag_urls[tag.slug]})
    shown = None
    if category is None or category.pk != thread.category_id:
        shown = {
            "url": thread.category.get_absolute_url(),
            "name": thread.category.name,
            "color": thread.category.color,
        }
    return {
        "url": url,
        "title": thread.title,
        "pinned": thread.pin == "global" or (thread.pin == "category" and category is not None),
        "solved": thread.solution_id is not None,
        "locked": thread.is_locked,
        "closed": thread.is_closed,
        "held": thread.held_at is not None,
        "hidden": thread.hidden_at is not None,
        "is_new": bool(getattr(thread, "is_new", False)),
        "unread_count": unread,
        "category": shown,
        "tags": tags,
        "author": _member(thread.author) if thread.author is not None else None,
        "reply_count": thread.reply_count,
        "like_count": thread.like_count,
        "bumped_at": thread.bumped_at,
        "bumped_ago": ago(thread.bumped_at, now),
    }
