"""A key is shown once and never rests in the database in a readable form: not in a key
row, the audit log, a session (raw or decoded), or any other table, neither while it
waits to be shown nor after. Every flow that makes a secret is covered: the developer's
"new key" and "rotate" pages, an admin's issue followed by the owner's reveal, and the
``issue_key`` command."""

import base64
import re
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from apps.apikeys import keyformat
from apps.apikeys.models import APIKey, Plan
from apps.apikeys.views import SECRET_SESSION_KEY

from .conftest import KeyClient, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

KEY_RE = re.compile(r"pk_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}")


def database_text() -> str:
    """Every value of every row of every table, as text; sessions also decoded."""
    chunks = []
    for model in apps.get_models(include_auto_created=True):
        for row in model._base_manager.all().values_list():
            chunks.append(" ".join(str(value) for value in row))
    for session in Session.objects.all():
        chunks.append(str(session.get_decoded()))
    return "\n".join(chunks)


def assert_nowhere(text: str, raw: str) -> None:
    secret = keyformat.parse(raw).raw.split("_", 2)[2]
    encoded = [base64.b64encode(raw.encode()).decode(), base64.urlsafe_b64encode(secret.encode()).decode()]
    for form in (raw, secret, *encoded):
        assert form not in text


def _shown_key(response) -> str:
    (raw,) = set(KEY_RE.findall(response.content.decode()))
    return raw


@pytest.fixture
def signed_in(owner):
    client = Client()
    client.force_login(owner)
    return client


def test_the_scan_sees_keys_and_sessions(signed_in, owner):
    # The scanner must find what is there, or the tests below could not fail.
    key, _raw = make_key(owner)
    signed_in.post(reverse("apikeys:key_create"), {"name": "probe", "scopes": ["models:read"], "expires_in_days": 9})
    text = database_text()
    assert key.key_id in text
    assert SECRET_SESSION_KEY in text


def test_a_key_made_on_the_new_key_page_is_never_readable_in_the_database(signed_in, owner):
    response = signed_in.post(
        reverse("apikeys:key_create"), {"name": "ci", "scopes": ["models:read"], "expires_in_days": 30}
    )
    assert response.status_code == 302
    waiting = database_text()  # the key waits to be shown: the redirect is not followed yet
    raw = _shown_key(signed_in.get(response["Location"]))
    assert_nowhere(waiting, raw)
    assert_nowhere(database_text(), raw)
    assert KeyClient(Client(), raw).get("models").status_code == 200


def test_a_rotated_key_is_never_readable_in_the_database(signed_in, owner):
    old, _old_raw = make_key(owner)
    response = signed_in.post(reverse("apikeys:key_rotate", args=[old.pk]), {"grace": "1h"})
    assert response.status_code == 302
    waiting = database_text()
    raw = _shown_key(signed_in.get(response["Location"]))
    assert_nowhere(waiting, raw)
    assert_nowhere(database_text(), raw)
    assert KeyClient(Client(), raw).get("models").status_code == 200


def test_an_issued_key_revealed_by_its_owner_is_never_readable_in_the_database(
    signed_in, owner, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    admin = Client()
    admin.force_login(admin_user)
    data = {
        "email": owner.email, "name": "partner", "scopes": ["models:read"], "plan": Plan.objects.get(slug="pro").pk,
        "rpm": "", "quota": "", "concurrency": "", "expires_in_days": 30,
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(reverse("admin:apikeys_apikey_issue"), data).status_code == 302
    key = APIKey.objects.get(owner=owner)
    response = signed_in.post(reverse("apikeys:key_reveal", args=[key.pk]))
    assert response.status_code == 302
    waiting = database_text()
    raw = _shown_key(signed_in.get(response["Location"]))
    assert_nowhere(waiting, raw)
    assert_nowhere(database_text(), raw)
    assert_nowhere("\n".join(m.body for m in mailoutbox), raw)
    assert KeyClient(Client(), raw).get("models").status_code == 200


def test_a_key_from_the_issue_key_command_goes_to_its_output_only(owner):
    out = StringIO()
    call_command("issue_key", email=owner.email, scopes="models:read", stdout=out)
    raw = out.getvalue().strip()
    assert keyformat.parse(raw) is not None
    assert_nowhere(database_text(), raw)


def test_the_cookie_half_alone_is_not_the_key(signed_in, owner):
    response = signed_in.post(
        reverse("apikeys:key_create"), {"name": "ci", "scopes": ["models:read"], "expires_in_days": 30}
    )
    cookie_half = response.cookies["apikeys_new_secret"]
    assert cookie_half["httponly"]
    assert cookie_half["samesite"] == "Strict"
    raw = _shown_key(signed_in.get(response["Location"]))
    assert_nowhere(cookie_half.value, raw)
    assert_nowhere(base64.urlsafe_b64decode(cookie_half.value).decode("latin-1"), raw)


def test_a_stash_older_than_ten_minutes_is_not_shown(signed_in, owner):
    from datetime import timedelta

    from django.utils import timezone

    response = signed_in.post(
        reverse("apikeys:key_create"), {"name": "ci", "scopes": ["models:read"], "expires_in_days": 30}
    )
    session = signed_in.session
    stash = session[SECRET_SESSION_KEY]
    stash["until"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    session[SECRET_SESSION_KEY] = stash
    session.save()
    page = signed_in.get(response["Location"])
    assert KEY_RE.findall(page.content.decode()) == []
    assert SECRET_SESSION_KEY not in signed_in.session
