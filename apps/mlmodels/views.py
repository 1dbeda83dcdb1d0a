from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe

from apps.core.markdown import render_markdown

from .charts import confusion_matrix_svg, training_curve_svg
from .selectors import model_get_visible, model_list_visible, version_int8, version_serving_pick


def model_list(request: HttpRequest) -> HttpResponse:
    return render(request, "mlmodels/model_list.html", {"listing": model_list_visible(viewer=request.user)})


def _charts(metrics: dict[str, Any], labels: list[str]) -> dict[str, SafeString]:
    """The model page's SVG charts, built by our own code from numbers and escaped label text."""
    charts = {}
    if metrics.get("confusion_matrix"):
        charts["confusion"] = mark_safe(confusion_matrix_svg(metrics["confusion_matrix"], labels))  # noqa: S308
    if metrics.get("history"):
        charts["curve"] = mark_safe(training_curve_svg(metrics["history"]))  # noqa: S308
    return charts


def _page(request: HttpRequest, slug: str, version: int | None) -> HttpResponse:
    model, versions = model_get_visible(slug=slug, viewer=request.user)
    if version is None:
        shown = version_serving_pick(versions) or versions[0]
    else:
        found = next((v for v in versions if v.version == version), None)
        if found is None:
            raise Http404("no such version")
        shown = found
    metrics = shown.metrics or {}
    per_label = metrics.get("per_label") or {}
    return render(
        request,
        "mlmodels/model_detail.html",
        {
            "model": model,
            "versions": versions,
            "shown": shown,
            "card": render_markdown(shown.model_card, trusted=True).html if shown.model_card else "",
            "metrics": metrics,
            "per_label": [(label, per_label.get(label, {})) for label in model.labels],
            "charts": _charts(metrics, model.labels),
            "int8": version_int8(version=shown),
        },
    )


def model_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, slug, None)


def model_version(request: HttpRequest, slug: str, version: int) -> HttpResponse:
    return _page(request, slug, version)
