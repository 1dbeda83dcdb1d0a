"""The embedded default under load, as `make demo` runs it: prints figures, asserts nothing.

    python -m bench.embedded [--artifact DIR] [--idle N] [--requests N] [--concurrency N]

Starts ``manage.py rundemo`` (make demo's own processes: the web server, the solo inference
worker and the default worker with beat) on a free port, in a scratch VAR_DIR and with
none of the service variables set: SQLite, the server-less broker and result store, the
file cache. A MiniLM artifact is registered there as model ``bench`` (``--artifact``, else
the newest under var/models, else the bundled all-MiniLM-L6-v2 with an untrained head,
which costs the same to run), and an API key is made on limits the benchmark cannot reach.

1. Idle queue wait: ``--idle`` single-input calls of ``POST /api/v1/classify`` one after
   another, with a pause before each so the queue is idle when it arrives: p50/p95 of the
   job's ``timing.queued_ms`` (enqueued to its flush starting), of ``total_ms`` (enqueued
   to its outcome), of ``inference_ms`` and of the latency the client sees.
2. Throughput at ``--concurrency`` (after a warm-up of twice that many calls): ``--requests``
   single-input calls, first with each client on its own keep-alive connection, then with
   a new connection per call: calls answered with results per second, latency, mean batch
   size, failures (connections refused, connections dropped before the answer, other
   answers) and the CPU time per answered call of each of rundemo's processes (Linux).
   When a process of the demo exits during the runs (rundemo then stops the others), the
   error that ended it is printed.

The targets of the speed issue are printed beside the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.core.stats import percentile
from bench.inference import FALLBACK

ROOT = Path(__file__).resolve().parent.parent
# Unset for the demo, as `make demo` does: the embedded default is what runs.
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_ENV")
TARGETS = {"queue_p50": 30.0, "queue_p95": 100.0, "per_s": 50.0}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], p: int) -> float:
    # The portal's own definition (apps/core/stats.py needs no Django); NaN prints for none.
    found = percentile(values, p)
    return math.nan if found is None else found


def _newest_artifact() -> Path | None:
    candidates = sorted((ROOT / "var" / "models").glob("*/v*/config.json"), key=lambda p: p.stat().st_mtime)
    return candidates[-1].parent if candidates else None


def prepare() -> None:
    """In the child process ``setup`` starts: migrate, register the artifact (argv[1]) as
    ``bench``, build it first when argv[1] does not exist yet, and print an API key."""
    import django

    artifact = Path(sys.argv[1])
    if not (artifact / "config.json").exists():
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from apps.mlmodels.runtime import base_encoder_path

        base = base_encoder_path()
        labels = ["negative", "positive"]
        model = AutoModelForSequenceClassification.from_pretrained(
            base,
            num_labels=2,
            id2label=dict(enumerate(labels)),
            label2id={v: i for i, v in enumerate(labels)},
            local_files_only=True,
        )
        model.save_pretrained(artifact)
        AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(artifact)
    django.setup()
    from django.core.management import call_command

    from bench.inference import bench_api_key, register

    call_command("migrate", verbosity=0, interactive=False)
    register(artifact)
    print(bench_api_key())


def setup(env: dict[str, str], artifact: Path) -> str:
    """Prepare the scratch VAR_DIR in a child process (this one stays free of Django, so
    another benchmark that has set Django up can call ``measure``); returns the key."""
    code = "import sys; sys.path.insert(0, '.'); from bench.embedded import prepare; prepare()"
    done = subprocess.run(
        [sys.executable, "-c", code, str(artifact)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"setting up the scratch VAR_DIR failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


@dataclass
class Demo:
    """A running ``manage.py rundemo``: its URL, process and where its output goes."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    ready: dict[str, Any] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        """The processes rundemo started, by name (as it prints them)."""
        found = re.findall(r"started ([\w ]+) \(pid (\d+)\)", self.log.read_text(errors="replace"))
        return {name: int(pid) for name, pid in found}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_demo(env: dict[str, str], var_dir: Path) -> Demo:
    port = _free_port()
    log = var_dir / "rundemo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "rundemo", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    demo = Demo(url=f"http://127.0.0.1:{port}", process=process, log=log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rundemo exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(demo.url + "/readyz", timeout=5) as response:  # noqa: S310 - a local URL
                demo.ready = json.loads(response.read())
                return demo
        except OSError:
            time.sleep(0.5)
    demo.stop()
    raise RuntimeError(f"the demo was not ready within 180 s:\n{log.read_text()[-3000:]}")


SENTENCES = FALLBACK


class Client:
    """Single-input classify calls; each thread keeps one connection unless ``fresh``."""

    def __init__(self, url: str, api_key: str, *, fresh: bool = False) -> None:
        self.netloc = url.split("//", 1)[1]
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.fresh = fresh
        self.local = threading.local()

    def call(self, i: int) -> dict[str, Any]:
        """One call: ``{"ok", "latency_ms", "error", "body"}``; ``error`` is "refused" when
        no connection could be made, "dropped" when it broke before the answer, else the
        HTTP status and the job's status."""
        body = json.dumps({"model": "bench", "inputs": [SENTENCES[i % len(SENTENCES)]], "wait": 30})
        started = time.perf_counter()
        connection = None if self.fresh else getattr(self.local, "connection", None)
        phase = "dropped"
        try:
            if connection is None:
                phase = "refused"
                connection = http.client.HTTPConnection(self.netloc, timeout=60)
                connection.connect()
                phase = "dropped"
            connection.request("POST", "/api/v1/classify", body=body, headers=self.headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.local.connection = None
            if connection is not None:
                connection.close()
            return {"ok": False, "error": phase, "latency_ms": (time.perf_counter() - started) * 1000}
        latency = (time.perf_counter() - started) * 1000
        if self.fresh:
            connection.close()
        else:
            self.local.connection = connection
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {}
        ok = response.status == 200 and answer.get("status") == "succeeded"
        error = None if ok else f"{response.status} {answer.get('status') or answer.get('title') or ''}".strip()
        return {"ok": ok, "error": error, "latency_ms": latency, "body": answer}


def measure_idle(client: Client, count: int) -> dict[str, Any]:
    rng = random.Random(13)  # noqa: S311 - pauses, not secrets
    queued, total, latency, inference, errors = [], [], [], [], []
    for i in range(count):
        # A pause of its own length before each call: the worker is idle, and its polls
        # fall at every phase of the call's arrival.
        time.sleep(rng.uniform(0.15, 0.45))
        result = client.call(i)
        if not result["ok"]:
            errors.append(result["error"])
            continue
        timing = result["body"]["timing"]
        queued.append(timing["queued_ms"])
        total.append(timing["total_ms"])
        inference.append(timing["inference_ms"])
        latency.append(result["latency_ms"])
    return {"queued": queued, "total": total, "latency": latency, "inference": inference, "errors": errors}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc; only ``pid`` elsewhere)."""
    found, index = [pid], 0
    while index < len(found):
        with contextlib.suppress(OSError):
            found += [int(c) for c in Path(f"/proc/{found[index]}/task/{found[index]}/children").read_text().split()]
        index += 1
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants (0 without /proc)."""
    total = 0.0
    for one in _tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def measure_load(client: Client, *, concurrency: int, requests: int, pids: dict[str, int]) -> dict[str, Any]:
    with ThreadPoolExecutor(concurrency) as pool:
        cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        results = list(pool.map(client.call, range(requests)))
        elapsed = time.perf_counter() - started
        cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    done = [r for r in results if r["ok"]]
    errors: dict[str, int] = {}
    for r in results:
        if not r["ok"]:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    return {
        "per_s": len(done) / elapsed,
        "ok": len(done),
        "requests": requests,
        "refused": errors.pop("refused", 0),
        "dropped": errors.pop("dropped", 0),
        "other_errors": errors,
        "latency": [r["latency_ms"] for r in done],
        "mean_batch": sum(r["body"]["batch_size"] for r in done) / len(done) if done else math.nan,
        "seconds": elapsed,
        "cpu_ms_per_call": {name: seconds * 1000 / max(len(done), 1) for name, seconds in cpu.items()},
    }


def measure(
    *, artifact: Path | None = None, idle: int = 50, requests: int = 320, concurrency: int = 32
) -> dict[str, Any]:
    """Run the whole benchmark (see the module's docstring) and return its figures."""
    var_dir = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    artifact = artifact or _newest_artifact() or var_dir / "minilm-untrained-head"
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="portal.settings")
    api_key = setup(env, artifact)
    demo = start_demo(env, var_dir)
    figures: dict[str, Any] = {
        "artifact": str(artifact),
        "var_dir": str(var_dir),
        "broker": demo.ready.get("checks", {}).get("broker", {}).get("transport"),
        "web": _web_server(demo.log),
        "concurrency": concurrency,
    }
    try:
        warm = Client(demo.url, api_key)
        for i in range(8):  # the first calls load the model and open connections
            warm.call(i)
        figures["idle"] = measure_idle(Client(demo.url, api_key), idle)
        # Batches of every size once (the first forward pass of a shape costs more).
        measure_load(Client(demo.url, api_key), concurrency=concurrency, requests=2 * concurrency, pids={})
        for mode, fresh in (("keep-alive", False), ("new connection per call", True)):
            figures[mode] = measure_load(
                Client(demo.url, api_key, fresh=fresh), concurrency=concurrency, requests=requests, pids=demo.pids()
            )
    finally:
        figures["rundemo_exit"] = demo.stop()
        # What made rundemo stop before it was asked to (a child process that exited).
        figures["died"] = [line for line in demo.log.read_text(errors="replace").splitlines() if "exited with" in line]
    return figures


def _web_server(log: Path) -> str:
    text = log.read_text(errors="replace")
    for name in ("gunicorn", "waitress", "runserver", "Starting development server"):
        if name in text:
            return "runserver" if name.startswith("Starting") else name
    return "unknown"


def _ms(values: list[float]) -> str:
    top = max(values, default=math.nan)
    return f"p50 {_percentile(values, 50):6.1f}  p95 {_percentile(values, 95):6.1f}  max {top:6.1f} ms"


def print_figures(figures: dict[str, Any]) -> None:
    idle = figures["idle"]
    print(f"embedded default (manage.py rundemo): web {figures['web']}, broker {figures['broker']}")
    print(f"  model artifact: {figures['artifact']}\n  VAR_DIR: {figures['var_dir']}")
    print(f"\n== idle queue, {len(idle['queued'])} sequential single-input calls ({len(idle['errors'])} failed)")
    print(f"  queue wait (timing.queued_ms): {_ms(idle['queued'])}")
    print(f"  enqueued to outcome (total_ms): {_ms(idle['total'])}")
    print(f"  inference (inference_ms):       {_ms(idle['inference'])}")
    print(f"  client latency:                 {_ms(idle['latency'])}")
    for mode in ("keep-alive", "new connection per call"):
        load = figures[mode]
        print(f"\n== concurrency {figures['concurrency']}, {load['requests']} single-input calls, {mode}")
        print(f"  {load['per_s']:6.1f} answered/s over {load['seconds']:.1f} s, mean batch {load['mean_batch']:.1f}")
        print(f"  answered {load['ok']}, connections refused {load['refused']}, dropped before the answer "
              f"{load['dropped']}, other failures {load['other_errors']}")  # fmt: skip
        print(f"  latency: {_ms(load['latency'])}")
        # A process that exited takes its CPU time with it: no figure for it then.
        cpu = ", ".join(
            f"{name} {ms:.1f}" if ms >= 0 else f"{name} (exited)" for name, ms in load["cpu_ms_per_call"].items()
        )
        print(f"  CPU ms per answered call: {cpu}")
    worst = min(figures["keep-alive"]["per_s"], figures["new connection per call"]["per_s"])
    errors = sum(figures[m]["refused"] + figures[m]["dropped"] for m in ("keep-alive", "new connection per call"))
    print("\n== targets (speed issue)")
    print(f"  idle queue wait p50 {_percentile(idle['queued'], 50):.1f} ms (target <= {TARGETS['queue_p50']:.0f})")
    print(f"  idle queue wait p95 {_percentile(idle['queued'], 95):.1f} ms (target <= {TARGETS['queue_p95']:.0f})")
    print(f"  at concurrency {figures['concurrency']}: {worst:.1f}/s at worst (target >= {TARGETS['per_s']:.0f}), "
          f"connection errors {errors} (target 0)")  # fmt: skip
    print(f"  rundemo stopped with status {figures['rundemo_exit']}")
    if figures["died"]:
        lines = Path(figures["var_dir"], "rundemo.log").read_text(errors="replace").splitlines()
        causes = [line for line in lines if "Error:" in line and "CommandError" not in line]
        print(f"  rundemo stopped during the runs: {figures['died'][0]}")
        print(f"    last error in its output: {causes[-1][:160] if causes else '(none)'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", help="a model artifact directory (default: newest under var/models)")
    parser.add_argument("--idle", type=int, default=50, help="sequential calls on an idle queue")
    parser.add_argument("--requests", type=int, default=320, help="calls per run at --concurrency")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    artifact = Path(args.artifact).resolve() if args.artifact else None
    print_figures(measure(artifact=artifact, idle=args.idle, requests=args.requests, concurrency=args.concurrency))


if __name__ == "__main__":
    main()
