"""One error shape for the whole API: RFC 9457 ``application/problem+json``.

Every error leaves through ``exception_handler``: our ``ProblemError``s, DRF's
exceptions, Django's ValidationError, PermissionDenied and Http404, and an unreachable
Redis or broker (503 with ``Retry-After``). Every 401 carries ``WWW-Authenticate``.
Outside DRF (the hostile-input middleware, the 400 and 503 handlers) ``problem_response``
gives the same shape as a plain Django response.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import django.db
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .clients import REDIS_UNAVAILABLE
from .errors import ProblemError, ServiceUnavailable

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://portal.example.com/docs/errors/#"
WWW_AUTHENTICATE = 'Bearer realm="api"'

# Raised when Redis (rate limits, cache), the Celery broker or the database connection
# cannot be reached: the request may succeed if retried shortly, so it is a 503, never a
# 500. A database error inside a transaction rolled the whole transaction back.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    *REDIS_UNAVAILABLE,
    django.db.OperationalError,
    django.db.InterfaceError,
)


def problem(*, type: str, title: str, status: int, detail: str, **extra: Any) -> Response:
    body = {"type": type, "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def problem_response(exc: ProblemError) -> HttpResponse:
    """``exc`` as problem+json in a plain Django response (for code outside DRF views)."""
    body = {"type": exc.type, "title": exc.title, "status": exc.status, "detail": str(exc.detail)}
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    response = HttpResponse(content, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in exc.headers.items():
        response[name] = value
    if exc.status == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


def service_unavailable(exc: Exception) -> ServiceUnavailable:
    """The 503 for one of ``UNAVAILABLE_ERRORS``, logged once here."""
    logger.warning("service unreachable, answering 503: %s: %s", type(exc).__name__, exc)
    return ServiceUnavailable("A service the portal needs is unreachable for a moment; retry after a few seconds.")


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [
            m
            for key, value in detail.items()
            for m in _flatten(value, prefix if key == api_settings.NON_FIELD_ERRORS_KEY else f"{prefix}{key}: ")
        ]
    if isinstance(detail, list):
        return [m for value in detail for m in _flatten(value, prefix)]
    return [f"{prefix}{detail}"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        exc = service_unavailable(exc)
    response = _problem_for(exc)
    if response is not None and response.status_code == 401 and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


# Django's and DRF's exceptions as problems: (classes, type, title, status or None for the
# exception's own, its detail). The first match wins, so subclasses come first.
_PROBLEMS: tuple[tuple[tuple[type[Exception], ...], str, str, int | None, Callable[[Any], str]], ...] = (
    ((DjangoValidationError,), "invalid_input", "Invalid input", 400, lambda e: " ".join(e.messages)),
    ((exceptions.ValidationError,), "invalid_input", "Invalid input", 400, lambda e: " ".join(_flatten(e.detail))),
    ((exceptions.ParseError,), "invalid_json", "Malformed request body", 400, lambda e: str(e.detail)),
    ((Http404, exceptions.NotFound), "not_found", "Not found", 404, lambda e: "Nothing is here, or it is not yours."),
    (
        (exceptions.NotAuthenticated, exceptions.AuthenticationFailed),
        "authentication_required",
        "Authentication required",
        401,
        lambda e: "Send an API key: Authorization: Bearer pk_...",
    ),
    (
        (DjangoPermissionDenied, exceptions.PermissionDenied),
        "forbidden",
        "Forbidden",
        403,
        lambda e: "You may not do this.",
    ),
    ((exceptions.MethodNotAllowed,), "method_not_allowed", "Method not allowed", 405, lambda e: str(e.detail)),
    (
        (exceptions.UnsupportedMediaType,),
        "unsupported_media_type",
        "Unsupported media type",
        415,
        lambda e: str(e.detail),
    ),
    ((exceptions.NotAcceptable,), "not_acceptable", "Not acceptable", 406, lambda e: str(e.detail)),
    ((exceptions.APIException,), "error", "Error", None, lambda e: str(e.detail)),
)


def _problem_for(exc: Exception) -> Response | None:
    if isinstance(exc, ProblemError):
        response = problem(type=exc.type, title=exc.title, status=exc.status, detail=exc.detail)
        for name, value in getattr(exc, "headers", {}).items():
            response[name] = value
        return response
    for classes, type_, title, status, detail in _PROBLEMS:
        if isinstance(exc, classes):
            code = status or int(getattr(exc, "status_code", 500))
            response = problem(type=type_, title=title, status=code, detail=detail(exc))
            if code == 401:
                response["WWW-Authenticate"] = WWW_AUTHENTICATE
            return response
    return None
