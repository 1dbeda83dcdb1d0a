"""Every text that static/js/playground.js shows, as one table.

A plain text is marked with ``gettext_noop`` and translated when a page is built. A text
that counts something is a literal ``ngettext`` call behind a lambda, so that makemessages
finds both forms; the script picks "one" for 1 and "other" otherwise, as English does
(Chinese has one form and gives the same text for both).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext, gettext_noop, ngettext

Counted = Callable[[int], str]

STRINGS: dict[str, str | Counted] = {
    "ms": gettext_noop("%(n)s ms"),
    "labels": gettext_noop("Labels:"),
    "model_page": gettext_noop("Model page, metrics and card"),
    "examples": gettext_noop("Examples (one click loads them)"),
    "examples_all": gettext_noop("Load all examples as a batch"),
    "example_text": gettext_noop("Your text here"),
    "version_default": gettext_noop("v%(version)s (newest)"),
    "version_deprecated": gettext_noop("v%(version)s (deprecated)"),
    "counter": gettext_noop("%(n)s of %(max)s inputs · longest %(chars)s of %(max_chars)s characters"),
    "error_empty": gettext_noop("Type or paste some text first: the input is empty."),
    "error_too_many": gettext_noop("%(n)s inputs is too many: a request takes at most %(max)s. Remove some lines."),
    "error_too_long": gettext_noop(
        "Input %(index)s has %(n)s characters; the limit is %(max)s. Shorten it or split it into lines."
    ),
    "error_too_long_one": gettext_noop("The input has %(n)s characters; the limit is %(max)s. Shorten it."),
    "error_compare_same": gettext_noop("Pick a different model or version to compare with."),
    "file_wrong_type": gettext_noop("%(name)s is not a CSV or TXT file."),
    "file_too_big": gettext_noop("%(name)s is larger than %(max)s KB."),
    "file_empty": gettext_noop("%(name)s has no text in it."),
    "file_loaded": lambda n: ngettext("Loaded %(n)s input from %(name)s.", "Loaded %(n)s inputs from %(name)s.", n),
    "file_cut": gettext_noop("The file has %(total)s rows; only the first %(max)s fit in one request."),
    "status_idle": gettext_noop("Ready. Pick a model, enter text and press Run (Ctrl+Enter)."),
    "status_sending": gettext_noop("Sending the request…"),
    "status_queued": gettext_noop("Queued for %(model)s."),
    "status_no_worker": gettext_noop("Queued for %(model)s, but no worker is online: the job waits until one starts."),
    "status_running": gettext_noop("Running on %(model)s…"),
    "status_running_detail": lambda n: ngettext(
        "Worker %(worker)s, in a batch of %(n)s input", "Worker %(worker)s, in a batch of %(n)s inputs", n
    ),
    "status_done": gettext_noop("Done in %(ms)s ms."),
    "status_done_compare": gettext_noop("Both answered; inputs where they disagree are highlighted."),
    "status_failed": gettext_noop("The job failed."),
    "status_gave_up": gettext_noop("Still not finished: the page stopped checking."),
    "status_not_sent": gettext_noop("Nothing was queued."),
    "status_queued_short": gettext_noop("Queued"),
    "status_running_short": gettext_noop("Running"),
    "status_succeeded_short": gettext_noop("Done"),
    "status_failed_short": gettext_noop("Failed"),
    "status_cancelled_short": gettext_noop("Cancelled"),
    "jobs_ahead": lambda n: ngettext("%(n)s job ahead", "%(n)s jobs ahead", n),
    "next_in_line": gettext_noop("next in line"),
    "workers_online": lambda n: ngettext("%(n)s worker online", "%(n)s workers online", n),
    "waited": gettext_noop("waiting for %(n)s s"),
    "timing_queue": gettext_noop("Queue wait"),
    "timing_inference": gettext_noop("Inference"),
    "timing_total": gettext_noop("Total"),
    "timing_batch": gettext_noop("Batch size"),
    "scores_for": gettext_noop("Scores for input %(n)s"),
    "top_label": gettext_noop("Top label"),
    "truncated": gettext_noop("This input was longer than the model reads: it was cut to the model's maximum length."),
    "truncated_short": gettext_noop("(truncated)"),
    "differs": gettext_noop("Differs"),
    "same": gettext_noop("Same"),
    "results_count": lambda n: ngettext("Result for %(n)s input", "Results for %(n)s inputs", n),
    "compare_agree": lambda n: ngettext("The two agree on %(n)s input.", "The two agree on all %(n)s inputs.", n),
    "compare_differ": lambda n: ngettext(
        "The two disagree on %(n)s of %(total)s inputs.", "The two disagree on %(n)s of %(total)s inputs.", n
    ),
    "table_caption": gettext_noop("Results, one row per input"),
    "col_input": gettext_noop("Input"),
    "col_label": gettext_noop("Label"),
    "col_score": gettext_noop("Score"),
    "col_same": gettext_noop("Same label?"),
    "exported": gettext_noop("Saved %(name)s."),
    "code_key_hint": gettext_noop("Put your API key in PORTAL_API_KEY; create one at %(url)s"),
    "anon_left": lambda n: ngettext(
        "%(n)s of %(max)s free run left this hour.", "%(n)s of %(max)s free runs left this hour.", n
    ),
    "rate_left": lambda n: ngettext(
        "%(n)s of %(max)s request left this minute.", "%(n)s of %(max)s requests left this minute.", n
    ),
    "plan_line": gettext_noop(
        "%(plan)s plan: %(rpm)s requests a minute, %(quota)s inputs a month (%(left)s left this month)."
    ),
    "sign_in": gettext_noop("Sign in"),
    "sign_up": gettext_noop("Create a free account"),
    "request_more": gettext_noop("Request a higher quota"),
    "retry_in": gettext_noop("You can run again in %(n)s s."),
    "retry_now": gettext_noop("You can run again now."),
    "check_again": gettext_noop("Check again"),
    "err_network_title": gettext_noop("The server could not be reached"),
    "err_network": gettext_noop("Check your connection and try again."),
    "err_invalid_title": gettext_noop("The input was not accepted"),
    "err_invalid": gettext_noop("Nothing was queued. Fix the input and run again:"),
    "err_rate_title": gettext_noop("Too many requests"),
    "err_rate": gettext_noop(
        "Your plan allows a number of requests a minute, and they are used up. Try again in %(n)s s."
    ),
    "err_anon_limit_title": gettext_noop("Free runs used up for this hour"),
    "err_anon_limit": lambda n: ngettext(
        "Visitors can run the demo %(n)s time an hour. Sign in (it is free) to keep going, "
        "or come back in %(minutes)s min.",
        "Visitors can run the demo %(n)s times an hour. Sign in (it is free) to keep going, "
        "or come back in %(minutes)s min.",
        n,
    ),
    "err_quota_title": gettext_noop("Monthly quota used up"),
    "err_quota": gettext_noop("Your plan's inputs for this month are used up. You can ask for a higher quota."),
    "err_concurrency_title": gettext_noop("Too many jobs at once"),
    "err_concurrency": gettext_noop("Your plan runs a few jobs at a time. Wait for one to finish, then run again."),
    "err_retired_title": gettext_noop("This model was retired"),
    "err_retired": gettext_noop("It no longer answers requests. Pick another model or version."),
    "err_not_found_title": gettext_noop("Model not found"),
    "err_not_found": gettext_noop("This model or version is not published. Pick another one."),
    "err_sign_in_title": gettext_noop("Sign in to use this model"),
    "err_sign_in": gettext_noop("Without an account you can try the demo model. Sign in to use every published model."),
    "err_forbidden_title": gettext_noop("Your session has expired"),
    "err_forbidden": gettext_noop("Reload the page and try again."),
    "err_generic_title": gettext_noop("Something went wrong"),
    "err_generic": gettext_noop("The server answered with status %(status)s."),
    "err_failed_title": gettext_noop("The job failed"),
    "err_failed": gettext_noop("The worker could not classify these inputs."),
    "err_worker_lost_title": gettext_noop("The job was given up"),
    "err_worker_lost": gettext_noop(
        "Its worker stopped, or ran past the time limit, each time it ran it. Try fewer or shorter inputs."
    ),
    "err_slow_title": gettext_noop("The job is taking unusually long"),
    "err_slow": gettext_noop(
        "It is still queued or running. It stays in the queue and will finish when a worker is free; "
        "your history keeps it."
    ),
    "rerun": gettext_noop("Re-run"),
    "rerun_label": gettext_noop("Re-run: %(input)s"),
    "share": gettext_noop("Share"),
    "share_link": gettext_noop("Share link"),
    "copy_link": gettext_noop("Copy link"),
    "copied": gettext_noop("Copied"),
    "shared_state": gettext_noop("Shared: anyone with the link can view this run's inputs and results (read-only)."),
    "stop_sharing": gettext_noop("Stop sharing"),
    "share_on": gettext_noop("Sharing is on: anyone with the link can see this run."),
    "share_off": gettext_noop("Sharing is off: only you can see this run."),
    "delete": gettext_noop("Delete"),
    "delete_confirm": gettext_noop("Delete this run from your history?"),
    "cancel": gettext_noop("Cancel"),
    "deleted": gettext_noop("Run deleted."),
    "more_inputs": lambda n: ngettext("+%(n)s more input", "+%(n)s more inputs", n),
}


def js_strings() -> dict[str, str | dict[str, str]]:
    """Every text playground.js shows, in the request's language (in the order of
    ``STRINGS``); a counted text as its forms for one and for many."""
    return {
        key: gettext(text) if isinstance(text, str) else {"one": text(1), "other": text(2)}
        for key, text in STRINGS.items()
    }
