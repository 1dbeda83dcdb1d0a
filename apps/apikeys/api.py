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
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import AuthenticationRequired, InsufficientScope, RateLimited
from apps.core.net import client_ip
from apps.core.problems import UNAVAILABLE_ERRORS

from .auth import PlaygroundSessionAuthentication
from .limits import RateDecision, anonymous_run_take, anonymous_runs_per_hour, rate_limit_take
from .models import APIKey, Plan
from .plans import plan_default
from .services import usage_record_create

logger = logging.getLogger(__name__)


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
        error = response.data.get("type", "") if response.status_code >= 400 and isinstance(response.data, dict) else ""
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
            response["Deprecation"] = state.get("deprecation", "true")
            if state.get("sunset"):
                response["Sunset"] = state["sunset"]
            if state.get("link"):
                response["Link"] = f'<{state["link"]}>; rel="deprecation"; type="text/html"'
