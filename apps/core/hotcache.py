"""Process-local copies of the few rows every API call reads, dropped at once on any change.

A classify call reads its key (with plan and owner) and the serving version of its model;
both change rarely and both must change everywhere at once (a revoked key stops working on
the next call, a published version answers the next call). Each process keeps its copies
in a small LRU, tagged with a *generation*: one counter in Redis (the cache of the embedded
default without Redis) that every change to those rows bumps when its transaction commits.
A call reads the counter (one round trip, no SQL, nothing to unpickle) and uses a copy only
if it was loaded under the same generation.

Order of events that keeps it exact: a reader reads the generation *before* it loads the
row, and a writer bumps it *after* it commits. A reader that loaded the old row therefore
holds it under the old generation, which no later call accepts.

Bumping is the writer's job: ``apps.core`` knows no models, so each feature app connects
its own models' ``post_save``/``post_delete`` signals to ``bump`` (see their ``apps.py``)
and calls ``bump`` after a ``QuerySet.update`` that changes what a copy holds. Where the
counter cannot be read (Redis away), nothing is cached and every call loads the row.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .clients import REDIS_UNAVAILABLE, redis_client

T = TypeVar("T")

GENERATION_KEY = "hotcache:generation"
# Copies kept per cache and process (a key is a few KiB with its plan and owner).
DEFAULT_SIZE = 2048


def _start() -> int:
    # A counter that is missing (Redis restarted empty, a fresh cache) starts at a random
    # value, never at a number an older run may have tagged copies with.
    return secrets.randbits(62)


def generation() -> int | None:
    """The current generation, or None when it cannot be read (cache nothing then).

    Inside a request it is read once: the request's later lookups (a classify call has
    two) use the value read first, unless this thread bumped since (``_bump_now``)."""
    if _request.active:
        if _request.value is None:
            _request.value = _read()
        return _request.value
    return _read()


class _RequestGeneration(threading.local):
    active = False
    value: int | None = None


_request = _RequestGeneration()


def request_started(**_: Any) -> None:
    """``request_started`` receiver (apps.core.apps): the request's first lookup reads."""
    _request.active, _request.value = True, None


def request_finished(**_: Any) -> None:
    _request.active, _request.value = False, None


def _read() -> int | None:
    try:
        if _pending.is_set():  # a bump this process could not send: send it first
            _bump_now()
        if settings.REDIS_URL:
            client = redis_client(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            value = client.get(GENERATION_KEY)
            if value is None:
                client.set(GENERATION_KEY, _start(), nx=True)
                value = client.get(GENERATION_KEY)
        else:
            value = cache.get(GENERATION_KEY)
            if value is None:
                cache.add(GENERATION_KEY, _start(), timeout=None)
                value = cache.get(GENERATION_KEY)
    except REDIS_UNAVAILABLE:
        return None
    return None if value is None else int(value)


def _bump_now() -> None:
    _request.value = None  # this request reads the new generation on its next lookup
    try:
        if settings.REDIS_URL:
            client = redis_client(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            if client.incr(GENERATION_KEY) == 1:  # it was missing: start at random instead
                client.set(GENERATION_KEY, _start())
        else:
            with contextlib.suppress(ValueError):  # no counter yet: no copy was tagged with one
                cache.incr(GENERATION_KEY)
    except REDIS_UNAVAILABLE:
        # No process can read the generation now, so none uses a copy. This process
        # bumps as soon as it reads the generation again; a process that never does
        # leaves copies valid that predate this change (a blip: Redis kept its data).
        _pending.set()
        return
    _pending.clear()


def bump(**_: Any) -> None:
    """Make every process's copies stale: now, and again once the current transaction
    commits (a reader between the two may have loaded the row as it was before the
    commit). Usable directly as a signal receiver."""
    _bump_now()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump_now)


# Set when a bump could not reach Redis (see ``_bump_now``).
_pending = threading.Event()


class HotCache:
    """An LRU of ``key -> value`` valid for one generation."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()
        _caches.add(self)

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The copy of ``key`` for the current generation, else ``load()`` (kept if it
        returns without raising)."""
        current = generation()
        if current is None:
            return load()
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] == current:
                self._items.move_to_end(key)
                return item[1]
        value = load()
        with self._lock:
            self._items[key] = (current, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_caches: weakref.WeakSet[HotCache] = weakref.WeakSet()


def clear_all() -> None:
    """Drop every copy this process holds (tests start each case with none)."""
    for hot in list(_caches):
        hot.clear()
