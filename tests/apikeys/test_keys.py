import logging
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from apps.apikeys import keyformat
from apps.apikeys.models import APIKey, KeyEvent
from apps.apikeys.services import (
    apikey_authenticate,
    apikey_issue,
    apikey_reveal,
    apikey_revoke,
    apikey_rotate,
)
from apps.core.errors import ApiKeyExpired, ApiKeyInvalid, ApiKeyRevoked

from .conftest import KeyClient, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_a_new_key_has_the_documented_format_a_valid_checksum_and_is_stored_only_as_a_hash(owner):
    key, raw = make_key(owner)
    assert raw.startswith(f"pk_{key.key_id}_")
    assert keyformat.parse(raw).key_id == key.key_id
    assert raw not in key.hashed_key
    assert len(key.hashed_key) == 64
    assert apikey_authenticate(raw=raw) == key


def test_no_plaintext_key_reaches_the_database_or_the_logs(client, owner, caplog):
    caplog.set_level(logging.DEBUG)
    key, raw = make_key(owner)
    api = KeyClient(client, raw)
    api.get("models")
    apikey_rotate(key=key, actor=owner, grace=timedelta(hours=1))
    secret = raw.split("_", 2)[2]
    for model in apps.get_models():
        for row in model.objects.all().values():
            assert secret not in repr(row), model
    assert secret not in caplog.text


def test_a_malformed_key_is_refused_without_a_database_query(owner, django_assert_num_queries):
    _key, raw = make_key(owner)
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    with django_assert_num_queries(0), pytest.raises(ApiKeyInvalid):
        apikey_authenticate(raw=tampered)
    with django_assert_num_queries(0), pytest.raises(ApiKeyInvalid):
        apikey_authenticate(raw="sk-not-ours")


def test_a_well_formed_key_that_was_never_issued_is_invalid(db):
    with pytest.raises(ApiKeyInvalid):
        apikey_authenticate(raw=keyformat.generate().raw)


def test_a_revoked_key_gets_401_on_the_next_request(client, owner):
    key, raw = make_key(owner)
    api = KeyClient(client, raw)
    assert api.get("models").status_code == 200
    apikey_revoke(key=key, actor=owner, reason="test")
    response = api.get("models")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "api_key_revoked"
    assert KeyEvent.objects.filter(key=key, action="revoked").exists()


def test_an_expired_key_gets_api_key_expired(client, owner):
    key, raw = make_key(owner)
    APIKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApiKeyExpired):
        apikey_authenticate(raw=raw)
    assert KeyClient(client, raw).get("models").json()["type"] == "api_key_expired"


def test_rotation_gives_a_new_key_now_and_the_old_one_works_until_the_grace_ends(client, owner):
    old, old_raw = make_key(owner)
    new, new_raw = apikey_rotate(key=old, actor=owner, grace=timedelta(hours=2))
    assert KeyClient(client, old_raw).get("models").status_code == 200
    assert KeyClient(client, new_raw).get("models").status_code == 200
    assert old.replaced_by == new
    assert old.expires_at <= timezone.now() + timedelta(hours=2)
    # The grace ends (saved as the admin would: a raw UPDATE would bypass the signal that
    # drops every process's copy of the key, apps/core/hotcache.py).
    old.refresh_from_db()
    old.expires_at = timezone.now() - timedelta(seconds=1)
    old.save(update_fields=["expires_at"])
    assert KeyClient(client, old_raw).get("models").status_code == 401
    assert KeyClient(client, new_raw).get("models").status_code == 200


def test_expiry_is_required_defaults_to_90_days_and_is_at_most_a_year(owner):
    key, _ = make_key(owner)
    assert timedelta(days=89) < key.expires_at - timezone.now() <= timedelta(days=90)
    with pytest.raises(ValidationError, match="at most"):
        make_key(owner, expires_at=timezone.now() + timedelta(days=400))
    with pytest.raises(ValidationError, match="future"):
        make_key(owner, expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(ValidationError, match="Unknown scopes"):
        make_key(owner, scopes=["admin:everything"])


def test_last_use_is_written_at_most_once_a_minute(client, owner):
    key, raw = make_key(owner)
    api = KeyClient(client, raw)
    api.get("models")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    assert key.last_used_ip == "127.0.0.1"
    api.get("models")
    key.refresh_from_db()
    assert key.last_used_at == first


def test_an_issued_key_is_shown_once_to_its_owner_only(owner, outsider, admin_user):
    key = apikey_issue(owner=owner, name="from admin", scopes=["models:read"], actor=admin_user)
    assert key.awaiting_reveal
    assert key.hashed_key == ""
    with pytest.raises(ValidationError):
        apikey_reveal(key=key, viewer=outsider)
    raw = apikey_reveal(key=key, viewer=owner)
    assert apikey_authenticate(raw=raw) == key
    with pytest.raises(ValidationError):
        apikey_reveal(key=key, viewer=owner)


def test_the_key_audit_log_cannot_be_edited_or_deleted(owner):
    key, _ = make_key(owner)
    event = KeyEvent.objects.get(key=key, action="created")
    event.action = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()


def test_issue_key_and_revoke_key_commands(owner, capsys):
    call_command("issue_key", "--email", owner.email, "--scopes", "models:read,inference:write", "--rpm", "5")
    raw = capsys.readouterr().out.strip()
    key = apikey_authenticate(raw=raw)
    assert key.scopes == ["models:read", "inference:write"]
    assert key.requests_per_minute == 5
    call_command("revoke_key", key.prefix)
    with pytest.raises(ApiKeyRevoked):
        apikey_authenticate(raw=raw)


def test_the_client_address_is_the_hop_our_proxy_added_not_what_the_client_sent(settings, rf):
    from apps.core.net import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    settings.NUM_PROXIES = 0
    assert client_ip(request) == "10.0.0.2"
    settings.NUM_PROXIES = 1
    assert client_ip(request) == "198.51.100.7"
