from __future__ import annotations

import os
from collections.abc import Iterator
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
    # Rate-limit windows and heartbeats live in the cache; each test starts clean, and in
    # English (a request to a /zh-hans/ page leaves Chinese active in this thread).
    from django.core.cache import cache
    from django.utils import translation

    cache.clear()
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


@pytest.fixture
def worker(transactional_db: None) -> Iterator[dict[str, Any]]:
    """Real Celery workers as deployed: an inference worker (solo pool, batching) and a
    web-side worker on the default and training queues, sharing the test database.
    Yields the inference worker's details, with the other under ``"web"``."""
    _require_broker()
    with celery_worker(queues="default,training") as web, celery_worker(queues="inference", pool="solo") as details:
        yield {**details, "web": web}


def _require_broker() -> None:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
    except Exception as exc:
        service_missing(f"the Celery broker is unreachable: {exc}")
