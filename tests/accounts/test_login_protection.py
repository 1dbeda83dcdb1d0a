"""Failed logins slow down the address that makes them, never the account's owner: the
per-account limit counts one account from one address, and behind a proxy the client's
address is the one the proxy saw (``NUM_PROXIES``), not a value the client wrote."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.core.net import client_ip
from portal import settings as portal_settings

from ..factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

ATTACKER = "203.0.113.66"
OWNER_ELSEWHERE = "198.51.100.7"
PROXY = "10.0.0.2"
THROTTLED = "Too many failed login attempts"


def _login(client, email, password, **meta):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **meta)


def _logged_in(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def _direct(address):
    return {"REMOTE_ADDR": address}


def _via_proxy(address, spoofed=None):
    # What nginx's $proxy_add_x_forwarded_for sends on: whatever the client wrote, then
    # the address nginx saw; gunicorn's peer is nginx.
    chain = f"{spoofed}, {address}" if spoofed else address
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": chain}


def test_five_wrong_passwords_stop_that_address_but_the_owner_logs_in_from_another(owner):
    attacker = Client()
    for _ in range(5):
        response = _login(attacker, owner.email, "wrong-guess", **_direct(ATTACKER))
        assert THROTTLED not in response.content.decode()
    # The sixth try from that address is refused before the password is even checked:
    # the right password does not get the attacker in either.
    refused = _login(attacker, owner.email, PASSWORD, **_direct(ATTACKER))
    assert THROTTLED in refused.content.decode()
    assert not _logged_in(attacker, owner)

    victim = Client()
    response = _login(victim, owner.email, PASSWORD, **_direct(OWNER_ELSEWHERE))
    assert response.status_code == 302
    assert _logged_in(victim, owner)


def test_one_address_guessing_across_many_accounts_is_stopped_after_ten_a_minute(owner):
    attacker = Client()
    for n in range(10):
        _login(attacker, f"someone{n}@example.com", "wrong-guess", **_direct(ATTACKER))
    # Even a correct password for an account this address never tried is refused now.
    fresh = UserFactory(username="fresh")
    response = _login(attacker, fresh.email, PASSWORD, **_direct(ATTACKER))
    assert THROTTLED in response.content.decode()
    assert not _logged_in(attacker, fresh)
    # The owner, elsewhere, is not affected.
    victim = Client()
    _login(victim, owner.email, PASSWORD, **_direct(OWNER_ELSEWHERE))
    assert _logged_in(victim, owner)


def test_a_successful_login_does_not_count_as_a_failure(owner):
    # allauth rolls back the attempt it counted when the password was right.
    for _ in range(8):
        client = Client()
        _login(client, owner.email, PASSWORD, **_direct(ATTACKER))
        assert _logged_in(client, owner)


def test_behind_the_proxy_two_clients_are_throttled_separately(owner, settings):
    settings.NUM_PROXIES = 1
    attacker = Client()
    for _ in range(5):
        _login(attacker, owner.email, "wrong-guess", **_via_proxy(ATTACKER))
    assert THROTTLED in _login(attacker, owner.email, PASSWORD, **_via_proxy(ATTACKER)).content.decode()
    # Every request reaches Django from the proxy's address; the owner's still counts as
    # the owner's own.
    victim = Client()
    _login(victim, owner.email, PASSWORD, **_via_proxy(OWNER_ELSEWHERE))
    assert _logged_in(victim, owner)


def test_spoofed_leading_forwarded_for_entries_do_not_reset_the_count(owner, settings):
    settings.NUM_PROXIES = 1
    attacker = Client()
    for n in range(5):
        _login(attacker, owner.email, "wrong-guess", **_via_proxy(ATTACKER, spoofed=f"192.0.2.{n}"))
    response = _login(attacker, owner.email, PASSWORD, **_via_proxy(ATTACKER, spoofed="192.0.2.200"))
    assert THROTTLED in response.content.decode()
    assert not _logged_in(attacker, owner)


def test_a_spoofed_entry_cannot_borrow_the_owners_address_either(owner, settings):
    # The owner's address written by the attacker in front of their own is ignored, so
    # the attacker's failures never land on the owner's count.
    settings.NUM_PROXIES = 1
    attacker = Client()
    for _ in range(6):
        _login(attacker, owner.email, "wrong-guess", **_via_proxy(ATTACKER, spoofed=OWNER_ELSEWHERE))
    victim = Client()
    _login(victim, owner.email, PASSWORD, **_via_proxy(OWNER_ELSEWHERE))
    assert _logged_in(victim, owner)


def test_an_ipv6_attacker_cannot_escape_the_limit_by_changing_addresses_inside_its_64(owner):
    attacker = Client()
    for n in range(5):
        _login(attacker, owner.email, "wrong-guess", **_direct(f"2001:db8:1:2::{n + 1:x}"))
    response = _login(attacker, owner.email, PASSWORD, **_direct("2001:db8:1:2::ff"))
    assert THROTTLED in response.content.decode()
    victim = Client()
    _login(victim, owner.email, PASSWORD, **_direct("2001:db8:9:9::1"))
    assert _logged_in(victim, owner)


def test_allauth_and_the_api_agree_on_the_client_address(rf, settings):
    from allauth.account.adapter import get_adapter

    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {ATTACKER}")
    settings.NUM_PROXIES = 1
    assert get_adapter(request).get_client_ip(request) == client_ip(request) == ATTACKER
    settings.NUM_PROXIES = 0
    assert get_adapter(request).get_client_ip(request) == client_ip(request) == PROXY
    # allauth's own setting is the same number, for any allauth code that reads it.
    assert portal_settings.ALLAUTH_TRUSTED_PROXY_COUNT == portal_settings.NUM_PROXIES


def test_the_deploy_counts_nginx_as_the_one_proxy():
    from pathlib import Path

    import yaml

    deploy = Path(__file__).resolve().parents[2] / "deploy"
    compose = yaml.safe_load((deploy / "docker-compose.yml").read_text())
    assert compose["services"]["web"]["environment"]["NUM_PROXIES"] == "${NUM_PROXIES:-1}"
    assert "NUM_PROXIES=1" in (deploy / ".env.example").read_text().splitlines()
    # nginx appends the peer it saw, so the client is the last entry: one proxy.
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in (deploy / "nginx.conf").read_text()


def test_guesses_on_one_account_from_many_addresses_slow_down_but_the_right_password_never_waits(settings):
    import time

    settings.LOGIN_FAILURE_DELAY_FREE = 3
    settings.LOGIN_FAILURE_DELAY_STEP = 0.2
    settings.LOGIN_FAILURE_DELAY_MAX = 0.4
    owner = UserFactory(email="target@example.com")
    timings = []
    for n in range(6):  # a botnet: every guess from another address
        started = time.perf_counter()
        response = _login(Client(), owner.email, "wrong password!", **_direct(f"203.0.113.{n + 1}"))
        timings.append(time.perf_counter() - started)
        assert THROTTLED not in response.content.decode()
    # Three free failures, then 0.2 s, then the 0.4 s cap.
    assert [t >= d for t, d in zip(timings[3:], (0.2, 0.4, 0.4), strict=True)] == [True, True, True], timings
    # The right password from another address logs in, and counts as no failure (so it
    # is never held back): the next failure still waits the cap, not one step more.
    owner_client = Client()
    _login(owner_client, owner.email, PASSWORD, **_direct(OWNER_ELSEWHERE))
    assert _logged_in(owner_client, owner)
    from apps.accounts.adapters import login_failure_delay

    settings.LOGIN_FAILURE_DELAY_MAX = 10
    assert login_failure_delay(f"testserver:{owner.email}") == pytest.approx(0.2 * (7 - 3))
