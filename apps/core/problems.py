"""One error shape for the whole API: RFC 9457 ``application/problem+json``.

Every error leaves through ``exception_handler``: our ``ProblemError``s, DRF's
exceptions, and Django's ValidationError, PermissionDenied and Http404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from .errors import ProblemError

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://portal.example.com/docs/errors/#"


def problem(*, type: str, title: str, status: int, detail: str, **extra: Any) -> Response:
    body = {"type": type, "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _flatten(value, f"{prefix}{key}: ")]
    if isinstance(detail, list):
        return [m for value in detail for m in _flatten(value, prefix)]
    return [f"{prefix}{detail}"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
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
        response["WWW-Authenticate"] = 'Bearer realm="api"'
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
