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


def _problem_for(exc: Exception) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, ProblemError):
        response = problem(type=exc.type, title=exc.title, status=exc.status, detail=exc.detail)
        for name, value in getattr(exc, "headers", {}).items():
            response[name] = value
        return response
    if isinstance(exc, DjangoValidationError):
        return problem(type="invalid_input", title="Invalid input", status=400, detail=" ".join(exc.messages))
    if isinstance(exc, exceptions.ValidationError):
        return problem(type="invalid_input", title="Invalid input", status=400, detail=" ".join(_flatten(exc.detail)))
    if isinstance(exc, exceptions.ParseError):
        return problem(type="invalid_json", title="Malformed request body", status=400, detail=str(exc.detail))
    if isinstance(exc, Http404 | exceptions.NotFound):
        return problem(type="not_found", title="Not found", status=404, detail="Nothing is here, or it is not yours.")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response = problem(
            type="authentication_required",
            title="Authentication required",
            status=401,
            detail="Send an API key: Authorization: Bearer pk_...",
        )
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
        return response
    if isinstance(exc, DjangoPermissionDenied | exceptions.PermissionDenied):
        return problem(type="forbidden", title="Forbidden", status=403, detail="You may not do this.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return problem(type="method_not_allowed", title="Method not allowed", status=405, detail=str(exc.detail))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return problem(
            type="unsupported_media_type", title="Unsupported media type", status=415, detail=str(exc.detail)
        )
    if isinstance(exc, exceptions.NotAcceptable):
        return problem(type="not_acceptable", title="Not acceptable", status=406, detail=str(exc.detail))
    if isinstance(exc, exceptions.APIException):
        return problem(type="error", title="Error", status=exc.status_code, detail=str(exc.detail), **headers)
    return None
