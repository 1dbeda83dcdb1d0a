from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from apps.core.errors import ModelNotFound, ModelRetired
from apps.core.hotcache import HotCache

from .models import INT8_MAX_LOSS_POINTS, SERVING_STATUSES, MLModel, ModelVersion, VersionStatus

if TYPE_CHECKING:
    from apps.accounts.types import Viewer

# What the queue needs of a version; the rest (metrics, card, ...) can be large.
QUEUE_FIELDS = (
    "id", "version", "status", "artifact_dir", "max_length", "variants", "model__id", "model__slug", "model__labels",
)  # fmt: skip


def version_serving_pick(versions: Iterable[ModelVersion]) -> ModelVersion | None:
    """Of one model's ``versions``, newest first, the one that answers requests: the newest
    published one, else the newest deprecated one; None when none of them serves.

    The one place this rule is written: every page, endpoint and queue that names "the"
    version of a model asks here."""
    versions = list(versions)
    for status in SERVING_STATUSES:
        for candidate in versions:
            if candidate.status == status:
                return candidate
    return None


def model_version_serving(*, slug: str, version: int | None = None, for_queue: bool = False) -> ModelVersion:
    """The version that answers requests for ``slug`` (``version_serving_pick``); or exactly
    ``version`` when given. ``for_queue`` loads only what a queue message needs
    (``version_message``), from a per-process copy that any change to a model or version
    makes stale at once (``apps.core.hotcache``): a classify call runs no SQL for it.

    Raises ``ModelNotFound`` when nothing public exists under that id (drafts are private)
    and ``ModelRetired`` when its versions were all retired.
    """
    if for_queue:
        return _SERVING.get((slug, version), lambda: _serving_load(slug=slug, version=version, for_queue=True))
    return _serving_load(slug=slug, version=version, for_queue=False)


# Serving versions for the queue by (slug, version); see apps.py for what makes them stale.
_SERVING = HotCache()


def _serving_load(*, slug: str, version: int | None, for_queue: bool) -> ModelVersion:
    versions = ModelVersion.objects.select_related("model").filter(model__slug=slug).exclude(status=VersionStatus.DRAFT)
    if for_queue:
        versions = versions.only(*QUEUE_FIELDS)
    if version is not None:
        versions = versions.filter(version=version)
    found = list(versions.order_by("-version"))
    if not found:
        raise ModelNotFound(f"No published model has the id {slug!r}{'' if version is None else f' v{version}'}.")
    serving = version_serving_pick(found)
    if serving is not None:
        return serving
    raise ModelRetired(f"The model {slug!r} was retired and no longer answers requests.")


def model_list_public() -> QuerySet[MLModel]:
    """Models with at least one version that answers requests."""
    return MLModel.objects.filter(versions__status__in=SERVING_STATUSES).distinct().order_by("slug")


def serving_manifest() -> list[dict[str, Any]]:
    """What an inference worker needs to warm every serving version without a database."""
    versions = ModelVersion.objects.select_related("model").filter(status__in=SERVING_STATUSES)
    return [version_message(v) for v in versions.order_by("model__slug", "-version")]


def version_message(version: ModelVersion) -> dict[str, Any]:
    """The part of a queue message that names the model version (JSON only). ``int8``
    says the version's int8 variant may serve; the worker decides whether it does
    (``runtime.serving_variant``)."""
    return {
        "version_id": version.pk,
        "slug": version.model.slug,
        "version": version.version,
        "artifact_dir": version.artifact_dir,
        "max_length": version.max_length,
        "labels": list(version.model.labels),
        "int8": version.int8_eligible,
    }


def version_int8(*, version: ModelVersion) -> dict[str, Any] | None:
    """The int8 variant of ``version`` as the model page shows it, or None when none was
    measured: its figures, whether it is eligible, and whether CPU workers serve it (they
    do when it is eligible and ``INFERENCE_QUANTIZED`` is on; GPU workers never do)."""
    from django.conf import settings

    if not version.int8:
        return None
    return {
        **version.int8,
        "eligible": version.int8_eligible,
        "served": version.int8_eligible and bool(settings.INFERENCE_QUANTIZED),
        "enabled": bool(settings.INFERENCE_QUANTIZED),
        "limit_points": INT8_MAX_LOSS_POINTS,
    }


def model_get_visible(*, slug: str, viewer: Viewer | None) -> tuple[MLModel, list[ModelVersion]]:
    """A model and the versions ``viewer`` may see: staff see drafts (preview), others
    only published, deprecated and retired ones. Raises Http404 when nothing is visible."""
    from django.http import Http404

    model = MLModel.objects.filter(slug=slug).first()
    if model is None:
        raise Http404("no such model")
    versions = list(model.versions.order_by("-version"))
    if viewer is None or not viewer.is_staff:
        versions = [v for v in versions if v.status != VersionStatus.DRAFT]
    if not versions:
        raise Http404("no such model")
    return model, versions


def model_list_visible(*, viewer: Viewer | None) -> list[tuple[MLModel, ModelVersion]]:
    """Every model with a version the viewer may see, paired with the version to show."""
    from django.db.models import Prefetch

    versions = ModelVersion.objects.order_by("-version")
    if viewer is None or not viewer.is_staff:
        versions = versions.exclude(status=VersionStatus.DRAFT)
    models = MLModel.objects.order_by("slug").prefetch_related(Prefetch("versions", queryset=versions))
    listing = []
    for model in models:
        shown = list(model.versions.all())
        if shown:
            listing.append((model, version_serving_pick(shown) or shown[0]))
    return listing
