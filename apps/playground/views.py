"""The playground's pages: the playground itself and the read-only page of a run.

The playground page only hands data to static/js/playground.js (two JSON blocks, which the
Content-Security-Policy allows because they are never executed); the script talks to the
public API like any client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import ensure_csrf_cookie

from apps.apikeys.auth import client_ip
from apps.apikeys.plans import plan_default
from apps.core.api import anonymous_models, anonymous_runs_left, anonymous_runs_per_hour
from apps.inference.models import JobStatus
from apps.inference.services import MAX_CHARS, MAX_INPUTS

from .selectors import playground_model_state, playground_models, run_get_for_page

FILE_MAX_BYTES = 1_000_000


def _plural(forms: Callable[[int], str]) -> dict[str, str]:
    # The script picks "one" for 1 and "other" otherwise, as English does; Chinese has one
    # form and gives the same text for both. ``forms`` wraps a literal ngettext call so
    # that makemessages finds the strings.
    return {"one": forms(1), "other": forms(2)}


def js_strings() -> dict[str, Any]:
    """Every text playground.js shows, in the request's language."""
    return {
        "ms": _("%(n)s ms"),
        "labels": _("Labels:"),
        "model_page": _("Model page, metrics and card"),
        "examples": _("Examples (one click loads them)"),
        "examples_all": _("Load all examples as a batch"),
        "example_text": _("Your text here"),
        "version_default": _("v%(version)s (newest)"),
        "version_deprecated": _("v%(version)s (deprecated)"),
        "counter": _("%(n)s of %(max)s inputs · longest %(chars)s of %(max_chars)s characters"),
        "error_empty": _("Type or paste some text first: the input is empty."),
        "error_too_many": _("%(n)s inputs is too many: a request takes at most %(max)s. Remove some lines."),
        "error_too_long": _(
            "Input %(index)s has %(n)s characters; the limit is %(max)s. Shorten it or split it into lines."
        ),
        "error_too_long_one": _("The input has %(n)s characters; the limit is %(max)s. Shorten it."),
        "error_compare_same": _("Pick a different model or version to compare with."),
        "file_wrong_type": _("%(name)s is not a CSV or TXT file."),
        "file_too_big": _("%(name)s is larger than %(max)s KB."),
        "file_empty": _("%(name)s has no text in it."),
        "file_loaded": _plural(
            lambda n: ngettext("Loaded %(n)s input from %(name)s.", "Loaded %(n)s inputs from %(name)s.", n)
        ),
        "file_cut": _("The file has %(total)s rows; only the first %(max)s fit in one request."),
        "status_idle": _("Ready. Pick a model, enter text and press Run (Ctrl+Enter)."),
        "status_sending": _("Sending the request…"),
        "status_queued": _("Queued for %(model)s."),
        "status_no_worker": _("Queued for %(model)s, but no worker is online: the job waits until one starts."),
        "status_running": _("Running on %(model)s…"),
        "status_running_detail": _plural(
            lambda n: ngettext(
                "Worker %(worker)s, in a batch of %(n)s input", "Worker %(worker)s, in a batch of %(n)s inputs", n
            )
        ),
        "status_done": _("Done in %(ms)s ms."),
        "status_done_compare": _("Both answered; inputs where they disagree are highlighted."),
        "status_failed": _("The job failed."),
        "status_gave_up": _("Still not finished: the page stopped checking."),
        "status_not_sent": _("Nothing was queued."),
        "status_queued_short": _("Queued"),
        "status_running_short": _("Running"),
        "status_succeeded_short": _("Done"),
        "status_failed_short": _("Failed"),
        "status_cancelled_short": _("Cancelled"),
        "jobs_ahead": _plural(lambda n: ngettext("%(n)s job ahead", "%(n)s jobs ahead", n)),
        "next_in_line": _("next in line"),
        "workers_online": _plural(lambda n: ngettext("%(n)s worker online", "%(n)s workers online", n)),
        "waited": _("waiting for %(n)s s"),
        "timing_queue": _("Queue wait"),
        "timing_inference": _("Inference"),
        "timing_total": _("Total"),
        "timing_batch": _("Batch size"),
        "scores_for": _("Scores for input %(n)s"),
        "top_label": _("Top label"),
        "truncated": _("This input was longer than the model reads: it was cut to the model's maximum length."),
        "truncated_short": _("(truncated)"),
        "differs": _("Differs"),
        "same": _("Same"),
        "results_count": _plural(lambda n: ngettext("Result for %(n)s input", "Results for %(n)s inputs", n)),
        "compare_agree": _plural(
            lambda n: ngettext("The two agree on %(n)s input.", "The two agree on all %(n)s inputs.", n)
        ),
        "compare_differ": _plural(
            lambda n: ngettext(
                "The two disagree on %(n)s of %(total)s inputs.", "The two disagree on %(n)s of %(total)s inputs.", n
            )
        ),
        "table_caption": _("Results, one row per input"),
        "col_input": _("Input"),
        "col_label": _("Label"),
        "col_score": _("Score"),
        "col_same": _("Same label?"),
        "exported": _("Saved %(name)s."),
        "code_key_hint": _("Put your API key in PORTAL_API_KEY; create one at %(url)s"),
        "anon_left": _plural(
            lambda n: ngettext(
                "%(n)s of %(max)s free run left this hour.", "%(n)s of %(max)s free runs left this hour.", n
            )
        ),
        "rate_left": _plural(
            lambda n: ngettext(
                "%(n)s of %(max)s request left this minute.", "%(n)s of %(max)s requests left this minute.", n
            )
        ),
        "plan_line": _(
            "%(plan)s plan: %(rpm)s requests a minute, %(quota)s inputs a month (%(left)s left this month)."
        ),
        "sign_in": _("Sign in"),
        "sign_up": _("Create a free account"),
        "request_more": _("Request a higher quota"),
        "retry_in": _("You can run again in %(n)s s."),
        "retry_now": _("You can run again now."),
        "check_again": _("Check again"),
        "err_network_title": _("The server could not be reached"),
        "err_network": _("Check your connection and try again."),
        "err_invalid_title": _("The input was not accepted"),
        "err_invalid": _("Nothing was queued. Fix the input and run again:"),
        "err_rate_title": _("Too many requests"),
        "err_rate": _("Your plan allows a number of requests a minute, and they are used up. Try again in %(n)s s."),
        "err_anon_limit_title": _("Free runs used up for this hour"),
        "err_anon_limit": _plural(
            lambda n: ngettext(
                "Visitors can run the demo %(n)s time an hour. Sign in (it is free) to keep going, "
                "or come back in %(minutes)s min.",
                "Visitors can run the demo %(n)s times an hour. Sign in (it is free) to keep going, "
                "or come back in %(minutes)s min.",
                n,
            )
        ),
        "err_quota_title": _("Monthly quota used up"),
        "err_quota": _("Your plan's inputs for this month are used up. You can ask for a higher quota."),
        "err_concurrency_title": _("Too many jobs at once"),
        "err_concurrency": _("Your plan runs a few jobs at a time. Wait for one to finish, then run again."),
        "err_retired_title": _("This model was retired"),
        "err_retired": _("It no longer answers requests. Pick another model or version."),
        "err_not_found_title": _("Model not found"),
        "err_not_found": _("This model or version is not published. Pick another one."),
        "err_sign_in_title": _("Sign in to use this model"),
        "err_sign_in": _("Without an account you can try the demo model. Sign in to use every published model."),
        "err_forbidden_title": _("Your session has expired"),
        "err_forbidden": _("Reload the page and try again."),
        "err_generic_title": _("Something went wrong"),
        "err_generic": _("The server answered with status %(status)s."),
        "err_failed_title": _("The job failed"),
        "err_failed": _("The worker could not classify these inputs."),
        "err_timeout_title": _("The worker timed out"),
        "err_timeout": _("The job took longer than the time limit and was stopped. Try fewer or shorter inputs."),
        "err_worker_lost_title": _("The job was given up"),
        "err_worker_lost": _("Its worker stopped several times while running it."),
        "err_slow_title": _("The job is taking unusually long"),
        "err_slow": _(
            "It is still queued or running. It stays in the queue and will finish when a worker is free; "
            "your history keeps it."
        ),
        "rerun": _("Re-run"),
        "rerun_label": _("Re-run: %(input)s"),
        "share": _("Share"),
        "share_link": _("Share link"),
        "copy_link": _("Copy link"),
        "copied": _("Copied"),
        "shared_note": _("Anyone with this link can see the inputs and results (read-only)."),
        "share_on": _("Sharing is on: anyone with the link can see this run."),
        "share_off": _("Sharing is off: only you can see this run."),
        "delete": _("Delete"),
        "delete_confirm": _("Delete this run from your history?"),
        "cancel": _("Cancel"),
        "deleted": _("Run deleted."),
        "more_inputs": _plural(lambda n: ngettext("+%(n)s more input", "+%(n)s more inputs", n)),
    }


def _sign_in_urls(request: HttpRequest) -> dict[str, str]:
    next_query = urlencode({"next": request.get_full_path()})
    return {
        "login": f"{reverse('account_login')}?{next_query}",
        "signup": f"{reverse('account_signup')}?{next_query}",
    }


def _version(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


@ensure_csrf_cookie
def index(request: HttpRequest, model: str | None = None) -> HttpResponse:
    listing = playground_models()
    ids = [entry["id"] for entry in listing]
    notice, status = "", 200
    if model is not None:
        state = playground_model_state(slug=model)
        if state == "missing":
            raise Http404("no such model")
        if state == "retired":
            notice, status = "retired", 410
    selected = model or request.GET.get("model", "")
    if selected not in ids:
        selected = ids[0] if ids else ""
    inputs = [text for text in request.GET.getlist("input") if text.strip()][:MAX_INPUTS]
    authenticated = request.user.is_authenticated
    runs_left = 0 if authenticated else anonymous_runs_left(ip=client_ip(request))[0]
    keys_url = reverse("apikeys:key_list")
    classify_url = reverse("api-v1:classify")
    config = {
        "models": listing,
        "initial": {"model": selected, "version": _version(request.GET.get("version")), "inputs": inputs},
        "limits": {"max_inputs": MAX_INPUTS, "max_chars": MAX_CHARS, "file_max_bytes": FILE_MAX_BYTES},
        # Signed in, the playground is on the default plan (the API's rule for sessions).
        "user": {"authenticated": authenticated, "plan": plan_default().name if authenticated else ""},
        "anonymous": {"models": anonymous_models(), "per_hour": anonymous_runs_per_hour(), "left": runs_left},
        "urls": {
            "classify": classify_url,
            "classify_absolute": request.build_absolute_uri(classify_url),
            "job_template": reverse("api-v1:job", kwargs={"job_id": "__job__"}),
            "usage": reverse("api-v1:usage"),
            "runs": reverse("playground:runs"),
            "model_template": reverse("playground:model", kwargs={"model": "__model__"}),
            "keys": keys_url,
            "keys_absolute": request.build_absolute_uri(keys_url),
            **_sign_in_urls(request),
        },
    }
    selected_model = next((entry for entry in listing if entry["id"] == selected), None)
    context = {
        "config": config,
        "strings": js_strings(),
        "listing": listing,
        "selected": selected_model,
        "notice": notice,
        "missing_model": model if notice else "",
        "initial_text": "\n".join(inputs),
        "max_inputs": MAX_INPUTS,
        "max_chars": MAX_CHARS,
        "runs_left": runs_left,
        "per_hour": anonymous_runs_per_hour(),
        "demo_models": [entry for entry in listing if entry["anonymous"]],
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


def run_page(request: HttpRequest, token: str) -> HttpResponse:
    """A run, read-only: to its owner always, to anyone else only while it is shared."""
    run = run_get_for_page(viewer=request.user, token=token)
    jobs = [job for job in (run.job, run.compare_job) if job is not None]
    rows = []
    for index, text in enumerate(run.job.inputs):
        cells = []
        for job in jobs:
            result = job.results[index] if job.results and index < len(job.results) else None
            name = f"{job.model_version.model.slug} v{job.model_version.version}"
            cells.append({"name": name, "result": result, "scores": _scores(result)})
        labels = {cell["result"]["label"] for cell in cells if cell["result"]}
        rows.append({"index": index + 1, "text": text, "cells": cells, "differs": len(jobs) > 1 and len(labels) > 1})
    finished = all(job.status == JobStatus.SUCCEEDED for job in jobs)
    failed = any(job.status in (JobStatus.FAILED, JobStatus.CANCELLED) for job in jobs)
    query = urlencode(
        [("input", text) for text in run.job.inputs] + [("version", run.job.model_version.version)], doseq=True
    )
    context = {
        "run": run,
        "jobs": jobs,
        "rows": rows,
        "finished": finished,
        "failed": failed,
        "is_owner": run.owner_id == getattr(request.user, "pk", None),
        "differing": sum(1 for row in rows if row["differs"]),
        "open_url": reverse("playground:model", kwargs={"model": run.job.model_version.model.slug}) + "?" + query,
    }
    response = render(request, "playground/run.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response
