from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts import roles
from apps.forum.models import Access, CategoryKind

from ..factories import UserFactory
from .factories import CategoryFactory, make_thread


def _established(username: str, **kwargs: Any) -> Any:
    user = UserFactory(username=username, **kwargs)
    user.date_joined = timezone.now() - timedelta(days=30)
    user.save(update_fields=["date_joined"])
    return user


@pytest.fixture(autouse=True)
def _relaxed_limits(settings: Any) -> None:
    """Most tests post several times in a row; the limit tests switch limits back on.
    Fast password hashing: the forum tests create many members and log in by session."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FORUM_MIN_SECONDS_BETWEEN_POSTS = 0
    settings.FORUM_DUPLICATE_HOURS = 0
    settings.FORUM_MAX_POSTS_PER_HOUR = 10_000
    settings.FORUM_MAX_THREADS_PER_DAY = 10_000


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Run the email task in-process. Its payload is checked to be JSON all the same
    (eager mode would hide a non-JSON argument)."""
    import json

    from apps.forum import tasks
    from portal.celery import app

    original = tasks.send_notification_emails.delay
    # The app reads Django settings under the CELERY_ namespace, so the keys carry it too.
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.CELERY_TASK_EAGER_PROPAGATES = True

    def delay(*args: Any, **kwargs: Any) -> Any:
        json.dumps([args, kwargs])
        return original(*args, **kwargs)

    tasks.send_notification_emails.delay = delay
    yield
    tasks.send_notification_emails.delay = original
    app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_TASK_EAGER_PROPAGATES = previous


@pytest.fixture
def developer(db: None) -> Any:
    """An established member (joined a month ago): no first-day limits."""
    return _established("dev")


@pytest.fixture
def other_developer(db: None) -> Any:
    return _established("helper")


@pytest.fixture
def third_developer(db: None) -> Any:
    return _established("third")


@pytest.fixture
def new_user(db: None) -> Any:
    """Joined just now: first-day limits apply."""
    return UserFactory(username="newbie")


@pytest.fixture
def forum_moderator(db: None) -> Any:
    return _established("mod", role=roles.MODERATOR)


@pytest.fixture
def forum_admin(db: None) -> Any:
    return _established("boss", role=roles.ADMIN)


@pytest.fixture
def general(db: None) -> Any:
    return CategoryFactory(slug="general", name="General", color="blue")


@pytest.fixture
def qa(db: None) -> Any:
    return CategoryFactory(slug="qa", name="Q&A", kind=CategoryKind.QA, color="green")


@pytest.fixture
def announcements(db: None) -> Any:
    return CategoryFactory(slug="announcements", name="Announcements", post_access=Access.STAFF, color="red")


@pytest.fixture
def staff_lounge(db: None) -> Any:
    return CategoryFactory(slug="staff", name="Staff lounge", read_access=Access.STAFF, post_access=Access.STAFF)


@pytest.fixture
def thread(general: Any, developer: Any) -> Any:
    return make_thread(category=general, author=developer, title="Getting a 401 from the API", replies=0)


@pytest.fixture
def question(qa: Any, developer: Any) -> Any:
    return make_thread(category=qa, author=developer, title="Why does classify return 202?")
