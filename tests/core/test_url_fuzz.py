"""Every URL pattern the portal serves, fuzzed: no request may get a 500.

The patterns come from the resolver itself (``get_resolver()``), so a page added tomorrow
is fuzzed tomorrow. Each parameter of a pattern is filled with a value of the right shape
(drawn from the converter's or group's own regex), a hostile one (NUL, a lone surrogate,
control characters, path traversal, a huge number, markup) or random text; the request
goes out as GET or POST, with or without a hostile query string and form body, from a
visitor, a signed-in member and an admin, in English and Chinese.

Two runs: a sweep that sends a fixed set of hostile values to every parameter of every
pattern, and a derandomized Hypothesis run that mixes all of the above (the same cases on
every machine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts import roles
from apps.accounts.models import User

from ..factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

# Written into an address as they are (already percent-encoded where need be). The
# middleware refuses these with a 400 before any view runs...
REFUSED = [
    "%00",
    "a%00b",
    "%ED%A0%80",  # a lone surrogate, as UTF-8 would spell it
    "%C0%AF",  # an over-long "/", not UTF-8
    "%0D%0ASet-Cookie:%20x=1",
    "%1B%5B31m",
    "%7F",
]
# ...and these reach the views.
ODD = [
    "99999999999999999999999",
    "-1",
    "0",
    "..%2F..%2Fetc%2Fpasswd",
    "%25ED%25A0%2580",  # a lone surrogate encoded twice: text that looks like an escape
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%27%20OR%20%271%27%3D%271",
    "%E4%B8%AD%E6%96%87",
    "%F0%9F%98%80",
    "%2F%2Fevil.example",
    "x" * 2000,
]
# The sweep sends each of these to every parameter of every pattern.
SWEEP = ["99999999999999999999999", "..%2F..%2Fetc%2Fpasswd", "%E4%B8%AD%E6%96%87", "x" * 2000, "%00"]

_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Slot:
    name: str
    regex: str  # what a value of the right shape looks like


@dataclass(frozen=True)
class Pattern:
    """A leaf URL pattern as literal text and parameter slots, in order."""

    parts: tuple[str | Slot, ...]
    localized: bool
    label: str

    def path(self, values: dict[str, str], language: str) -> str:
        text = "".join(part if isinstance(part, str) else values[part.name] for part in self.parts)
        prefix = f"{language}/" if self.localized and language != "en" else ""
        return f"/{prefix}{text}"


def _route_parts(pattern: RoutePattern) -> list[str | Slot]:
    route, parts, position = str(pattern._route), [], 0
    for match in _ROUTE_PARAMETER.finditer(route):
        parts.append(route[position : match.start()])
        parts.append(Slot(match["name"], pattern.converters[match["name"]].regex))
        position = match.end()
    parts.append(route[position:])
    return parts


def _group_end(regex: str, start: int) -> int:
    """Index just past the group opening at ``start`` (escapes and classes respected)."""
    depth, index, in_class = 0, start, False
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise ValueError(f"unbalanced group in {regex!r}")


def _regex_parts(pattern: RegexPattern) -> list[str | Slot] | None:
    regex = str(pattern._regex).removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    parts: list[str | Slot] = []
    position = 0
    for match in re.finditer(r"\(\?P<(?P<name>\w+)>", regex):
        if match.start() < position:
            continue
        end = _group_end(regex, match.start())
        parts.append(regex[position : match.start()])
        parts.append(Slot(match["name"], regex[match.end() : end - 1]))
        position = end
    parts.append(regex[position:])
    literal = [part for part in parts if isinstance(part, str)]
    if any(re.search(r"(?<!\\)[()\[\]?*+|{}]", text) for text in literal):
        return None  # regex syntax outside named groups: not a pattern this walk can fill
    return [re.sub(r"\\(.)", r"\1", part) if isinstance(part, str) else part for part in parts]


def _walk(patterns: list[Any], prefix: list[str | Slot], localized: bool) -> list[Pattern]:
    found = []
    for entry in patterns:
        shape = entry.pattern
        # i18n_patterns: no prefix for English, "zh-hans/" for Chinese (Pattern.path adds it).
        inside = localized or isinstance(shape, LocalePrefixPattern)
        if isinstance(shape, LocalePrefixPattern):
            parts: list[str | Slot] | None = []
        elif isinstance(shape, RoutePattern):
            parts = _route_parts(shape)
        else:
            parts = _regex_parts(shape)
        if parts is None:
            continue
        if isinstance(entry, URLResolver):
            found += _walk(entry.url_patterns, prefix + parts, inside)
        else:
            whole = tuple(prefix + parts)
            label = "".join(part if isinstance(part, str) else f"<{part.name}>" for part in whole)
            found.append(Pattern(whole, inside, label))
    return found


PATTERNS = _walk(get_resolver().url_patterns, [], False)


def test_the_walk_finds_the_portals_pages_api_and_admin():
    labels = {pattern.label for pattern in PATTERNS}
    assert {"forum/c/<slug>/", "u/<username>/", "docs/_/media/<path>", "api/v1/models/<model_id>"} <= labels
    assert sum(label.startswith("admin/") for label in labels) > 20
    assert len(PATTERNS) > 150


# --- who asks --------------------------------------------------------------------------


class Visitors:
    """A fresh client for a visitor, a member or an admin, signed in anew for each request
    (an earlier one may have signed out, or deleted the account: it is made again)."""

    ROLES = {"visitor": None, "member": roles.DEVELOPER, "admin": roles.ADMIN}

    def client(self, who: str) -> Client:
        client = Client()
        if who != "visitor":
            username = f"fuzz-{who}"
            user = User.objects.filter(username=username).first() or UserFactory(
                username=username, role=self.ROLES[who]
            )
            client.force_login(user)
        return client


@pytest.fixture
def visitors(settings: Any) -> Visitors:
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return Visitors()


def _assert_no_server_error(response: Any, method: str, path: str) -> None:
    # The test client raises a view's exception itself; this catches 5xx answered on purpose.
    # /readyz says 503 by design: this test starts no inference worker.
    expected_503 = path.startswith("/readyz") and response.status_code == 503
    assert response.status_code < 500 or expected_503, f"{method} {path[:300]} -> {response.status_code}"


# --- the sweep -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["visitor", "admin"])
@pytest.mark.parametrize("value", SWEEP, ids=lambda value: value[:24])
def test_every_parameter_of_every_pattern_survives_hostile_values(visitors, value, who):
    client = visitors.client(who)
    for pattern in PATTERNS:
        slots = [part for part in pattern.parts if isinstance(part, Slot)]
        if not slots:
            continue
        path = pattern.path({slot.name: value for slot in slots}, "en")
        _assert_no_server_error(client.get(path), "GET", path)


def test_every_page_without_parameters_survives_a_hostile_query(visitors):
    client = visitors.client("member")
    for pattern in PATTERNS:
        if any(isinstance(part, Slot) for part in pattern.parts):
            continue
        for query in ("q=%00", "page=99999999999999999999&sort=%ED%A0%80", "next=%2F%2Fevil.example"):
            path = pattern.path({}, "en") + "?" + query
            _assert_no_server_error(client.get(path), "GET", path)


# --- the mix ---------------------------------------------------------------------------


def _right_shape(regex: str) -> st.SearchStrategy[str]:
    return st.from_regex(regex, fullmatch=True).map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="/"))


# Mostly values a view will see (a refused one tells only that the middleware works).
_TEXT = st.text(max_size=40).map(lambda text: quote(text, safe=""))
_ODD = st.one_of(_TEXT, st.sampled_from(ODD), st.sampled_from(ODD), st.sampled_from(REFUSED))


def _value(slot: Slot) -> st.SearchStrategy[str]:
    return st.one_of(_right_shape(slot.regex), _right_shape(slot.regex), _ODD)


_FIELDS = ["q", "page", "next", "sort", "tag", "body", "title", "name", "email", "login", "password", "version"]
_PAIRS = st.dictionaries(st.sampled_from(_FIELDS), _ODD, max_size=3)
# The admin has most patterns; the site's own pages get drawn as often.
_SITE = [pattern for pattern in PATTERNS if not pattern.label.startswith("admin/")]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str, str | None]:
    pattern = draw(st.sampled_from(_SITE) | st.sampled_from(PATTERNS))
    values = {part.name: draw(_value(part)) for part in pattern.parts if isinstance(part, Slot)}
    path = pattern.path(values, draw(st.sampled_from(["en", "zh-hans"])))
    if query := draw(_PAIRS):
        path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    method = draw(st.sampled_from(["GET", "POST"]))
    body = "&".join(f"{key}={value}" for key, value in draw(_PAIRS).items()) if method == "POST" else None
    return draw(st.sampled_from(list(Visitors.ROLES))), method, path, body


def test_no_pattern_answers_500_to_anyone(visitors):
    @given(request=requests())
    @settings(
        max_examples=500,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    def run(request: tuple[str, str, str, str | None]) -> None:
        who, method, path, body = request
        client = visitors.client(who)
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, body or "", content_type="application/x-www-form-urlencoded")
        _assert_no_server_error(response, method, path)

    run()
