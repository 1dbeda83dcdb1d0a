"""Serve the portal and run a real Celery worker beside it until Ctrl+C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.celery import DEFAULT_QUEUE, INFERENCE_QUEUE, TRAINING_QUEUE


class Command(BaseCommand):
    help = "Run the web server and a Celery worker (all queues) together; Ctrl+C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--concurrency", type=int, default=1, help="worker processes (default 1)")

    def handle(self, *args: Any, host: str, port: int, concurrency: int, **options: Any) -> None:
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
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        }  # fmt: skip
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
                children[name] = subprocess.Popen(command, start_new_session=True)
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
