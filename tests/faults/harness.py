"""The real processes a fault test starts and breaks: a private ``redis-server`` whose data
survives a restart, and gunicorn with the deployment's settings.

Nothing here talks to the shared Redis on 6379: each test gets servers on free ports,
with their files in the test's own temporary directory.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..services import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(ready: Any, *, timeout: float, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
            raise RuntimeError(f"{what} did not start (exit code {process.poll()}):\n{tail}")
        time.sleep(0.05)


class RedisServer:
    """``redis-server`` on a free loopback port, appending every write to its AOF and
    syncing it before answering, so ``stop()`` then ``start()`` loses nothing (as a
    production Redis with ``appendfsync always`` would). ``noeviction``, as workers require.

    The AOF doubles as the test's record of every write: ``commands()`` reads it back.
    Rewrites are off so that it keeps the whole history.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5)

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def start(self) -> float:
        """Start (or restart, on the same port and files); returns ``time.time()`` at the
        moment it answers PING."""
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed")
        command = [
            server, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--auto-aof-rewrite-percentage", "0", "--aof-use-rdb-preamble", "no",
            "--maxmemory-policy", "noeviction", "--logfile", str(self.log),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_until(self._answers, timeout=20, what="redis-server", process=self.process, log=self.log)
        return time.time()

    def stop(self) -> float:
        """SIGTERM (Redis syncs its AOF and exits) and wait; returns ``time.time()`` at the signal."""
        assert self.process is not None
        stopped = time.time()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return stopped

    def kill(self) -> float:
        assert self.process is not None
        killed = time.time()
        self.process.kill()
        self.process.wait(timeout=30)
        return killed

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def commands(self) -> Iterator[tuple[int, list[bytes]]]:
        """Every write Redis logged since its first start, in order, with its database."""
        aof_dir = self.directory / "appendonlydir"
        manifest = aof_dir / "appendonly.aof.manifest"
        files: list[tuple[int, int, str]] = []
        for line in manifest.read_text().splitlines():
            tokens = line.split()
            entry = dict(zip(tokens[::2], tokens[1::2], strict=False))
            if entry.get("type") in ("b", "i"):
                files.append((0 if entry["type"] == "b" else 1, int(entry.get("seq", 0)), entry["file"]))
        db = 0
        for _kind, _seq, name in sorted(files):
            for command in _resp_commands((aof_dir / name).read_bytes()):
                if command and command[0].upper() == b"SELECT":
                    db = int(command[1])
                    continue
                yield db, command


def _resp_commands(data: bytes) -> Iterator[list[bytes]]:
    """Commands of an AOF (RESP arrays of bulk strings); stops at a truncated tail."""
    pos = 0
    while pos < len(data):
        try:
            if data[pos : pos + 1] == b"#":  # an annotation line
                pos = data.index(b"\r\n", pos) + 2
                continue
            end = data.index(b"\r\n", pos)
            count = int(data[pos + 1 : end])
            pos = end + 2
            args = []
            for _ in range(count):
                end = data.index(b"\r\n", pos)
                length = int(data[pos + 1 : end])
                pos = end + 2
                if pos + length + 2 > len(data):
                    return
                args.append(data[pos : pos + length])
                pos += length + 2
        except ValueError:
            return
        yield args


RESULT_PREFIX = b"celery-task-meta-"


def _run_identity(outcome: dict[str, Any]) -> tuple[Any, ...]:
    """What tells one run of a job from another: the worker and the moment it finished."""
    finished = outcome.get("finished_at")
    return (outcome.get("worker"), None if finished is None else round(float(finished), 3))


@dataclass
class Ledger:
    """What the workers did, read from the Redis AOFs (which record every write, across
    restarts): each job's finished runs as reported to the web side or stored for its
    callers, and how often its message was pushed to the inference queue."""

    runs: dict[str, set[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(set))
    stored: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    pushes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add_outcome(self, outcome: Any) -> None:
        if isinstance(outcome, dict) and outcome.get("status") in ("succeeded", "failed") and outcome.get("job_id"):
            self.runs[str(outcome["job_id"])].add(_run_identity(outcome))

    def add_message(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            task = message["headers"]["task"]
        except (ValueError, KeyError, TypeError):
            return
        body = message.get("body", "")
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        try:
            args, kwargs, _embed = json.loads(body)
        except (ValueError, TypeError):
            return
        if task == "inference.record":
            for outcome in (args[0] if args else kwargs.get("outcomes")) or []:
                self.add_outcome(outcome)
        elif task == "inference.classify":
            self.pushes[str(kwargs.get("job_id") or message["headers"].get("id"))] += 1

    def runs_of(self, job_id: str) -> int:
        return len(self.runs.get(job_id, ()))


def read_ledger(*servers: RedisServer) -> Ledger:
    ledger = Ledger()
    for server in servers:
        for _db, command in server.commands():
            name = command[0].upper()
            if name in (b"SET", b"SETEX", b"PSETEX") and command[1].startswith(RESULT_PREFIX):
                value = command[3] if name != b"SET" else command[2]
                try:
                    meta = json.loads(value)
                except ValueError:
                    continue
                outcome = meta.get("result")
                job_id = command[1][len(RESULT_PREFIX) :].decode()
                if meta.get("status") == "SUCCESS" and isinstance(outcome, dict) and outcome.get("job_id") == job_id:
                    ledger.stored[job_id].append(outcome)
                    ledger.add_outcome(outcome)
            elif name in (b"LPUSH", b"RPUSH"):
                for raw in command[2:]:
                    ledger.add_message(raw)
    return ledger


class WebServer:
    """gunicorn with ``deploy/gunicorn.conf.py`` on a free loopback port (the config's
    bind and worker count overridden by the command line and ``WEB_CONCURRENCY``)."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "gunicorn.log"
        self.env = env
        self.workers = int(env.get("WEB_CONCURRENCY", "2"))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c", "deploy/gunicorn.conf.py",
            "--bind", f"127.0.0.1:{self.port}", "--access-logfile", str(self.log), "--error-logfile", str(self.log),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def _healthy(self) -> bool:
        import requests

        try:
            return requests.get(self.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout: float = 90) -> None:
        assert self.process is not None
        _wait_until(self._healthy, timeout=timeout, what="gunicorn", process=self.process, log=self.log)
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.05)

    def worker_pids(self) -> set[int]:
        assert self.process is not None
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return set()
        return {int(pid) for pid in children.split()}

    def reload(self, timeout: float = 60) -> set[int]:
        """SIGHUP: gunicorn starts new workers and retires the old ones once their
        requests are done. Returns when every old worker is gone and a full set of new
        ones runs; returns the new workers' pids."""
        assert self.process is not None
        old = self.worker_pids()
        os.kill(self.process.pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while True:
            pids = self.worker_pids()
            if len(pids) >= self.workers and not pids & old:
                return pids
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn did not replace its workers {old} after SIGHUP (now {pids})")
            time.sleep(0.05)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
