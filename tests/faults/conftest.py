"""The fault suite's harness: each test starts its own stack of real processes (a private
``redis-server``, gunicorn with the deployment's config, an inference worker and a
web-side worker with the reconciler's beat), all against the test database, breaks one
of them, and asserts exact outcomes from what clients saw over HTTP, the job rows and
the Redis AOF (which records every write, across restarts).

The test process itself talks HTTP to gunicorn and reads the database and the private
Redis directly; only its cache setting follows the stack (``FaultStack.configure``), so
that ``celery_worker`` sees the workers' heartbeats.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from apps.apikeys.models import APIKey, Plan
from apps.apikeys.plans import DEFAULT_PLANS
from apps.apikeys.services import apikey_create
from apps.inference.models import OPEN_STATUSES, InferenceJob, JobStatus

from ..factories import UserFactory
from ..models import make_version
from ..services import celery_worker, service_missing, worker_env
from .harness import Ledger, RedisServer, WebServer
from .load import Load

# What every process of a stack runs with: production's DEBUG, the reconciler every
# second, two web processes of eight threads, and one torch thread so that two shared
# cores keep room for the web side.
STACK_ENV = {
    "DJANGO_DEBUG": "false",
    "INFERENCE_RECONCILE_EVERY": "1",
    "WEB_CONCURRENCY": "2",
    "GUNICORN_THREADS": "8",
    "TORCH_NUM_THREADS": "1",
    "PYTHONUNBUFFERED": "1",
}


def require_services() -> None:
    """The faults that break Redis or PostgreSQL need both (the services configuration)."""
    from django.conf import settings  # imported here: in this module `settings` is pytest-django's fixture

    if connection.vendor != "postgresql":
        service_missing(f"the fault suite needs PostgreSQL (the database is {connection.vendor})")
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        service_missing("the fault suite runs in the PostgreSQL + Redis configuration")
    if shutil.which("redis-server") is None:
        service_missing("redis-server is not installed")


class FaultStack:
    """The processes of one test; everything started here stops when the test ends,
    whatever happened (workers and gunicorn first, Redis last)."""

    def __init__(self, directory: Path, settings: Any, exits: ExitStack) -> None:
        self.directory = directory
        self.settings = settings
        self.exits = exits
        self.env: dict[str, str] = {}
        self.servers: list[RedisServer] = []
        self.web: WebServer | None = None
        self.workers: dict[str, dict[str, Any]] = {}
        self.processes: list[subprocess.Popen[bytes]] = []

    def redis(self, name: str = "redis") -> RedisServer:
        server = RedisServer(self.directory / name)
        self.exits.callback(server.close)
        server.start()
        self.servers.append(server)
        return server

    def configure(
        self, *, cache: str | None = None, broker: str | None = None, results: str | None = None, **extra: str
    ) -> dict[str, str]:
        """The environment of every process, and this test process's cache (where
        ``celery_worker`` looks for heartbeats): the Redis URLs given, or, on the embedded
        default, a var/ directory of the test's own (file broker, results and cache), so
        that nothing this stack leaves in a queue reaches another test."""
        urls = {}
        if cache:
            urls["REDIS_URL"] = cache
            self.settings.CACHES = {
                "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache}
            }
        else:
            var_dir = self.directory / "var"
            # The secret key is read from var/ when not set: API keys are hashed with it.
            urls.update(VAR_DIR=str(var_dir), DJANGO_SECRET_KEY=self.settings.SECRET_KEY)
            self.settings.CACHES = {
                "default": {
                    "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                    "LOCATION": str(var_dir / "cache"),
                }
            }
        if broker:
            urls["CELERY_BROKER_URL"] = broker
        if results:
            urls["CELERY_RESULT_BACKEND"] = results
        self.env = worker_env(**{**STACK_ENV, **urls, **extra})
        return self.env

    def start_web(self) -> WebServer:
        self.web = WebServer(self.directory, self.env)
        self.exits.callback(self.web.close)
        self.web.start()
        return self.web

    def start_worker(self, kind: str) -> dict[str, Any]:
        """``kind`` "inference" (solo pool, as deployed) or "web" (default and training
        queues, with the beat that runs the reconciler). Returns once it beats."""
        if kind == "inference":
            details = self.exits.enter_context(celery_worker(queues="inference", pool="solo", env=self.env))
        else:
            details = self.exits.enter_context(celery_worker(queues="default,training", env=self.env, beat=True))
        self.workers[kind] = details
        self.processes.append(details["process"])
        return details

    def stop_processes(self) -> None:
        """SIGTERM every worker and gunicorn at once, then wait: their warm shutdowns
        overlap instead of adding up (each context then finds its process gone)."""
        for server in self.servers:  # a test that failed mid-outage: let workers say goodbye
            if server.process is not None and server.process.poll() is not None:
                server.start()
        live = [p for p in self.processes if p.poll() is None]
        if self.web is not None and self.web.process is not None and self.web.process.poll() is None:
            live.append(self.web.process)
        for process in live:
            process.terminate()
        for process in live:
            try:
                process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def start(self, *, inference: bool = True) -> WebServer:
        """gunicorn, the web-side worker and (unless told not to) the inference worker."""
        web = self.start_web()
        self.start_worker("web")
        if inference:
            self.start_worker("inference")
        web.wait_ready()
        return web


class Background:
    """Run ``work`` in a thread at once; ``join()`` waits and re-raises what it raised."""

    def __init__(self, work: Any) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self.thread.start()

    def _run(self, work: Any) -> None:
        try:
            work()
        except BaseException as exc:  # handed to the test's thread by join()
            self.error = exc
        finally:
            connections.close_all()

    def join(self, timeout: float = 300) -> None:
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error


@pytest.fixture
def stack(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[FaultStack]:
    with ExitStack() as exits:
        faults = FaultStack(tmp_path, settings, exits)
        try:
            yield faults
        finally:
            faults.stop_processes()


@pytest.fixture
def fixed_head(transactional_db: None, fixed_head_artifact: Path) -> Any:
    """The fixed-head test model, published as ``fixed-head`` (cheap to run)."""
    return make_version(fixed_head_artifact)


@pytest.fixture
def loadtester(transactional_db: None) -> Any:
    return UserFactory(username="loadtester")


def issue_key(owner: Any, *, plan: str | None = None, **limits: int) -> tuple[APIKey, str]:
    """A key for ``owner`` on ``plan`` (default: the default, Free) with ``rpm``,
    ``quota``, ``concurrency`` overrides."""
    chosen = None
    if plan:
        # A transactional test before this one emptied the tables the migrations filled.
        _slug, name, rpm, quota, concurrency, _default, order = next(p for p in DEFAULT_PLANS if p[0] == plan)
        chosen, _ = Plan.objects.get_or_create(
            slug=plan,
            defaults={"name": name, "requests_per_minute": rpm, "inputs_per_month": quota,
                      "max_concurrent_jobs": concurrency, "order": order},
        )  # fmt: skip
    return apikey_create(
        owner=owner, name="fault suite", scopes=["inference:write", "jobs:read"], plan=chosen, **limits
    )


def unlimited_key(owner: Any) -> tuple[APIKey, str]:
    """A key whose limits no test load reaches."""
    return issue_key(owner, plan="enterprise", rpm=1_000_000, quota=100_000_000, concurrency=100_000)


def open_rows(key: APIKey, **filters: Any) -> int:
    return InferenceJob.objects.filter(api_key=key, status__in=OPEN_STATUSES, **filters).count()


def wait_settled(
    key: APIKey, *, origin: float, within: float, give_up: float | None = None, **filters: Any
) -> tuple[float, int]:
    """Poll until none of ``key``'s rows (matching ``filters``) is open.

    Returns the seconds from ``origin`` (a ``time.time()``) to the first poll that found
    none open, and how many were still open ``within`` seconds after ``origin`` (0 when
    they settled in time). Polls on, to say how late, until ``give_up`` seconds after
    ``origin`` (default: 10 s after ``within``); then the first figure is that wait.
    """
    give_up = within + 10 if give_up is None else give_up
    open_at_limit = -1
    while True:
        left = open_rows(key, **filters)
        elapsed = time.time() - origin
        if open_at_limit < 0 and elapsed >= within:
            open_at_limit = left
        if left == 0:
            return elapsed, max(open_at_limit, 0)
        if elapsed > give_up:
            return elapsed, open_at_limit
        time.sleep(0.1)


def job_accounting(load: Load, key: APIKey, ledger: Ledger) -> dict[str, list[str]]:
    """Every way the accepted jobs could be wrong, each with the job ids concerned:

    - ``lost``: accepted, but the row is missing or not succeeded, or no outcome is stored;
    - ``ran twice``: more than one finished run reported or stored for the job;
    - ``row disagrees``: the row records another run than the outcome callers got;
    - ``shared``: two calls (different Idempotency-Keys) answered with one job;
    - ``strangers``: rows of the key that no call was answered with.
    """
    ids = load.job_ids()
    rows = {str(row.id): row for row in InferenceJob.objects.filter(api_key=key)}
    issues: dict[str, list[str]] = {"lost": [], "ran twice": [], "row disagrees": [], "shared": [], "strangers": []}
    seen: set[str] = set()
    for job_id in ids:
        if job_id in seen:
            issues["shared"].append(job_id)
        seen.add(job_id)
        row = rows.get(job_id)
        stored = ledger.stored.get(job_id)
        if row is None or row.status != JobStatus.SUCCEEDED or not stored or stored[0].get("status") != "succeeded":
            issues["lost"].append(job_id)
            continue
        if ledger.runs_of(job_id) > 1:
            issues["ran twice"].append(job_id)
        first = stored[0]
        finished = row.finished_at.timestamp() if row.finished_at else None
        if row.worker != first.get("worker") or finished is None or abs(finished - float(first["finished_at"])) > 0.002:
            issues["row disagrees"].append(job_id)
    issues["strangers"] = sorted(set(rows) - seen)
    return issues


def accounting_summary(issues: dict[str, list[str]], ledger: Ledger, key: APIKey) -> str:
    rows = InferenceJob.objects.filter(api_key=key)
    statuses = {s: rows.filter(status=s).count() for s in JobStatus.values}
    parts = [f"{name}: {len(ids)}" + (f" (e.g. {ids[:3]})" if ids else "") for name, ids in issues.items()]
    for job_id in issues["lost"][:3]:
        row = rows.filter(id=job_id).values("status", "attempts").first()
        parts.append(
            f"{job_id}: row {row}, {ledger.runs_of(job_id)} runs, "
            f"{len(ledger.stored.get(job_id, []))} outcomes stored, queued {ledger.pushes.get(job_id, 0)} times"
        )
    for job_id in issues["ran twice"][:3]:
        parts.append(f"runs of {job_id}: {sorted(ledger.runs[job_id], key=str)}")
    return "; ".join(parts) + f"; rows by status now: {statuses}"
