"""Reads for the playground, each with the viewer passed in."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse

from apps.apikeys.limits import anonymous_models
from apps.core.errors import ModelNotFound, ModelRetired, NotFound
from apps.mlmodels.models import SERVING_STATUSES, MLModel, ModelVersion
from apps.mlmodels.selectors import model_version_serving, version_serving_pick

from .models import Run

if TYPE_CHECKING:
    from apps.accounts.types import Viewer

HISTORY_LIMIT = 20


def playground_models() -> list[dict[str, Any]]:
    """Every model that answers requests, for the model picker: its serving version (the
    newest published, else the newest deprecated) and every version that still answers.

    The same models as GET /api/v1/models, plus what the picker shows (name, examples,
    the model page). Two queries."""
    versions = list(
        ModelVersion.objects.filter(status__in=SERVING_STATUSES)
        .select_related("model")
        .order_by("model__slug", "-version")
    )
    allowed = set(anonymous_models())
    by_model: dict[int, tuple[MLModel, list[ModelVersion]]] = {}
    for version in versions:
        by_model.setdefault(version.model_id, (version.model, []))[1].append(version)
    listing = []
    for model, serving in by_model.values():
        default = version_serving_pick(serving) or serving[0]
        listing.append(
            {
                "id": model.slug,
                "name": model.name,
                "task": model.get_task_display(),
                "labels": list(model.labels),
                "description": model.description,
                "examples": [str(text) for text in (model.example_inputs or []) if str(text).strip()][:8],
                "version": default.version,
                "versions": [
                    {"version": v.version, "status": v.status, "status_display": v.get_status_display()}
                    for v in serving
                ],
                "url": reverse("mlmodels:detail", kwargs={"slug": model.slug}),
                "anonymous": model.slug in allowed,
            }
        )
    return sorted(listing, key=lambda m: (not m["anonymous"], m["id"]))


def playground_model_state(*, slug: str) -> str:
    """``"serving"``, ``"retired"`` (every public version retired) or ``"missing"`` (no such
    model, or drafts only: drafts are private)."""
    try:
        model_version_serving(slug=slug, for_queue=True)
    except ModelRetired:
        return "retired"
    except ModelNotFound:
        return "missing"
    return "serving"


def _runs() -> QuerySet[Run]:
    return Run.objects.select_related("job__model_version__model", "compare_job__model_version__model").defer(
        "job__inputs", "compare_job__inputs"
    )


def run_list_visible(*, viewer: Viewer, limit: int = HISTORY_LIMIT) -> list[Run]:
    """The viewer's latest runs, newest first; nobody else's. One query."""
    if not viewer.is_authenticated:
        return []
    return list(_runs().filter(owner=viewer).order_by("-created_at")[:limit])


def run_get_owned(*, viewer: Viewer, run_id: Any) -> Run:
    """The viewer's own run, with its inputs; ``NotFound`` for anyone else's (not 403:
    another user's run is not theirs to learn about)."""
    try:
        key = uuid.UUID(str(run_id))
    except ValueError:
        raise NotFound("No run has this id.") from None
    run = (
        Run.objects.select_related("job__model_version__model", "compare_job__model_version__model")
        .filter(id=key, owner_id=viewer.pk)
        .first()
    )
    if run is None:
        raise NotFound("No run has this id, or it is not yours.")
    return run


def run_get_for_page(*, viewer: Viewer, token: str) -> Run:
    """The run behind a share link: its owner always sees it; others only while it is
    shared. Raises ``Http404`` otherwise."""
    run = (
        Run.objects.select_related("owner", "job__model_version__model", "compare_job__model_version__model")
        .filter(share_token=token)
        .first()
    )
    if run is None:
        raise Http404("no such run")
    if run.shared or run.owner_id == viewer.pk:
        return run
    raise Http404("no such run")
