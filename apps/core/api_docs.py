"""Shared pieces of the OpenAPI description: the problem+json error and rate headers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

Problem = inline_serializer(
    "Problem",
    {
        "type": serializers.CharField(help_text="Stable error type, e.g. invalid_input, rate_limited."),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(help_text="What to change."),
    },
)


_DESCRIPTIONS = {
    400: (
        "Invalid input: the body, an unknown field, or a NUL, lone surrogate or control character in the request",
        "invalid_input",
    ),
    401: ("Missing, invalid, expired or revoked API key", "api_key_invalid"),
    403: ("The key lacks the scope, or may not use this model", "insufficient_scope"),
    404: ("Unknown model, or a job that is not yours", "not_found"),
    409: ("Idempotency-Key reused with a different body", "idempotency_conflict"),
    410: ("The model was retired", "model_retired"),
    429: ("Rate limited, quota exceeded or too many jobs in flight (see `type`)", "rate_limited"),
    503: (
        "The queue or a store behind it is unreachable for now; retry after `Retry-After` seconds",
        "service_unavailable",
    ),
}


# Any endpoint may answer these: hostile input is refused before the endpoint runs, and
# an unreachable Redis or broker is a 503 (apps/core/middleware.py, apps/core/problems.py).
ALWAYS = (400, 503)


def problems(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """Error responses as ``application/problem+json`` for the given statuses, plus ``ALWAYS``."""
    responses = {}
    for status in sorted({*statuses, *ALWAYS}):
        description, example_type = _DESCRIPTIONS[status]
        responses[(status, "application/problem+json")] = OpenApiResponse(
            response=Problem,
            description=description,
            examples=[
                OpenApiExample(
                    example_type,
                    value={"type": example_type, "title": description, "status": status, "detail": "..."},
                    status_codes=[str(status)],
                )
            ],
        )
    return responses


PROBLEM_RESPONSES = problems(401, 403, 429)

RATE_HEADERS = [
    OpenApiParameter("RateLimit-Limit", OpenApiTypes.INT, OpenApiParameter.HEADER, response=True,
                     description="Requests allowed per minute."),
    OpenApiParameter("RateLimit-Remaining", OpenApiTypes.INT, OpenApiParameter.HEADER, response=True,
                     description="Requests left now."),
    OpenApiParameter("RateLimit-Reset", OpenApiTypes.INT, OpenApiParameter.HEADER, response=True,
                     description="Seconds until the allowance is full again."),
]  # fmt: skip
