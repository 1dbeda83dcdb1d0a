"""One rule for hostile input on every URL: NUL bytes, lone surrogates, control characters,
over-deep JSON and over-large bodies get a 400 (problem+json under /api/, the portal's
own page elsewhere), never a 500; unknown body fields are refused by name; every 401
challenges; and an unreachable Redis is a 503 with Retry-After, for real, on a private
``redis-server`` that the test kills."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework import serializers

from apps.apikeys.models import APIKey
from apps.apikeys.services import apikey_revoke
from apps.core.parsers import MAX_JSON_DEPTH, json_depth
from apps.core.serializers import StrictSerializer

from ..apikeys.conftest import KeyClient, make_key
from ..factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert (body["type"], body["status"]) == (type_, status)
    assert body["title"] and body["detail"]
    return body


def _error_page(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'class="site-header"' in html  # the site layout, not Django's bare page
    assert f'<span class="error-code" aria-hidden="true">{status}</span>' in html
    return html


@pytest.fixture
def api(client: Client, owner: Any) -> KeyClient:
    client.raise_request_exception = False  # a 500 must show as a 500, not as an exception
    return KeyClient(client, make_key(owner)[1])


@pytest.fixture
def anonymous(client: Client, settings: Any) -> Client:
    settings.DEBUG = False  # the pages that production shows
    client.raise_request_exception = False
    return client


def _classify(api: KeyClient, body: str | bytes) -> Any:
    return api.client.post("/api/v1/classify", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {api.raw}")  # fmt: skip


# --- JSON bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "type_", "said"),
    [
        pytest.param('{"model": "a\\u0000b", "inputs": ["x"]}', "invalid_input", "NUL", id="nul-in-model"),
        pytest.param('{"model": "m", "inputs": ["fine", "x\\u0000"]}', "invalid_input", "NUL", id="nul-in-input"),
        pytest.param('{"model": "\\ud800", "inputs": ["x"]}', "invalid_input", "surrogate", id="lone-surrogate"),
        pytest.param('{"\\udfff": 1, "model": "m"}', "invalid_input", "surrogate", id="lone-surrogate-key"),
        pytest.param("[" * 50_000 + "]" * 50_000, "invalid_json", "deeper than 64", id="nested-50000"),
        pytest.param('{"a": ' * 65 + "1" + "}" * 65, "invalid_json", "deeper than 64", id="nested-65"),
        pytest.param(b'{"model": "\xed\xa0\x80"}', "invalid_json", "not valid utf-8", id="surrogate-bytes"),
        pytest.param('{"model": NaN}', "invalid_json", "JSON", id="nan"),
    ],
)
def test_hostile_json_is_a_400_problem_that_says_what_was_wrong(api, body, type_, said):
    detail = _problem(_classify(api, body), 400, type_)["detail"]
    assert said.lower() in detail.lower()


def test_a_proper_surrogate_pair_is_text_like_any_other(api):
    # An emoji sent as the escaped pair \ud83d\ude00 is one character, not a lone surrogate.
    response = _classify(api, '{"model": "no-such-model-\\ud83d\\ude00", "inputs": ["x"]}')
    _problem(response, 404, "model_not_found")


def test_the_depth_limit_counts_brackets_outside_strings_only():
    assert json_depth('"[[[["') == 0
    assert json_depth('{"a": ["]", {"b": "\\"[["}]}') == 3
    assert json_depth("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) == MAX_JSON_DEPTH


def test_json_nested_exactly_to_the_limit_is_parsed(api):
    nested = "[" * (MAX_JSON_DEPTH - 2) + '"x"' + "]" * (MAX_JSON_DEPTH - 2)
    body = f'{{"model": "no-such-model", "inputs": {nested}}}'
    # Parsed (depth 63 of 64), then refused by validation for what it is: not a list of texts.
    _problem(_classify(api, body), 400, "invalid_input")


def test_an_over_large_body_is_a_400_problem_under_the_api(api):
    body = json.dumps({"model": "m", "inputs": ["x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)]})
    detail = _problem(_classify(api, body), 400, "request_too_large")["detail"]
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in detail


# --- unknown fields ------------------------------------------------------------------------


def test_unknown_fields_in_an_api_body_are_refused_by_name(api):
    body = json.dumps({"model": "m", "inputs": ["x"], "wiat": 5, "colour": "red"})
    detail = _problem(_classify(api, body), 400, "invalid_input")["detail"]
    assert "`wiat`" in detail and "`colour`" in detail
    assert "`wait`" in detail  # and what the endpoint does take


def test_a_body_that_is_not_an_object_is_refused_plainly(api):
    detail = _problem(_classify(api, '["model", "inputs"]'), 400, "invalid_input")["detail"]
    assert detail == "The body must be a JSON object, not an array."


class _Options(StrictSerializer):
    colour = serializers.CharField()


class _Order(StrictSerializer):
    name = serializers.CharField()
    options = _Options(required=False)
    id = serializers.IntegerField(read_only=True)


def test_a_strict_serializer_refuses_unknown_and_read_only_keys_at_every_level():
    assert _Order(data={"name": "a", "options": {"colour": "red"}}).is_valid()
    read_only = _Order(data={"name": "a", "id": 3})
    assert not read_only.is_valid()
    assert str(read_only.errors["non_field_errors"][0]) == "Unknown field `id`; this takes `name`, `options`."
    nested = _Order(data={"name": "a", "options": {"colour": "red", "size": 1}})
    assert not nested.is_valid()
    assert str(nested.errors["options"]["non_field_errors"][0]) == "Unknown field `size`; this takes `colour`."
    not_an_object = _Order(data={"name": "a", "options": ["red"]})
    assert not not_an_object.is_valid()
    assert str(not_an_object.errors["options"]["non_field_errors"][0]) == "This must be a JSON object, not an array."
    many = _Order(data={f"k{i}": i for i in range(12)})
    assert not many.is_valid()
    assert "and 2 more" in str(many.errors["non_field_errors"][0])


def test_the_schema_documents_request_bodies_as_closed_objects(client):
    schema = client.get("/api/schema/?format=json").json()
    request_bodies = [name for name, component in schema["components"]["schemas"].items() if name.endswith("Request")]
    assert request_bodies
    for name in request_bodies:
        assert schema["components"]["schemas"][name].get("additionalProperties") is False, name


def test_the_playground_api_refuses_unknown_fields_too(client, owner):
    client.force_login(owner)
    response = client.post("/playground/api/runs/", json.dumps({"job": "x", "jobs": ["y"]}),
                           content_type="application/json", HTTP_ACCEPT="application/json")  # fmt: skip
    assert "`jobs`" in _problem(response, 400, "invalid_input")["detail"]


# --- paths and query strings under /api/ ---------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/models/%00",
        "/api/v1/models/a%00b",
        "/api/v1/models/%ED%A0%80",
        "/api/v1/models/a%0Ab",
        "/api/v1/models/%7F",
        "/api/v1/jobs/%00",
        "/api/v1/models?search=%00",
        "/api/v1/models?search=%ED%A0%80",
    ],
)
def test_hostile_paths_and_queries_under_the_api_are_400_problems(api, path):
    _problem(api.client.get(path, HTTP_AUTHORIZATION=f"Bearer {api.raw}"), 400, "invalid_input")


def test_a_disallowed_host_is_a_400_problem_under_the_api(anonymous):
    _problem(anonymous.get("/api/v1/models", HTTP_HOST="evil.example"), 400, "invalid_input")


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/forum/c/%00/", "/forum/u/%00/", "/u/%00/", "/forum/tag/%00/", "/docs/_/media/%00", "/docs/%0D%0A/",
     "/forum/c/%ED%A0%80/", "/search/?q=%00", "/search/?q=%C0%AF", "/forum/?page=1%00"],
)  # fmt: skip
def test_hostile_addresses_get_the_portals_own_400_page(anonymous, path):
    html = _error_page(anonymous.get(path))
    assert '<html lang="en"' in html
    assert "The portal could not read that request" in html


def test_the_400_page_speaks_the_language_of_the_address(anonymous):
    html = _error_page(anonymous.get("/zh-hans/forum/c/%00/"))
    assert '<html lang="zh-hans"' in html
    assert "门户无法读取该请求" in html


def test_the_400_page_is_served_with_the_sites_security_headers(anonymous):
    response = anonymous.get("/forum/tag/%00/")
    assert "Content-Security-Policy" in response
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_form_with_a_nul_byte_gets_the_400_page(anonymous):
    response = anonymous.post("/accounts/login/", "login=a%00%40example.com&password=x",
                              content_type="application/x-www-form-urlencoded")  # fmt: skip
    _error_page(response)


def test_a_multipart_form_with_a_nul_byte_gets_the_400_page(anonymous):
    body = (
        b'--b\r\nContent-Disposition: form-data; name="login"\r\n\r\na\x00@example.com\r\n'
        b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nx\r\n--b--\r\n'
    )
    _error_page(anonymous.generic("POST", "/accounts/login/", body, content_type="multipart/form-data; boundary=b"))


def test_an_over_large_form_gets_the_400_page(anonymous):
    body = "login=" + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    _error_page(anonymous.post("/accounts/login/", body, content_type="application/x-www-form-urlencoded"))


def test_a_disallowed_host_gets_the_400_page(anonymous):
    _error_page(anonymous.get("/forum/", HTTP_HOST="evil.example"))


def test_ordinary_text_in_addresses_and_forms_still_passes(anonymous):
    assert anonymous.get("/search/?q=caf%C3%A9+%E4%B8%AD%E6%96%87%09tab").status_code == 200
    assert anonymous.get("/forum/tag/caf%C3%A9/").status_code in (200, 404)
    response = anonymous.post("/accounts/login/", {"login": "café@example.com", "password": "line\r\nbreak"})
    assert response.status_code == 200


def test_a_session_cookie_holding_nul_is_ignored_not_a_500(anonymous):
    response = anonymous.get("/", HTTP_COOKIE='sessionid="\\000abcdefghijkl"')
    assert response.status_code == 200


# --- 401 always challenges -----------------------------------------------------------------


def test_every_401_carries_a_bearer_challenge(client, owner):
    _valid, valid_raw = make_key(owner)
    expired, expired_raw = make_key(owner)
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_raw = make_key(owner)
    apikey_revoke(key=revoked, actor=owner)
    cases = {
        "authentication_required": {},
        "api_key_invalid": {"HTTP_AUTHORIZATION": "Bearer pk_notakey"},
        "api_key_expired": {"HTTP_AUTHORIZATION": f"Bearer {expired_raw}"},
        "api_key_revoked": {"HTTP_AUTHORIZATION": f"Bearer {revoked_raw}"},
    }
    for type_, headers in cases.items():
        response = client.get("/api/v1/models", **headers)
        _problem(response, 401, type_)
        assert response["WWW-Authenticate"] == 'Bearer realm="api"', type_
    assert client.get("/api/v1/models", HTTP_AUTHORIZATION=f"Bearer {valid_raw}").status_code == 200


# --- Redis down ----------------------------------------------------------------------------


class PrivateRedis:
    """A ``redis-server`` of this test's own on a free port, which the test may kill."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the private redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def limiter_on_private_redis(private_redis: PrivateRedis, settings: Any) -> PrivateRedis:
    """The API's rate limiter talks to the private server for this test (the limiter
    follows REDIS_URL), then is put back."""
    settings.REDIS_URL = private_redis.url
    return private_redis


def test_with_the_limiter_down_the_api_answers_503_with_retry_after(client, owner, limiter_on_private_redis):
    client.raise_request_exception = False
    _key, raw = make_key(owner)
    before = client.get("/api/v1/models", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert before.status_code == 200 and "RateLimit-Remaining" in before

    limiter_on_private_redis.kill()
    down = client.get("/api/v1/models", HTTP_AUTHORIZATION=f"Bearer {raw}")
    _problem(down, 503, "service_unavailable")
    assert down["Retry-After"] == "5"
    # A caller refused before the limiter is asked still gets its 401, not a 500.
    anonymous = client.get("/api/v1/models")
    _problem(anonymous, 401, "authentication_required")
    assert "RateLimit-Limit" not in anonymous

    limiter_on_private_redis.start()  # the same port: the portal recovers by itself
    assert client.get("/api/v1/models", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_with_the_cache_down_a_page_answers_the_503_page(client, private_redis, settings):
    settings.DEBUG = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": private_redis.url}}  # fmt: skip
    client.raise_request_exception = False
    user = UserFactory(username="reader")
    client.force_login(user)
    assert client.get("/docs/").status_code in (200, 404)  # up: the page as usual

    private_redis.kill()
    html = _error_page(client.get("/docs/"), status=503)
    assert "This page is briefly unavailable" in html
    chinese = client.get("/zh-hans/docs/")
    assert "此页面暂时不可用" in _error_page(chinese, status=503)
    assert chinese["Retry-After"] == "5"


def test_an_unreachable_broker_is_a_503_problem_too():
    import kombu.exceptions

    from apps.core.problems import exception_handler

    response = exception_handler(kombu.exceptions.OperationalError("connection refused"), {})
    assert response is not None
    assert (response.status_code, response.data["type"], response["Retry-After"]) == (503, "service_unavailable", "5")
