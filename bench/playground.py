"""Playground benchmark: click-to-result in a real browser on an idle queue. Prints figures,
asserts nothing.

    python -m bench.playground [--artifact DIR] [--clicks 20] [--pause 2] [--baseline FILE]

Starts what a deployment runs: gunicorn with deploy/gunicorn.conf.py (DEBUG off, static
files collected into a scratch VAR_DIR), a solo inference worker and a recording worker.
Debian's chromium (Playwright) opens the playground as a signed-in developer and clicks
Run ``--clicks`` times, one sentence each, ``--pause`` seconds apart so the queue is idle
at every click (and the plan's request limit is never reached), after a few warm-up clicks.

Each click is timed inside the page: from just before the click to the start of the frame
that paints the result (``performance.now()``; no Playwright round trip in the figure).
Prints p50/p95 (nearest rank, ``apps.core.stats``), the job's own total time as the API
reports it (queue wait + inference), what the page added on top, and how many clicks
showed a pending state ("Queued", "Running") before the result.

``--baseline FILE`` also times another static/js/playground.js (say, the one before a
change, ``git show HEAD:static/js/playground.js > /tmp/old.js``): a second page, as a
second developer, gets that file through Playwright's request routing (the checkout is not
touched), and the two pages take turns click for click, so both meet the same load.

Uses the database and broker of the environment (the job rows and a ``bench`` model stay
there: point it at a scratch database, such as ``make bench``'s). The artifact is
``--artifact``, else the newest under var/models, else a fixed-head MiniLM artifact built
in the scratch directory (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.inference import ROOT, register, setup_django, short_sentences, web_server

WARM_UP_CLICKS = 3

# Runs in the page: clicks Run and resolves with what the click led to. The clock stops in
# the first animation frame after the page shows its result (data-state "done" or
# "error"); every state the page went through on the way is kept.
CLICK = """() => new Promise((resolve) => {
    const root = document.querySelector("[data-playground]");
    const seen = [];
    let started = 0;
    const observer = new MutationObserver(() => {
        const state = root.getAttribute("data-state");
        if (seen[seen.length - 1] !== state) {
            seen.push(state);
        }
        if (state === "done" || state === "error") {
            observer.disconnect();
            requestAnimationFrame((frame) => resolve({
                ms: frame - started,
                seen,
                status: document.getElementById("pg-status").textContent,
            }));
        }
    });
    observer.observe(root, { attributes: true, attributeFilter: ["data-state"] });
    started = performance.now();
    document.getElementById("pg-run").click();
})"""


def pick_artifact(explicit: str | None, var_dir: Path) -> Path:
    if explicit:
        return Path(explicit).resolve()
    candidates = sorted((ROOT / "var" / "models").glob("*/v*/config.json"), key=lambda p: p.stat().st_mtime)
    if candidates:
        return candidates[-1].parent
    from tests.models import build_fixed_head_artifact

    return build_fixed_head_artifact(var_dir / "models" / "fixed-head")


def bench_user_session(name: str) -> str:
    """A verified developer (each page its own, so each has its own request limit), signed
    in; returns the session cookie's value."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps.accounts import roles
    from apps.accounts.services import role_grant

    email = f"{name}@example.invalid"
    user, created = get_user_model().objects.get_or_create(email=email, defaults={"username": name})
    if created:
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        role_grant(user=user, role=roles.DEVELOPER)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@contextlib.contextmanager
def workers(env: dict[str, str]) -> Iterator[None]:
    from tests.services import celery_worker

    with celery_worker(queues="default", env=env), celery_worker(queues="inference", pool="solo", env=env):
        yield


@dataclass
class Page:
    """One playground page: its name in the figures, its session, the script it runs
    (None: the one the server serves) and its timed clicks."""

    name: str
    session: str
    script: Path | None = None
    timed: list[dict[str, Any]] = field(default_factory=list)


def serve(script: str) -> Any:
    """A Playwright route handler that answers with ``script``."""

    def handler(route: Any) -> None:
        route.fulfill(body=script, content_type="text/javascript")

    return handler


def clicks(url: str, pages: list[Page], sentences: list[str], *, count: int, pause: float) -> None:
    """Open each page and time ``count`` clicks on each after the warm-up ones, the pages
    taking turns."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, DESKTOP, chromium_path

    path = chromium_path()
    if not path:
        sys.exit("Debian's chromium is not installed (apt-get install chromium).")
    host = url.split("//", 1)[1].split(":", 1)[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        opened = []
        for one in pages:
            context = browser.new_context(viewport=DESKTOP, locale="en-US")
            context.add_cookies([{"name": "sessionid", "value": one.session, "domain": host, "path": "/"}])
            if one.script is not None:
                context.route("**/static/js/playground.js", serve(one.script.read_text()))
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(url + "/playground/bench/")
            page.locator("[data-playground][data-ready=true]").wait_for()
            opened.append((one, page))
        for i in range(WARM_UP_CLICKS + count):
            for one, page in opened:
                page.fill("#pg-text", sentences[i % len(sentences)])
                result = page.evaluate(CLICK)
                if result["seen"][-1] != "done":
                    sys.exit(f"{one.name}: click {i + 1} did not finish: {result['status']}")
                if i >= WARM_UP_CLICKS:
                    one.timed.append(result)
                time.sleep(pause)
        browser.close()


def report(one: Page) -> None:
    from apps.core.stats import percentiles

    def line(name: str, values: list[float]) -> None:
        points = percentiles(values)
        print(
            f"  {name:<38} p50 {points['p50']:6.1f} ms   p95 {points['p95']:6.1f} ms   "
            f"min {min(values):6.1f}   max {max(values):6.1f}"
        )

    timed = one.timed
    click_ms = [t["ms"] for t in timed]
    job_ms = [float(re.sub(r"[^\d.]", "", t["status"])) for t in timed]  # "Done in 1,234 ms."
    print(f"\n== {one.name}: click to result on screen, {len(timed)} clicks on an idle queue")
    line("click to result", click_ms)
    line("the job (queue wait + inference)", job_ms)
    line("the rest (HTTP, polling, rendering)", [c - j for c, j in zip(click_ms, job_ms, strict=True)])
    pending = sum(1 for t in timed if {"queued", "running", "no-worker"} & set(t["seen"]))
    print(f"  clicks that showed a pending state first: {pending} of {len(timed)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", help="a model artifact directory (default: newest under var/models)")
    parser.add_argument("--clicks", type=int, default=20, help=f"timed clicks (after {WARM_UP_CLICKS} warm-up ones)")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between clicks (the queue idles)")
    parser.add_argument("--baseline", help="another playground.js to time, click for click with the served one")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="bench-playground-"))
    setup_django(var_dir)
    from django.conf import settings
    from django.core.management import call_command

    from tests.services import worker_env

    artifact = pick_artifact(args.artifact, var_dir)
    register(artifact)
    pages = [Page("static/js/playground.js", bench_user_session("playground-bench"))]
    if args.baseline:
        baseline = Path(args.baseline).resolve()
        pages.insert(0, Page(f"baseline {baseline}", bench_user_session("playground-bench-baseline"), baseline))
    call_command("collectstatic", interactive=False, verbosity=0)
    env = worker_env()
    print(f"model artifact: {artifact}")
    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    print(f"broker: {broker}, database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    with workers(env), web_server(env, var_dir / "gunicorn.log") as (url, _pid):
        print(f"web: gunicorn (deploy/gunicorn.conf.py) at {url}; chromium clicks every {args.pause:g} s")
        clicks(url, pages, short_sentences(200), count=args.clicks, pause=args.pause)
    for one in pages:
        report(one)
    shutil.rmtree(var_dir, ignore_errors=True)  # kept when something failed, with the logs


if __name__ == "__main__":
    main()
