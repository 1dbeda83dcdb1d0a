"""The playground's own JSON endpoints: the signed-in user's history of runs and sharing.

Not part of the public API (nothing here classifies; the page calls /api/v1/ for that)
and left out of the OpenAPI document. Session authentication with CSRF, errors as
problem+json like every API of the portal.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apikeys.auth import PlaygroundSessionAuthentication
from apps.core.errors import AuthenticationRequired, InvalidInput
from apps.inference.models import InferenceJob

from .models import Run
from .selectors import HISTORY_LIMIT, run_get_owned, run_list_visible
from .services import playground_run_create, playground_run_delete, playground_run_share


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


def _flag(data: Any, name: str) -> bool:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, bool):
        raise InvalidInput(_("`%(name)s` must be true or false.") % {"name": name})
    return value


class RunListAPI(PlaygroundAPIView):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        runs = run_list_visible(viewer=request.user, limit=HISTORY_LIMIT)
        return Response({"results": [run_json(run, request) for run in runs]})

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        if not data.get("job"):
            raise InvalidInput(_("Send the id of the job to record as `job`."))
        run = playground_run_create(owner=request.user, job_id=data["job"], compare_job_id=data.get("compare_job"))
        return Response(run_json(run, request), status=201)


class RunDetailAPI(PlaygroundAPIView):
    @extend_schema(exclude=True)
    def get(self, request: Request, run_id: str) -> Response:
        return Response(run_json(run_get_owned(viewer=request.user, run_id=run_id), request, inputs=True))

    @extend_schema(exclude=True)
    def patch(self, request: Request, run_id: str) -> Response:
        run = playground_run_share(owner=request.user, run_id=run_id, shared=_flag(request.data, "shared"))
        return Response(run_json(run, request))

    @extend_schema(exclude=True)
    def delete(self, request: Request, run_id: str) -> Response:
        playground_run_delete(owner=request.user, run_id=run_id)
        return Response(status=204)
