"""Domain errors that reach API clients. Each has a stable ``type`` (the problem+json
``type``), an HTTP status and a title; the detail says what to change."""

from __future__ import annotations

from rest_framework.exceptions import APIException


class ProblemError(APIException):
    """Raised by services; the API's exception handler turns it into problem+json.

    A subclass of DRF's APIException so that DRF's own machinery (authentication,
    ``request.user``) treats it as a handled client error.
    """

    type = "error"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail: str = detail  # type: ignore[assignment]  # always text here; DRF allows lists and dicts
        self.status_code = self.status
        self.headers = headers or {}


class InvalidInput(ProblemError):
    type = "invalid_input"
    title = "Invalid input"


class RequestTooLarge(ProblemError):
    """A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (file uploads aside)."""

    type = "request_too_large"
    title = "Request body too large"


class ModelNotFound(ProblemError):
    type = "model_not_found"
    status = 404
    title = "Model not found"


class ModelRetired(ProblemError):
    type = "model_retired"
    status = 410
    title = "Model retired"


class NotFound(ProblemError):
    type = "not_found"
    status = 404
    title = "Not found"


class AuthenticationRequired(ProblemError):
    type = "authentication_required"
    status = 401
    title = "Authentication required"


class ApiKeyInvalid(ProblemError):
    type = "api_key_invalid"
    status = 401
    title = "Invalid API key"


class ApiKeyExpired(ProblemError):
    type = "api_key_expired"
    status = 401
    title = "API key expired"


class ApiKeyRevoked(ProblemError):
    type = "api_key_revoked"
    status = 401
    title = "API key revoked"


class InsufficientScope(ProblemError):
    type = "insufficient_scope"
    status = 403
    title = "Insufficient scope"


class ModelNotAllowed(ProblemError):
    type = "model_not_allowed"
    status = 403
    title = "Model not allowed for this key"


class RateLimited(ProblemError):
    type = "rate_limited"
    status = 429
    title = "Rate limited"


class QuotaExceeded(ProblemError):
    """The period's inputs are used up. The API answers it with ``Retry-After``: the
    seconds until the period ends (``apps.apikeys.limits.quota_reset_seconds``)."""

    type = "quota_exceeded"
    status = 429
    title = "Monthly quota exceeded"


class ConcurrencyLimited(ProblemError):
    type = "concurrency_limited"
    status = 429
    title = "Too many jobs in flight"


class IdempotencyConflict(ProblemError):
    type = "idempotency_conflict"
    status = 409
    title = "Idempotency key reused with a different body"


class ServiceUnavailable(ProblemError):
    """A service the request needs (Redis, the broker) cannot be reached; retrying later
    is safe. Carries ``Retry-After`` (seconds) unless the raiser names its own."""

    type = "service_unavailable"
    status = 503
    title = "Service unavailable"
    retry_after = 5

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(self.retry_after), **(headers or {})})
