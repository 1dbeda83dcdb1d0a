"""The playground's own JSON endpoints: the signed-in user's history of runs and sharing.

Not part of the public API (nothing here classifies; the page calls /api/v1/ for that)
and left out of the OpenAPI document. Session authentication with CSRF, errors as
problem+json like every API of the portal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apikeys.auth import PlaygroundSessionAuthentication
from apps.core.errors import AuthenticationRequired
from apps.core.serializers import JSONBooleanField, StrictSerializer
from apps.inference.models import InferenceJob

from .models import Run
from .selectors import HISTORY_LIMIT, run_get_owned, run_list_visible
from .services import playground_run_create, playground_run_delete, playground_run_share

if TYPE_CHECKING:
    from apps.accounts.models import User


def _side(job: InferenceJob) -> dict[str, Any]:
    results = job.results or []
    first = results[0] if results else None
    return {
        "job": str(job.id),
        "model": job.model_version.model.slug,
        "version": job.model_version.version,
        "status": job.status,
        "label": first.get("label") if isinstance(first, dict) else None,
        "job_url": reverse("api-v1:job", kwargs={"job_id": job.id}),
    }


def run_json(run: Run, request: Request, *, inputs: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(run.id),
        "created_at": run.created_at.isoformat(),
        "first_input": run.first_input,
        "input_count": run.input_count,
        "shared": run.shared,
        "page_url": request.build_absolute_uri(run.get_absolute_url()),
        "url": reverse("playground:run_api", kwargs={"run_id": run.id}),
        "sides": [_side(run.job)] + ([_side(run.compare_job)] if run.compare_job else []),
    }
    if inputs:
        body["inputs"] = list(run.job.inputs)
    return body


class PlaygroundAPIView(APIView):
    authentication_classes = [PlaygroundSessionAuthentication]
    permission_classes: list[Any] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not request.user.is_authenticated:
            raise AuthenticationRequired(_("Sign in to keep a history of your runs."))


def _signed_in(request: Request) -> User:
    # ``PlaygroundAPIView.initial`` has turned away everyone who is not signed in.
    return cast("User", request.user)


class RunCreateRequest(StrictSerializer):
    # Ids stay text: the selector answers 404 for one that is malformed or not the caller's.
    job = serializers.CharField(max_length=64, help_text="The id of the job to record.")
    compare_job = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)


class RunShareRequest(StrictSerializer):
    shared = JSONBooleanField()


def _valid(serializer_class: type[StrictSerializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class RunListAPI(PlaygroundAPIView):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        runs = run_list_visible(viewer=_signed_in(request), limit=HISTORY_LIMIT)
        return Response({"results": [run_json(run, request) for run in runs]})

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        data = _valid(RunCreateRequest, request.data)
        owner = _signed_in(request)
        run = playground_run_create(owner=owner, job_id=data["job"], compare_job_id=data.get("compare_job"))
        return Response(run_json(run, request), status=201)


class RunDetailAPI(PlaygroundAPIView):
    @extend_schema(exclude=True)
    def get(self, request: Request, run_id: str) -> Response:
        return Response(run_json(run_get_owned(viewer=_signed_in(request), run_id=run_id), request, inputs=True))

    @extend_schema(exclude=True)
    def patch(self, request: Request, run_id: str) -> Response:
        shared = _valid(RunShareRequest, request.data)["shared"]
        run = playground_run_share(owner=_signed_in(request), run_id=run_id, shared=shared)
        return Response(run_json(run, request))

    @extend_schema(exclude=True)
    def delete(self, request: Request, run_id: str) -> Response:
        playground_run_delete(owner=_signed_in(request), run_id=run_id)
        return Response(status=204)
