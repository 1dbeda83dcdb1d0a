"""/.well-known/security.txt (RFC 9116) and the policy it links to, as anyone fetches them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


def fields(body: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(": ")
            parsed.setdefault(name, []).append(value)
    return parsed


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://portal.example.com/"
    return settings


def test_an_anonymous_visitor_gets_security_txt_as_plain_text_with_a_future_expiry(client, site):
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    found = fields(response.content.decode())
    expires = datetime.strptime(found["Expires"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(tz=UTC)
    # RFC 9116: in the future, and less than a year ahead.
    assert now + timedelta(days=150) < expires < now + timedelta(days=365)


def test_security_txt_names_the_contact_policy_languages_and_its_own_address(client, site):
    found = fields(client.get("/.well-known/security.txt").content.decode())
    assert found["Contact"] == ["mailto:security@portal.example.com"]
    assert found["Preferred-Languages"] == ["en, zh"]
    assert found["Policy"] == ["https://portal.example.com/security/policy.txt"]
    assert found["Canonical"] == ["https://portal.example.com/.well-known/security.txt"]
    assert set(found) == {"Contact", "Expires", "Preferred-Languages", "Policy", "Canonical"}


def test_an_operator_can_name_other_contacts(client, site):
    site.SECURITY_CONTACTS = ["mailto:psirt@example.net", "https://example.net/report"]
    found = fields(client.get("/.well-known/security.txt").content.decode())
    assert found["Contact"] == ["mailto:psirt@example.net", "https://example.net/report"]


def test_the_policy_link_serves_the_repositorys_security_policy(client, site):
    response = client.get("/security/policy.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    body = response.content.decode()
    assert body.startswith("# Security policy")
    assert "## Reporting a vulnerability" in body


def test_security_txt_cannot_be_posted_to(client):
    assert client.post("/.well-known/security.txt").status_code == 405
