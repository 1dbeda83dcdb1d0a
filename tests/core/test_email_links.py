"""Every email the portal sends links to the site as the reader reached it, and names the
site by its name.

Emails sent while a request is answered (sign-up, password reset, key emails, the admin's
"Reveal your key") take the request's scheme and host; forum emails, sent later by a
Celery task, take the base URL of the request that triggered them; work with no request
at all falls back to ``SITE_URL``. Subjects and greetings carry the site's name, never a
raw host.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.apikeys.models import Plan
from apps.apikeys.services import apikey_issue_and_notify
from apps.forum import services as forum
from apps.forum.models import CategoryKind, Notification

from ..factories import PASSWORD, UserFactory
from ..forum.conftest import _eager_celery as forum_eager_celery
from ..forum.factories import CategoryFactory, make_thread

pytestmark = pytest.mark.django_db

HOST = "portal.test:8765"
BASE = f"http://{HOST}"
SITE_URL = "https://configured-site.example"
URL_RE = re.compile(r"https?://[^\s<>\"')\]]+")

# The forum's email task runs in-process here too (its autouse fixture).
_eager_celery = forum_eager_celery


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "portal.test"]
    settings.SITE_URL = SITE_URL
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FORUM_MIN_SECONDS_BETWEEN_POSTS = 0
    settings.FORUM_DUPLICATE_HOURS = 0


def _member(username: str, **kwargs: Any) -> Any:
    user = UserFactory(username=username, **kwargs)
    user.date_joined = timezone.now() - timedelta(days=30)
    user.save(update_fields=["date_joined"])
    return user


def _bodies(message: Any) -> list[str]:
    return [message.body, *(content for content, _ in getattr(message, "alternatives", []))]


def _assert_links_and_names(messages: list[Any], base: str) -> None:
    assert messages
    for message in messages:
        links = [link for body in _bodies(message) for link in URL_RE.findall(body)]
        wrong = [link for link in links if not link.startswith(base + "/")]
        assert not wrong, (message.subject, wrong)
        host = base.split("://", 1)[1]
        assert host not in message.subject, message.subject
        assert "127.0.0.1" not in message.subject, message.subject
        for body in _bodies(message):
            assert f"from {host}" not in body and f"using {host}" not in body, body


def test_account_emails_link_to_the_request_host_and_name_the_site(client: Any) -> None:
    member = _member("resetter")
    client.post(
        reverse("account_signup"),
        {"email": "newcomer@example.com", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST=HOST,
    )
    client.post(reverse("account_reset_password"), {"email": member.email}, HTTP_HOST=HOST)

    assert len(mail.outbox) == 2
    _assert_links_and_names(mail.outbox, BASE)
    for message in mail.outbox:
        assert message.subject.startswith("[Developer Portal] "), message.subject
        assert any(URL_RE.search(body) for body in _bodies(message))
    assert "Hello from Developer Portal!" in mail.outbox[0].body


def test_the_admins_reveal_your_key_email_links_to_the_request_host(
    client: Any, admin_user: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(admin_user)
    data = {
        "email": owner.email, "name": "partner key", "scopes": ["models:read"],
        "plan": Plan.objects.get(slug="pro").pk, "rpm": "", "quota": "", "concurrency": "", "expires_in_days": 30,
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:apikeys_apikey_issue"), data, HTTP_HOST=HOST)
    assert response.status_code in (200, 302)

    (message,) = mail.outbox
    assert f"{BASE}/account/keys/reveal/" in message.body
    _assert_links_and_names(mail.outbox, BASE)


def test_forum_emails_sent_by_the_worker_link_to_the_host_of_the_triggering_request(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    asker = _member("asker")
    helper = _member("helper")
    qa = CategoryFactory(slug="qa", name="Q&A", kind=CategoryKind.QA)
    question = make_thread(category=qa, author=asker, title="Why does classify return 202?")

    client.force_login(helper)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("forum:reply", kwargs={"pk": question.pk}),
            {"body": "It is queued: poll the job URL it returns. @asker"},
            HTTP_HOST=HOST,
        )
    answer = question.posts.order_by("-number").first()
    assert answer is not None and answer.author == helper
    client.force_login(asker)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("forum:solution", kwargs={"pk": question.pk}), {"post": str(answer.pk)}, HTTP_HOST=HOST)

    kinds = set(Notification.objects.filter(emailed_at__isnull=False).values_list("kind", flat=True))
    assert {"solution"} <= kinds and kinds & {"reply", "mention"}, kinds
    assert {m.to[0] for m in mail.outbox} >= {asker.email, helper.email}
    _assert_links_and_names(mail.outbox, BASE)
    assert all(f"{BASE}/forum/unsubscribe/" in m.body for m in mail.outbox)


def test_a_leaked_key_email_links_to_the_host_of_the_request_that_published_it(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.apikeys.services import apikey_create

    author = _member("author")
    poster = _member("poster")
    general = CategoryFactory(slug="general", name="General")
    thread = make_thread(category=general, author=author, title="Getting a 401 from the API")
    _, raw = apikey_create(owner=poster, name="mine", scopes=["models:read"])

    client.force_login(poster)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("forum:reply", kwargs={"pk": thread.pk}), {"body": f"My key {raw} gets 401"}, HTTP_HOST=HOST
        )

    revoked = [m for m in mail.outbox if "revoked" in m.subject]
    assert revoked, [m.subject for m in mail.outbox]
    assert f"{BASE}/account/keys/" in revoked[0].body
    _assert_links_and_names(mail.outbox, BASE)


def test_emails_sent_with_no_request_link_to_the_configured_site_url(
    admin_user: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        apikey_issue_and_notify(owner=owner, name="x", scopes=["models:read"], actor=admin_user)
    asker = _member("quiet-asker")
    thread = make_thread(category=CategoryFactory(slug="general"), author=asker, title="A thread of mine")
    helper = _member("quiet-helper")
    forum.post_create(author=helper, thread=thread, body="@quiet-asker a reply the sweep sends later on.")
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    forum.notification_emails_sweep()

    assert len(mail.outbox) >= 2
    assert any(f"{SITE_URL}/forum/" in m.body for m in mail.outbox)
    _assert_links_and_names(mail.outbox, SITE_URL)


def test_the_demo_links_to_the_port_it_serves_on_unless_site_url_is_set(monkeypatch: Any) -> None:
    from apps.demo.management.commands.rundemo import _site_url

    monkeypatch.delenv("SITE_URL", raising=False)
    assert _site_url("127.0.0.1", 8765) == "http://127.0.0.1:8765"
    assert _site_url("0.0.0.0", 8765)  # noqa: S104 - a --host value, nothing is bound == "http://127.0.0.1:8765"
    monkeypatch.setenv("SITE_URL", "https://portal.example")
    assert _site_url("127.0.0.1", 8765) == "https://portal.example"
