"""The base of every v1 endpoint: scopes, rate limit, RateLimit-* headers, usage records."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apikeys.auth import client_ip
from apps.apikeys.limits import RateDecision, rate_limit_take
from apps.apikeys.models import APIKey, UsageRecord
from apps.apikeys.plans import plan_default

from .errors import AuthenticationRequired, InsufficientScope, RateLimited


def subject_of(request: Request) -> tuple[str, Any]:
    """Who pays for this request: ``(subject, limits)`` with limits an APIKey or a Plan."""
    if isinstance(request.auth, APIKey):
        return f"key:{request.auth.pk}", request.auth
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}", plan_default()
    return f"ip:{client_ip(request)}", plan_default()


class PortalAPIView(APIView):
    required_scope: str | None = None
    usage_endpoint = ""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()
        self._rate: RateDecision | None = None
        self._usage: dict[str, Any] = {}
        super().initial(request, *args, **kwargs)
        if not (request.user and request.user.is_authenticated):
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

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        rate = getattr(self, "_rate", None)
        if rate is None:
            # Refused before a subject was known (no or bad key): count it against the
            # caller's address, which also slows down anyone guessing keys.
            subject, limits = f"ip:{client_ip(request)}", plan_default()
            rate = rate_limit_take(subject=subject, per_minute=limits.requests_per_minute)
        response["RateLimit-Limit"] = str(rate.limit)
        response["RateLimit-Remaining"] = str(rate.remaining)
        response["RateLimit-Reset"] = str(rate.reset_seconds)
        if response.status_code == 429 and "Retry-After" not in response:
            response["Retry-After"] = str(max(rate.retry_after, 1))
        self._record_usage(request, response)
        self._version_headers(request, response)
        return response

    def _record_usage(self, request: Request, response: Response) -> None:
        key = request.auth if isinstance(getattr(request, "_auth", None), APIKey) else None
        user = getattr(request, "_user", None)
        error = response.data.get("type", "") if response.status_code >= 400 and isinstance(response.data, dict) else ""
        UsageRecord.objects.create(
            key=key,
            user=user if user is not None and user.is_authenticated else None,
            endpoint=self.usage_endpoint or request.path[:80],
            status_code=response.status_code,
            error_type=error[:40],
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
