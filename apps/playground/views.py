"""The playground's pages: the playground itself and the read-only page of a run.

The playground page only hands data to static/js/playground.js (two JSON blocks, which the
Content-Security-Policy allows because they are never executed); the script talks to the
public API like any client.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from apps.apikeys.limits import anonymous_models, anonymous_runs_left, anonymous_runs_per_hour
from apps.apikeys.plans import plan_default
from apps.core.net import client_ip
from apps.inference.models import InferenceJob, JobStatus
from apps.inference.services import MAX_CHARS, MAX_INPUTS

from .models import Run
from .selectors import playground_model_state, playground_models, run_get_for_page
from .strings import js_strings

FILE_MAX_BYTES = 1_000_000


def _sign_in_urls(request: HttpRequest) -> dict[str, str]:
    next_query = urlencode({"next": request.get_full_path()})
    return {
        "login": f"{reverse('account_login')}?{next_query}",
        "signup": f"{reverse('account_signup')}?{next_query}",
    }


def _version(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


def _model_notice(model: str | None) -> tuple[str, int]:
    """The notice and status of the playground opened on ``model``: a retired model's
    page still opens (410, with a notice); an unknown or draft-only one is a 404."""
    state = playground_model_state(slug=model) if model is not None else "serving"
    if state == "missing":
        raise Http404("no such model")
    return ("retired", 410) if state == "retired" else ("", 200)


def _selected_id(requested: str, listing: list[dict[str, Any]]) -> str:
    ids = [entry["id"] for entry in listing]
    return requested if requested in ids else (ids[0] if ids else "")


def compare_offered(listing: list[dict[str, Any]], *, authenticated: bool) -> bool:
    """Compare mode needs two things to compare: at least two model versions the viewer
    may run (a visitor only the demo models)."""
    choices = sum(len(entry["versions"]) for entry in listing if authenticated or entry["anonymous"])
    return choices >= 2


def _urls(request: HttpRequest) -> dict[str, str]:
    keys_url = reverse("apikeys:key_list")
    classify_url = reverse("api-v1:classify")
    return {
        "classify": classify_url,
        "classify_absolute": request.build_absolute_uri(classify_url),
        "job_template": reverse("api-v1:job", kwargs={"job_id": "__job__"}),
        "usage": reverse("api-v1:usage"),
        "runs": reverse("playground:runs"),
        "model_template": reverse("playground:model", kwargs={"model": "__model__"}),
        "keys": keys_url,
        "keys_absolute": request.build_absolute_uri(keys_url),
        **_sign_in_urls(request),
    }


def _config(
    request: HttpRequest, *, listing: list[dict[str, Any]], initial: dict[str, Any], runs_left: int
) -> dict[str, Any]:
    """What playground.js starts from (the page's playground-config block)."""
    authenticated = request.user.is_authenticated
    return {
        "models": listing,
        "initial": initial,
        "limits": {"max_inputs": MAX_INPUTS, "max_chars": MAX_CHARS, "file_max_bytes": FILE_MAX_BYTES},
        # Signed in, the playground is on the default plan (the API's rule for sessions).
        "user": {"authenticated": authenticated, "plan": plan_default().name if authenticated else ""},
        "anonymous": {"models": anonymous_models(), "per_hour": anonymous_runs_per_hour(), "left": runs_left},
        "urls": _urls(request),
    }


@ensure_csrf_cookie
def index(request: HttpRequest, model: str | None = None) -> HttpResponse:
    listing = playground_models()
    notice, status = _model_notice(model)
    selected = _selected_id(model or request.GET.get("model", ""), listing)
    inputs = [text for text in request.GET.getlist("input") if text.strip()][:MAX_INPUTS]
    runs_left = 0 if request.user.is_authenticated else anonymous_runs_left(ip=client_ip(request))[0]
    initial = {"model": selected, "version": _version(request.GET.get("version")), "inputs": inputs}
    config = _config(request, listing=listing, initial=initial, runs_left=runs_left)
    context = {
        "config": config,
        "strings": js_strings(),
        "listing": listing,
        "selected": next((entry for entry in listing if entry["id"] == selected), None),
        "notice": notice,
        "missing_model": model if notice else "",
        "initial_text": "\n".join(inputs),
        "max_inputs": MAX_INPUTS,
        "max_chars": MAX_CHARS,
        "runs_left": runs_left,
        "per_hour": anonymous_runs_per_hour(),
        "demo_models": [entry for entry in listing if entry["anonymous"]],
        "compare_offered": compare_offered(listing, authenticated=request.user.is_authenticated),
        "urls": config["urls"],
    }
    return render(request, "playground/index.html", context, status=status)


def _scores(result: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not result:
        return []
    ranked = sorted((result.get("scores") or {}).items(), key=lambda item: item[1], reverse=True)
    return [
        {"label": label, "score": score, "percent": f"{score * 100:.1f}%", "winner": label == result.get("label")}
        for label, score in ranked
    ]


def _rows(run: Run, jobs: list[InferenceJob]) -> list[dict[str, Any]]:
    """One row per input: each job's answer for it, and whether the jobs disagree."""
    rows = []
    for index, text in enumerate(run.job.inputs):
        cells: list[dict[str, Any]] = []
        for job in jobs:
            result = job.results[index] if job.results and index < len(job.results) else None
            name = f"{job.model_version.model.slug} v{job.model_version.version}"
            cells.append({"name": name, "result": result, "scores": _scores(result)})
        labels = {cell["result"]["label"] for cell in cells if cell["result"]}
        rows.append({"index": index + 1, "text": text, "cells": cells, "differs": len(jobs) > 1 and len(labels) > 1})
    return rows


def _open_url(run: Run) -> str:
    """The playground with the run's model, version and inputs filled in."""
    query = urlencode(
        [("input", text) for text in run.job.inputs] + [("version", run.job.model_version.version)], doseq=True
    )
    return reverse("playground:model", kwargs={"model": run.job.model_version.model.slug}) + "?" + query


def run_page(request: HttpRequest, token: str) -> HttpResponse:
    """A run, read-only: to its owner always, to anyone else only while it is shared."""
    run = run_get_for_page(viewer=request.user, token=token)
    jobs = [job for job in (run.job, run.compare_job) if job is not None]
    rows = _rows(run, jobs)
    context = {
        "run": run,
        "jobs": jobs,
        "rows": rows,
        "finished": all(job.status == JobStatus.SUCCEEDED for job in jobs),
        "failed": any(job.status in (JobStatus.FAILED, JobStatus.CANCELLED) for job in jobs),
        "is_owner": run.owner_id == getattr(request.user, "pk", None),
        "differing": sum(1 for row in rows if row["differs"]),
        "open_url": _open_url(run),
    }
    response = render(request, "playground/run.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response
