from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.apikeys.api import PortalAPIView, subject_of
from apps.core.api_docs import PROBLEM_RESPONSES

from .limits import quota_used
from .models import APIKey

UsageSerializer = inline_serializer(
    "Usage",
    {
        "period": serializers.CharField(help_text="YYYY-MM, UTC"),
        "inputs_used": serializers.IntegerField(),
        "inputs_limit": serializers.IntegerField(),
        "inputs_remaining": serializers.IntegerField(),
        "requests_per_minute": serializers.IntegerField(),
        "max_concurrent_jobs": serializers.IntegerField(),
        "plan": serializers.CharField(),
    },
)


class UsageAPI(PortalAPIView):
    required_scope = "usage:read"
    usage_endpoint = "GET /usage"

    @extend_schema(
        summary="Your usage this month and the quota left", responses={200: UsageSerializer, **PROBLEM_RESPONSES}
    )
    def get(self, request: Request) -> Response:
        subject, limits = subject_of(request)
        used = quota_used(subject=subject)
        plan = limits.plan if isinstance(limits, APIKey) else limits
        return Response(
            {
                "period": timezone.now().strftime("%Y-%m"),
                "inputs_used": used,
                "inputs_limit": limits.inputs_per_month,
                "inputs_remaining": max(limits.inputs_per_month - used, 0),
                "requests_per_minute": limits.requests_per_minute,
                "max_concurrent_jobs": limits.max_concurrent_jobs,
                "plan": plan.slug,
            }
        )
