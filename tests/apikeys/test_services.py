"""The key services' own rules: input checks, id collisions, idempotent revocation, leaked
keys, deactivated owners and plan requests."""

import secrets
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.apikeys import keyformat
from apps.apikeys.models import APIKey, KeyEvent, KeyRequest, Plan, RequestStatus
from apps.apikeys.services import (
    apikey_authenticate,
    apikey_create,
    apikey_revoke,
    apikey_revoke_leaked,
    apikey_rotate,
    key_request_create,
    key_request_decide,
)
from apps.core.errors import ApiKeyRevoked

from .conftest import KeyClient, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _events(key) -> list[str]:
    return list(KeyEvent.objects.filter(key=key).order_by("created_at", "id").values_list("action", flat=True))


def test_a_key_needs_a_name_and_at_least_one_scope_and_nothing_is_made_without_them(owner):
    with pytest.raises(ValidationError, match="Give the key a name"):
        apikey_create(owner=owner, name="   ", scopes=["models:read"])
    with pytest.raises(ValidationError, match="Choose at least one scope"):
        apikey_create(owner=owner, name="ci", scopes=[])
    with pytest.raises(ValidationError, match="Unknown scopes: admin"):
        apikey_create(owner=owner, name="ci", scopes=["admin", "models:read"])
    assert not APIKey.objects.exists()
    assert not KeyEvent.objects.exists()


def test_a_key_id_that_is_taken_is_drawn_again_and_five_collisions_in_a_row_give_up(owner, monkeypatch):
    draws = iter(range(10**6))

    def first_key_again(alphabet):
        # The first two keys' 40 draws (8 for the id, 32 for the secret) are all the same
        # character; after that, fresh randomness.
        return alphabet[0] if next(draws) < 80 else secrets.SystemRandom().choice(alphabet)

    monkeypatch.setattr(secrets, "choice", first_key_again)
    first, first_raw = make_key(owner)
    second, second_raw = make_key(owner)
    assert first.key_id == "0" * keyformat.ID_LENGTH
    assert second.key_id != first.key_id
    assert apikey_authenticate(raw=first_raw) == first
    assert apikey_authenticate(raw=second_raw) == second
    assert _events(second) == ["created"]

    monkeypatch.setattr(secrets, "choice", lambda alphabet: alphabet[0])
    with pytest.raises(RuntimeError, match="could not allocate a key id"):
        make_key(owner)
    assert APIKey.objects.count() == 2
    assert KeyEvent.objects.filter(action="created").count() == 2


def test_revoking_a_revoked_key_again_keeps_the_first_time_and_reason_and_logs_once(owner):
    key, _raw = make_key(owner)
    apikey_revoke(key=key, actor=owner, reason="laptop stolen")
    first = key.revoked_at
    again = apikey_revoke(key=key, actor=owner, reason="second click")
    assert (again.revoked_at, again.revoked_reason) == (first, "laptop stolen")
    assert _events(key) == ["created", "revoked"]


def test_only_an_active_key_rotates_and_only_with_a_grace_of_0_to_30_days(owner):
    key, _raw = make_key(owner)
    for grace in (timedelta(seconds=-1), timedelta(days=30, seconds=1)):
        with pytest.raises(ValidationError, match="between 0 and 30 days"):
            apikey_rotate(key=key, actor=owner, grace=grace)
    new, _new_raw = apikey_rotate(key=key, actor=owner, grace=timedelta(days=30))
    assert key.replaced_by == new
    expired, _raw = make_key(owner)
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired.refresh_from_db()
    revoked, _raw = make_key(owner)
    apikey_revoke(key=revoked, actor=owner)
    for inactive in (expired, revoked):
        with pytest.raises(ValidationError, match="Only an active key can be rotated"):
            apikey_rotate(key=inactive, actor=owner, grace=timedelta(hours=1))
    assert APIKey.objects.count() == 4  # the three made here and the one successor


def test_a_leaked_key_is_revoked_at_once_and_its_owner_is_told_once(
    client, owner, mailoutbox, django_capture_on_commit_callbacks
):
    key, raw = make_key(owner)
    source = "https://portal.example.com/forum/t/42/#post-7"
    with django_capture_on_commit_callbacks(execute=True):
        assert apikey_revoke_leaked(key_id=key.key_id, source=source) == key
    key.refresh_from_db()
    assert key.revoked_reason == f"published in {source}"
    assert KeyClient(client, raw).get("models").json()["type"] == "api_key_revoked"
    (mail,) = mailoutbox
    assert mail.to == [owner.email]
    assert mail.subject == f"Your API key {key.prefix}… was revoked"
    assert source in mail.body and "/account/keys/" in mail.body
    assert _events(key) == ["created", "revoked", "leaked"]

    # Found again (another post, a re-scan): nothing more happens.
    with django_capture_on_commit_callbacks(execute=True):
        assert apikey_revoke_leaked(key_id=key.key_id, source="https://portal.example.com/forum/t/43/") == key
    assert len(mailoutbox) == 1
    assert _events(key) == ["created", "revoked", "leaked"]
    assert apikey_revoke_leaked(key_id=keyformat.generate().key_id, source=source) is None


def test_the_keys_of_a_deactivated_owner_stop_working(client, owner, django_capture_on_commit_callbacks):
    _key, raw = make_key(owner)
    assert apikey_authenticate(raw=raw).owner == owner
    with django_capture_on_commit_callbacks(execute=True):  # the admin's save commits
        owner.is_active = False
        owner.save()
    with pytest.raises(ApiKeyRevoked, match="no longer active"):
        apikey_authenticate(raw=raw)
    assert KeyClient(client, raw).get("models").status_code == 401


def test_a_plan_request_needs_a_reason_and_only_one_may_wait_at_a_time(owner, admin_user, outsider):
    pro = Plan.objects.get(slug="pro")
    with pytest.raises(ValidationError, match="what you need the higher plan for"):
        key_request_create(user=owner, plan=pro, reason="  more   ")
    first = key_request_create(user=owner, plan=pro, reason="A launch in May, 1M inputs a month.")
    with pytest.raises(ValidationError, match="already have a request waiting"):
        key_request_create(user=owner, plan=pro, reason="Still waiting for the launch plan.")
    assert key_request_create(user=outsider, plan=pro, reason="A school project on reviews.").user == outsider

    key_request_decide(request=first, actor=admin_user, approve=False, note="Not now.")
    with pytest.raises(ValidationError, match="already decided"):
        key_request_decide(request=first, actor=admin_user, approve=True)
    first.refresh_from_db()
    assert (first.status, first.note) == (RequestStatus.DENIED, "Not now.")
    # A decided request no longer blocks a new one.
    assert key_request_create(user=owner, plan=pro, reason="The launch moved to June.").status == RequestStatus.PENDING
    assert KeyRequest.objects.filter(user=owner).count() == 2
