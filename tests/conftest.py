from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from apps.accounts import roles

from .factories import UserFactory
from .services import celery_worker, service_missing


@pytest.fixture(scope="session", autouse=True)
def _services_configuration(django_db_setup: None, django_db_blocker: Any) -> None:
    """With PORTAL_TEST_CONFIG=services the suite must really be on PostgreSQL and Redis."""
    if os.environ.get("PORTAL_TEST_CONFIG") != "services":
        return
    with django_db_blocker.unblock():
        vendor = connection.vendor
    if vendor != "postgresql":
        service_missing(f"PORTAL_TEST_CONFIG=services but the database is {vendor}")
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        service_missing("PORTAL_TEST_CONFIG=services but the cache is not Redis")


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    # Rate-limit windows and heartbeats live in the cache, jobs in flight beside the
    # results, copies of keys and serving versions in each process; each test starts
    # clean, and in English (a request to a /zh-hans/ page leaves Chinese active in this
    # thread).
    from django.core.cache import cache
    from django.utils import translation

    from apps.core import hotcache
    from apps.inference.inflight import KEY_PREFIX, counts_in_redis
    from apps.inference.tasks import classify

    cache.clear()
    hotcache.clear_all()
    if counts_in_redis():
        client = classify.backend.client
        stale = list(client.scan_iter(match=KEY_PREFIX + "*", count=1000))
        if stale:
            client.delete(*stale)
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def fixed_head_artifact() -> Any:
    """A classifier artifact whose answer is known in advance (see tests/models.py)."""
    from pathlib import Path

    from .models import build_fixed_head_artifact

    return build_fixed_head_artifact(Path(settings.MODEL_ARTIFACTS_DIR) / "tests" / "fixed-head")


@pytest.fixture
def owner(db: None) -> Any:
    return UserFactory(username="owner")


@pytest.fixture
def outsider(db: None) -> Any:
    return UserFactory(username="outsider")


@pytest.fixture
def moderator(db: None) -> Any:
    return UserFactory(username="moderator", role=roles.MODERATOR)


@pytest.fixture
def admin_user(db: None) -> Any:
    return UserFactory(username="admin", role=roles.ADMIN)


class WorkerPair:
    """The shared workers: started on first use (a worker takes seconds to import torch
    and load models) and kept for the run; a test that needs the queue to itself calls
    ``stop()`` and the next ``worker`` test starts a fresh pair."""

    def __init__(self) -> None:
        self._stack: ExitStack | None = None
        self.details: dict[str, Any] = {}

    def ensure(self) -> dict[str, Any]:
        alive = self._stack is not None and all(
            d["process"].poll() is None for d in (self.details, self.details["web"])
        )
        if not alive:
            self.stop()
            _require_broker()
            stack = ExitStack()
            web = stack.enter_context(celery_worker(queues="default,training"))
            inference = stack.enter_context(celery_worker(queues="inference", pool="solo"))
            self._stack, self.details = stack, {**inference, "web": web}
        return self.details

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack, self.details = None, {}


@pytest.fixture(scope="session")
def worker_pair(django_db_setup: None) -> Iterator[WorkerPair]:
    pair = WorkerPair()
    yield pair
    pair.stop()


@pytest.fixture
def worker(transactional_db: None, worker_pair: WorkerPair) -> dict[str, Any]:
    """Real Celery workers as deployed: an inference worker (solo pool, batching) and a
    web-side worker on the default and training queues, sharing the test database.
    Returns the inference worker's details, with the other under ``"web"``."""
    import time

    from apps.inference.selectors import worker_list_live

    details = worker_pair.ensure()
    # Each test starts with an empty cache: wait for the next heartbeats.
    deadline = time.monotonic() + 30
    names = {details["hostname"], details["web"]["hostname"]}
    while not names <= {w["hostname"] for w in worker_list_live()}:
        if time.monotonic() > deadline:
            pytest.fail("the shared workers stopped beating")
        time.sleep(0.1)
    return details


def _require_broker() -> None:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
    except Exception as exc:
        service_missing(f"the Celery broker is unreachable: {exc}")


# --- Network guard ------------------------------------------------------------------
# The suite must not depend on the network: a socket in the test process may connect to
# loopback, to a unix socket, or to the hosts of the configured database, cache, broker
# and result backend (CI reaches its service containers by name), and to nothing else.
# Processes the tests start (workers, gunicorn) are not covered.


class NetworkBlocked(RuntimeError):
    """A test tried to reach an address outside loopback and the configured services."""


def _configured_service_hosts() -> tuple[set[str], set[str]]:
    """(host names, IP addresses) of the services named in the settings."""
    import socket
    from urllib.parse import urlsplit

    names = {str(db.get("HOST") or "") for db in settings.DATABASES.values()}
    urls = [settings.CELERY_BROKER_URL, str(settings.CELERY_RESULT_BACKEND or "")]
    for cache in settings.CACHES.values():
        location = cache.get("LOCATION") or ""
        urls.extend([location] if isinstance(location, str) else list(location))
    for url in urls:
        for part in str(url).split(";"):  # kombu's failover form: "redis://a;redis://b"
            if "://" in part:
                names.add(urlsplit(part).hostname or "")
    names = {name for name in names if name and not name.startswith("/")}
    addresses: set[str] = set()
    for name in names:
        try:
            addresses.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except OSError:  # a service host that does not resolve is simply not allowed
            continue
    return names, addresses


def _network_address_allowed(host: str, names: set[str], addresses: set[str]) -> bool:
    import ipaddress

    if host == "localhost" or host in names or host in addresses:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # "fe80::1%eth0": drop the zone
    except ValueError:
        return False  # a host name that is not a configured service: never resolved
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.fixture(scope="session", autouse=True)
def _loopback_only_network() -> Iterator[None]:
    import socket

    names, addresses = _configured_service_hosts()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets and the like stay on this machine
        if not _network_address_allowed(str(address[0]), names, addresses):
            raise NetworkBlocked(
                f"connect to {address!r} refused: tests may reach loopback, unix sockets and the "
                f"configured services ({', '.join(sorted(names)) or 'none'}) only"
            )

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]  # the guard is the point
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]
