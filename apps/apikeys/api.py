"""The base of every v1 endpoint: scopes, rate limit, RateLimit-* headers, usage records.

Visitors without an account: an endpoint may let a browser on this site through without
a key or session (``anonymous_allowed``), for the playground's demo. Such a visitor must
hold the CSRF cookie and, on unsafe methods, echo it (the same check a session gets), so
an outside program without a key still gets 401; and it may run the demo models only a
few times an hour (``limits.anonymous_run_take``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils.http import http_date
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import AuthenticationRequired, InsufficientScope, QuotaExceeded, RateLimited
from apps.core.net import client_ip
from apps.core.problems import UNAVAILABLE_ERRORS

from .auth import PlaygroundSessionAuthentication
from .limits import RateDecision, anonymous_run_take, anonymous_runs_per_hour, quota_reset_seconds, rate_limit_take
from .models import APIKey, Plan
from .plans import plan_default
from .services import usage_record_create

logger = logging.getLogger(__name__)


def _problem_type(response: Response) -> str:
    """The problem+json ``type`` of an error response ("" for any other body)."""
    data = getattr(response, "data", None)
    return str(data.get("type", "")) if isinstance(data, dict) else ""


def subject_of(request: Request) -> tuple[str, APIKey | Plan]:
    """Who pays for this request: ``(subject, limits)`` with limits an APIKey or a Plan."""
    if isinstance(request.auth, APIKey):
        return request.auth.quota_subject, request.auth
    if request.user.is_authenticated:
        return f"user:{request.user.pk}", plan_default()
    return f"ip:{client_ip(request)}", plan_default()


def anonymous_browser(request: Request) -> bool:
    """True for a browser that loaded a page of this site: it holds the CSRF cookie and,
    on unsafe methods, sends it back in ``X-CSRFToken`` (Django's own check)."""
    if settings.CSRF_COOKIE_NAME not in request.COOKIES:
        return False
    try:
        PlaygroundSessionAuthentication().enforce_csrf(request)
    except exceptions.PermissionDenied:
        return False
    return True


class PortalAPIView(APIView):
    required_scope: str | None = None
    usage_endpoint = ""

    def anonymous_allowed(self, request: Request) -> bool:
        """Whether a caller without a key or session may go on to the handler, which
        then applies its own rules. Endpoints other than the playground's say no."""
        return False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()
        self._rate: RateDecision | None = None
        self._usage: dict[str, Any] = {}
        super().initial(request, *args, **kwargs)
        if not request.user.is_authenticated and not self.anonymous_allowed(request):
            raise AuthenticationRequired("Send an API key: Authorization: Bearer pk_...")
        key = request.auth if isinstance(request.auth, APIKey) else None
        if key is not None and self.required_scope and self.required_scope not in key.scopes:
            raise InsufficientScope(f"This key lacks the {self.required_scope!r} scope.")
        self._take(request)

    def _take(self, request: Request) -> RateDecision:
        subject, limits = subject_of(request)
        self._rate = rate_limit_take(subject=subject, per_minute=limits.requests_per_minute)
        if not self._rate.allowed:
            raise RateLimited(
                f"Rate limit of {self._rate.limit} requests a minute reached; retry in {self._rate.retry_after} s.",
                headers={"Retry-After": str(self._rate.retry_after)},
            )
        return self._rate

    def take_anonymous_run(self, request: Request) -> RateDecision:
        """Count a visitor's run against the hourly allowance; the response's RateLimit-*
        headers then describe that allowance. Raises ``RateLimited`` past it."""
        limit = anonymous_runs_per_hour()
        decision = anonymous_run_take(ip=client_ip(request), limit=limit)
        self._rate = decision
        if not decision.allowed:
            raise RateLimited(
                f"Visitors without an account may run the demo {limit} times an hour; sign in to go on "
                f"(it is free), or retry in {decision.retry_after} s.",
                headers={"Retry-After": str(decision.retry_after)},
            )
        return decision

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        rate = getattr(self, "_rate", None)
        if rate is None and response.status_code != 503:
            # Refused before a subject was known (no or bad key): count it against the
            # caller's address, which also slows down anyone guessing keys. A 503 means
            # the limiter (or another service) is unreachable: do not wait on it twice.
            subject, limits = f"ip:{client_ip(request)}", plan_default()
            try:
                rate = rate_limit_take(subject=subject, per_minute=limits.requests_per_minute)
            except UNAVAILABLE_ERRORS as exc:
                logger.warning("rate limiter unreachable, response sent without RateLimit headers: %s", exc)
        if rate is not None:
            response["RateLimit-Limit"] = str(rate.limit)
            response["RateLimit-Remaining"] = str(rate.remaining)
            response["RateLimit-Reset"] = str(rate.reset_seconds)
        if response.status_code == 429 and "Retry-After" not in response:
            # A spent quota comes back when its month ends, not when the rate bucket refills.
            if _problem_type(response) == QuotaExceeded.type:
                response["Retry-After"] = str(quota_reset_seconds())
            elif rate is not None:
                response["Retry-After"] = str(max(rate.retry_after, 1))
        try:
            self._record_usage(request, response)
        except DatabaseError as exc:  # the answer matters more than its usage row
            logger.warning("usage record not written: %s", exc)
        self._version_headers(request, response)
        return response

    def _record_usage(self, request: Request, response: Response) -> None:
        auth = getattr(request, "_auth", None)
        key = auth if isinstance(auth, APIKey) else None
        user = getattr(request, "_user", None)
        error = _problem_type(response) if response.status_code >= 400 else ""
        usage_record_create(
            key=key,
            user=user if user is not None and user.is_authenticated else None,
            endpoint=self.usage_endpoint or request.path[:80],
            status_code=response.status_code,
            error_type=error,
            inputs=self._usage.get("inputs", 0),
            latency_ms=(time.perf_counter() - getattr(self, "_started", time.perf_counter())) * 1000,
            queue_ms=self._usage.get("queue_ms"),
            inference_ms=self._usage.get("inference_ms"),
        )

    def _version_headers(self, request: Request, response: Response) -> None:
        version = request.path.removeprefix("/api/").split("/", 1)[0]
        state = settings.API_VERSIONS.get(version, {})
        if state.get("status") == "deprecated":
            for name, value in deprecation_headers(state).items():
                response[name] = value


def _iso_instant(value: str) -> datetime:
    """An ISO 8601 date or date-time from settings; without an offset it is UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def deprecation_headers(state: Mapping[str, str]) -> dict[str, str]:
    """The headers of a deprecated API version, from its entry in ``settings.API_VERSIONS``.

    ``deprecation`` (required) and ``sunset`` are ISO 8601 dates (``2027-01-01`` or
    ``2027-01-01T12:00:00Z``). ``Deprecation`` is RFC 9745's Structured Field Date, ``@``
    and the Unix time; ``Sunset`` is an HTTP-date (RFC 8594); ``Link`` points at the
    migration guide with rel="deprecation". Raises KeyError without a deprecation date and
    ValueError for a date that is not ISO 8601.
    """
    headers = {"Deprecation": f"@{int(_iso_instant(state['deprecation']).timestamp())}"}
    if state.get("sunset"):
        headers["Sunset"] = http_date(_iso_instant(state["sunset"]).timestamp())
    if state.get("link"):
        headers["Link"] = f'<{state["link"]}>; rel="deprecation"; type="text/html"'
    return headers


def api_versions_check(**_: Any) -> list[Any]:
    """System check: every deprecated entry of ``settings.API_VERSIONS`` gives its headers
    (a deprecation date, ISO 8601 dates), so a mistyped date stops ``manage.py check`` and
    the server's start instead of failing each request to that version."""
    from django.core.checks import Error

    errors = []
    for version, state in settings.API_VERSIONS.items():
        if state.get("status") != "deprecated":
            continue
        try:
            deprecation_headers(state)
        except (KeyError, ValueError) as exc:
            errors.append(
                Error(
                    f"API_VERSIONS[{version!r}] is deprecated but its dates are not usable: {exc!r}.",
                    hint='Give "deprecation" (and "sunset", if any) as ISO 8601 dates, e.g. "2027-01-01".',
                    id="apikeys.E001",
                )
            )
    return errors
