from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.apikeys.api import PortalAPIView
from apps.core.api_docs import PROBLEM_RESPONSES, problems

from .models import ModelVersion
from .selectors import model_list_visible, model_version_serving


class ModelSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField(help_text="The model id to send as `model`.")
    version = serializers.IntegerField()
    task = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField(), help_text="In the order of the scores.")
    description = serializers.CharField()
    metrics = serializers.DictField(help_text="accuracy, macro_f1, per_label, confusion_matrix, ...")
    status = serializers.CharField(help_text="published or deprecated")


def model_json(version: ModelVersion) -> dict[str, Any]:
    metrics = {k: v for k, v in (version.metrics or {}).items() if k != "history"}
    return {
        "id": version.model.slug,
        "version": version.version,
        "task": version.model.task,
        "labels": list(version.model.labels),
        "description": version.model.description,
        "metrics": metrics,
        "status": version.status,
    }


class ModelListAPI(PortalAPIView):
    required_scope = "models:read"
    usage_endpoint = "GET /models"

    @extend_schema(
        summary="List the published models",
        operation_id="models_list",
        responses={200: inline_serializer("ModelList", {"results": ModelSerializer(many=True)}), **PROBLEM_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        listing = [model_json(version) for _model, version in model_list_visible(viewer=None) if version.is_serving]
        return Response({"results": listing})


class ModelDetailAPI(PortalAPIView):
    required_scope = "models:read"
    usage_endpoint = "GET /models/{id}"

    @extend_schema(
        summary="One published model",
        responses={200: ModelSerializer, **problems(401, 403, 404, 429)},
    )
    def get(self, request: Request, model_id: str) -> Response:
        return Response(model_json(model_version_serving(slug=model_id)))
