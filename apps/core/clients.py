"""Clients for the services outside the portal's processes.

Every Redis client the portal's own code uses is built here (Celery and Django's cache
build theirs from the same URLs). This is the one place a test may patch to stand in for
the outside world; nothing else builds a connection of its own.
"""

from __future__ import annotations

import os
import threading

import kombu.exceptions
import redis

# Raised while Redis (cache, rate limits) or the Celery broker and result store on it
# cannot be reached: the same call may succeed a moment later.
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    kombu.exceptions.OperationalError,
)

_clients: dict[tuple[int, str, float | None, float | None], redis.Redis] = {}
_lock = threading.Lock()


def redis_client(
    url: str, *, socket_timeout: float | None = None, socket_connect_timeout: float | None = None
) -> redis.Redis:
    """The client for ``url`` with these timeouts, built once per process.

    A timeout of None waits as long as the operating system lets it (redis-py's default).
    A forked process gets a client of its own rather than its parent's sockets. The client
    reconnects by itself after the server restarts; commands raise ``redis.ConnectionError``
    or ``redis.TimeoutError`` while it is away, and nothing is retried here.
    """
    key = (os.getpid(), url, socket_timeout, socket_connect_timeout)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    url, socket_timeout=socket_timeout, socket_connect_timeout=socket_connect_timeout
                )
                _clients[key] = client
    return client
