"""Serve the portal and run a real Celery worker beside it until Ctrl+C stops both."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.celery import DEFAULT_QUEUE, INFERENCE_QUEUE, TRAINING_QUEUE


def _inference_env() -> dict[str, str]:
    """The inference worker's environment. Unless TORCH_NUM_THREADS says otherwise, torch
    runs on one core fewer than this process may use, leaving one to the web server: on
    every core, torch's threads wait on one another whenever the web server takes one. On
    2 cores (bench/embedded.py) a single-input forward pass took up to 100 ms (p95) instead
    of 14, and the demo answered 45-58 calls/s at concurrency 32 instead of 63-65."""
    env = dict(os.environ)
    if not env.get("TORCH_NUM_THREADS", "").strip():
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        env["TORCH_NUM_THREADS"] = str(max(cores - 1, 1))
    return env


def _site_url(host: str, port: int) -> str:
    """``SITE_URL`` for the demo's processes: the environment's when set, else where the
    web server listens (a wildcard address as 127.0.0.1)."""
    configured = os.environ.get("SITE_URL", "").strip()
    if configured:
        return configured
    wildcard = ("0.0.0.0", "::", "")  # noqa: S104 - compared with, not bound to
    shown = "127.0.0.1" if host in wildcard else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


class Command(BaseCommand):
    help = "Run the web server and a Celery worker (all queues) together; Ctrl+C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--concurrency", type=int, default=1, help="worker processes (default 1)")
        parser.add_argument("--threads", type=int, default=32, help="web server threads (default 32)")

    def handle(self, *args: Any, host: str, port: int, concurrency: int, threads: int, **options: Any) -> None:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "portal", "worker", "-l", "info"]
        commands = {
            # Inference in the worker's main process: models load once and batches form
            # while a forward pass runs.
            "inference worker": [
                *celery, "-Q", INFERENCE_QUEUE, "-n", "inference@%h", "--pool", "solo", "--prefetch-multiplier", "64",
            ],
            # Web-side work (recording results, training) plus the periodic reconciler.
            "worker": [
                *celery, "-Q", f"{DEFAULT_QUEUE},{TRAINING_QUEUE}", "-n", "default@%h",
                "--concurrency", str(concurrency), "--beat",
            ],
            "web": self._web_command(python, host, port, threads),
        }  # fmt: skip
        # Links in emails the worker sends (no request there) must reach this server.
        site_url = _site_url(host, port)
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, command in commands.items():
                # Own sessions: Ctrl+C reaches this process only, which then stops both
                # children in order instead of racing their own signal handlers.
                env = _inference_env() if name == "inference worker" else dict(os.environ)
                env["SITE_URL"] = site_url
                children[name] = subprocess.Popen(command, start_new_session=True, env=env)
                self.stdout.write(f"started {name} (pid {children[name].pid})")
            url = f"http://{host}:{port}/"
            if not self._wait_until_up(url + "healthz", children, lambda: stopping):
                raise CommandError("the web server did not start; see its output above")
            self.stdout.write(self.style.SUCCESS(f"\nThe portal is running at {url}  (Ctrl+C stops web and worker)\n"))
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise CommandError(f"the {name} process exited with status {child.returncode}")
                time.sleep(0.5)
        finally:
            self._stop(children)
        self.stdout.write("Stopped web and worker.")

    def _web_command(self, python: str, host: str, port: int, threads: int) -> list[str]:
        """gunicorn with a pool of threads where it runs (POSIX): requests are served side by
        side, each classify call waiting for its result in a thread of its own, and a burst
        of connections queues up instead of being refused. Elsewhere, Django's runserver."""
        if os.name != "posix" or importlib.util.find_spec("gunicorn") is None:
            return [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"]
        return [
            python, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"{host}:{port}",
            # One process: whatever the embedded default keeps in memory is in one place.
            "--worker-class", "gthread", "--workers", "1", "--threads", str(threads),
            # Ctrl+C lets requests finish for a few seconds, not gunicorn's 30.
            "--graceful-timeout", "5",
            # Requests logged to the console as runserver does; no control socket (two
            # demos on one machine would share its path in the home folder).
            "--access-logfile", "-", "--no-control-socket",
        ]  # fmt: skip

    def _wait_until_up(self, url: str, children: dict[str, subprocess.Popen[bytes]], stopping: Any) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stopping():
            if any(child.poll() is not None for child in children.values()):
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http URL)
                    if response.status == 200:
                        return True
            except OSError:
                time.sleep(0.3)
        return False

    def _stop(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children.values():
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
