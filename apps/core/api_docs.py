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


def _problem(description: str, example_type: str, status: int) -> OpenApiResponse:
    return OpenApiResponse(
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


PROBLEM_RESPONSES = {
    401: _problem("Missing, invalid, expired or revoked API key", "api_key_invalid", 401),
    403: _problem("The key lacks the scope, or may not use this model", "insufficient_scope", 403),
    429: _problem("Rate limited or monthly quota exceeded (see `type`)", "rate_limited", 429),
}

RATE_HEADERS = [
    OpenApiParameter("RateLimit-Limit", OpenApiTypes.INT, OpenApiParameter.HEADER, response=True,
                     description="Requests allowed per minute."),
    OpenApiParameter("RateLimit-Remaining", OpenApiTypes.INT, OpenApiParameter.HEADER, response=True,
                     description="Requests left now."),
    OpenApiParameter("RateLimit-Reset", OpenApiTypes.INT, OpenApiParameter.HEADER, response=True,
                     description="Seconds until the allowance is full again."),
]  # fmt: skip
