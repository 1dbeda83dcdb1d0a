"""Reaching the real services the suite needs, and starting a real Celery worker.

Outside CI a missing service skips the tests that need it; with ``CI`` set it fails them,
so a green CI run always means the tests really ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def service_missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


def database_url() -> str:
    """A URL for the database the tests are using right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url(), "VAR_DIR": str(settings.VAR_DIR), **extra}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


@contextmanager
def celery_worker(
    *,
    queues: str = "default,training",
    pool: str = "prefork",
    concurrency: int = 1,
    env: dict[str, str] | None = None,
    beat: bool = False,
) -> Iterator[dict[str, Any]]:
    """Run ``celery worker`` as a child process until the block ends; yields its details.

    Waits for the worker's heartbeat, so the worker is consuming when the block starts.
    """
    from apps.inference.selectors import worker_list_live

    hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log_path = Path(settings.VAR_DIR) / f"{hostname}.log"
    command = [
        sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queues,
        "-n", hostname, "--pool", pool, "--concurrency", str(concurrency), "-l", "info",
        "--without-mingle", "--without-gossip", "--prefetch-multiplier", "64" if pool == "solo" else "1",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(Path(settings.VAR_DIR) / f"beat-{hostname}")]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env or worker_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not any(w["hostname"] == hostname for w in worker_list_live()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield {"hostname": hostname, "process": process, "log": log_path}
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
