"""Inference benchmark: prints figures, asserts nothing.

    python -m bench.inference [--artifact DIR] [--requests N] [--quick] [--embedded] [--int8]

1. Raw in-process throughput of the classifier at batch sizes 1, 8 and 32; with
   ``--int8`` also of its int8 variant (linear layers quantised dynamically, CPU only),
   with the int8 / fp32 ratio at each batch size.
2. End to end through the service path (inference_job_submit -> Redis -> solo inference
   worker with dynamic batching -> result backend -> waiting caller) at concurrency 1, 8
   and 32, then through the public path (``POST /api/v1/classify`` over HTTP with an API
   key, served by gunicorn with deploy/gunicorn.conf.py) at concurrency 1 and 32:
   throughput, p50/p95/p99 latency, mean batch size, and where the CPU time of the run
   at 32 went, per job, by process.
3. Both paths with batching turned off (INFERENCE_BATCH_SIZE=1) at concurrency 32.
4. The service path at concurrency 32, batching on and off, with one inference worker
   per core, each on one torch thread (another way to run a CPU host).
5. The figures the speed targets are set on, for each path and set-up: end to end at 32
   over best raw, batching on over off, p50 at concurrency 1 over raw batch 1, and over
   HTTP the CPU per call spent outside the model.

It needs PostgreSQL and Redis (make bench passes their URLs) and runs in a scratch
VAR_DIR, so it touches none of your data. Sentences are short ones from
../shared/data/sst2/test.tsv when it exists.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.mlmodels.models import ModelVersion

ROOT = Path(__file__).resolve().parent.parent
SST2_TEST = ROOT.parent / "shared" / "data" / "sst2" / "test.tsv"
FALLBACK = [
    "The new SDK is a pleasure to use.",
    "Support never answered my ticket.",
    "Latency dropped by half after the upgrade.",
    "The docs are confusing and out of date.",
    "A charming, funny film with a big heart.",
    "The API keeps timing out under load.",
]


def short_sentences(limit: int = 2000) -> list[str]:
    if not SST2_TEST.exists():
        return FALLBACK * (limit // len(FALLBACK) + 1)
    lines = SST2_TEST.read_text(encoding="utf-8").splitlines()[1:]
    sentences = [line.split("\t")[0] for line in lines if line.strip()]
    short = [s for s in sentences if len(s.split()) <= 20]
    return (short * (limit // max(len(short), 1) + 1))[:limit]


def setup_django(var_dir: Path) -> None:
    os.environ["VAR_DIR"] = str(var_dir)
    # Measured as served: DEBUG keeps a log of every SQL query (here and in the workers).
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def find_artifact(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).resolve()
    candidates = sorted((ROOT / "var" / "models").glob("*/v*/config.json"), key=lambda p: p.stat().st_mtime)
    if candidates:
        return candidates[-1].parent
    sys.exit(
        "No trained model artifact under var/models/. Run `make demo` once (it trains the demo model) "
        "or pass --artifact DIR."
    )


def register(artifact: Path) -> ModelVersion:
    import json

    from apps.mlmodels.models import MLModel, ModelVersion, VersionStatus

    config = json.loads((artifact / "config.json").read_text())
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    from apps.inference.models import InferenceJob

    InferenceJob.objects.filter(model_version__model__slug="bench").delete()
    MLModel.objects.filter(slug="bench").delete()
    model = MLModel.objects.create(slug="bench", name="Benchmark", labels=labels)
    return ModelVersion.objects.create(
        model=model,
        version=1,
        status=VersionStatus.PUBLISHED,
        artifact_dir=str(artifact),
        base_encoder="all-MiniLM-L6-v2",
        max_length=128,
    )


def bench_raw(artifact: Path, sentences: list[str], quick: bool, variant: str = "fp32") -> dict[int, dict[str, float]]:
    from apps.mlmodels.runtime import load_classifier

    device = "cpu" if variant == "int8" else "auto"
    classifier = load_classifier(artifact, max_length=128, variant=variant, device=device)
    classifier.predict(sentences[:64])  # warm up allocator and kernels
    figures = {}
    for batch in (1, 8, 32):
        count = {1: 150, 8: 400, 32: 1024}[batch] // (4 if quick else 1)
        texts = sentences[:count]
        started = time.perf_counter()
        for i in range(0, count, batch):
            classifier.predict(texts[i : i + batch])
        elapsed = time.perf_counter() - started
        figures[batch] = {"per_s": count / elapsed, "ms_per_batch": elapsed / (count / batch) * 1000}
    return figures


def print_int8(artifact: Path, sentences: list[str], quick: bool) -> None:
    """fp32 and int8 raw throughput on the CPU, measured one after the other, and the ratio."""
    fp32 = bench_raw(artifact, sentences, quick, variant="fp32") if _on_cpu() else None
    int8 = bench_raw(artifact, sentences, quick, variant="int8")
    print("\n== raw in-process throughput, fp32 vs int8 on the CPU (sentences/s)")
    for batch, figure in int8.items():
        if fp32 is None:
            print(f"  batch {batch:>2}: int8 {figure['per_s']:8.1f}/s   (fp32 ran on the GPU above)")
            continue
        ratio = figure["per_s"] / fp32[batch]["per_s"]
        print(f"  batch {batch:>2}: fp32 {fp32[batch]['per_s']:8.1f}/s   int8 {figure['per_s']:8.1f}/s   {ratio:5.2f}x")


def _on_cpu() -> bool:
    from apps.mlmodels.runtime import resolve_device

    return resolve_device("auto") == "cpu"


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# {label: (process ids, with their child processes)}: processes whose CPU time is counted.
Watch = dict[str, tuple[tuple[int, ...], bool]]


def cpu_seconds(pids: tuple[int, ...], *, with_children: bool = False) -> float:
    """CPU seconds (user + system) of live processes, and of their child processes (Linux)."""
    total = 0.0
    every = list(pids)
    if with_children:
        every += [int(c) for pid in pids for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for one in every:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (Linux /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def drive(
    call: Callable[[int], tuple[float, int] | None],
    *,
    concurrency: int,
    total: int,
    watch: Watch,
    client: str,
    finish: Callable[[ThreadPoolExecutor], None] | None = None,
) -> dict[str, Any]:
    """Make ``total`` calls from ``concurrency`` threads after a warm-up; a call returns its
    latency (ms) and batch size, or None when it failed. Reports throughput, latency, mean
    batch size and the CPU time per job of this process (``client``), of the processes in
    ``watch`` and of everything else. ``finish`` runs on the pool before it closes.
    Percentiles are the portal's own (``apps.core.stats``); NaN when every call failed."""
    from apps.core.stats import percentiles

    with ThreadPoolExecutor(concurrency) as pool:
        # Warm-up so the first figures do not include connection set-up.
        list(pool.map(call, range(min(concurrency * 2, 32))))
        watched = {client: ((os.getpid(),), False), **watch}
        before = {label: cpu_seconds(pids, with_children=kids) for label, (pids, kids) in watched.items()}
        machine_before = machine_cpu_seconds()
        started = time.perf_counter()
        results = list(pool.map(call, range(total)))
        elapsed = time.perf_counter() - started
        cpu = {label: cpu_seconds(pids, with_children=kids) - before[label] for label, (pids, kids) in watched.items()}
        cpu["everything else (PostgreSQL, Redis, system)"] = machine_cpu_seconds() - machine_before - sum(cpu.values())
        if finish is not None:
            finish(pool)
    done = [result for result in results if result is not None]
    latencies = percentiles([latency for latency, _batch in done])
    return {
        "per_s": len(done) / elapsed,
        **{point: math.nan if value is None else value for point, value in latencies.items()},
        "mean_batch": statistics.mean(batch for _latency, batch in done) if done else float("nan"),
        "failures": len(results) - len(done),
        "cpu_ms_per_job": {label: seconds * 1000 / max(len(done), 1) for label, seconds in cpu.items()},
        "cpu_busy": sum(cpu.values()) / elapsed,
    }


def bench_e2e(sentences: list[str], concurrency: int, total: int, watch: Watch) -> dict[str, Any]:
    """``total`` jobs at ``concurrency`` through the service functions, in this process."""
    from django.db import connection

    from apps.inference.services import inference_job_submit, inference_job_wait

    def one(i: int) -> tuple[float, int] | None:
        started = time.perf_counter()
        job = inference_job_submit(owner=None, model="bench", inputs=[sentences[i % len(sentences)]])
        outcome = inference_job_wait(job=job, timeout=60)
        if not outcome or outcome["status"] != "succeeded":
            return None
        return (time.perf_counter() - started) * 1000, outcome["batch_size"]

    def close_connections(pool: ThreadPoolExecutor) -> None:
        # Each thread holds a database connection: close them in their own threads (one
        # task per thread, held at a barrier) so runs do not pile up connections.
        barrier = threading.Barrier(concurrency)

        def close(_i: int) -> None:
            connection.close()
            # Fewer threads than workers may have been started: a broken barrier is fine.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)

        list(pool.map(close, range(concurrency)))

    return drive(
        one,
        concurrency=concurrency,
        total=total,
        watch=watch,
        client="benchmark client (submit + wait)",
        finish=close_connections,
    )


def bench_http(
    base_url: str, api_key: str, sentences: list[str], *, concurrency: int, total: int, watch: Watch
) -> dict[str, Any]:
    """``total`` calls of ``POST /api/v1/classify`` (one sentence, waiting for the result) at
    ``concurrency``, each thread on its own keep-alive connection."""
    import http.client
    import json
    from urllib.parse import urlsplit

    address = urlsplit(base_url)
    local = threading.local()
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}

    def one(i: int) -> tuple[float, int] | None:
        body = json.dumps({"model": "bench", "inputs": [sentences[i % len(sentences)]], "wait": 30})
        started = time.perf_counter()
        try:
            if getattr(local, "connection", None) is None:
                local.connection = http.client.HTTPConnection(address.netloc, timeout=60)
            local.connection.request("POST", "/api/v1/classify", body=body, headers=headers)
            answer = json.loads(local.connection.getresponse().read())
        except (OSError, http.client.HTTPException, ValueError):
            local.connection = None
            return None
        if answer.get("status") != "succeeded":
            return None
        return (time.perf_counter() - started) * 1000, answer["batch_size"]

    return drive(one, concurrency=concurrency, total=total, watch=watch, client="benchmark client (HTTP)")


def bench_api_key() -> str:
    """A key for the benchmark's user, on limits the benchmark cannot reach."""
    from django.contrib.auth import get_user_model

    from apps.apikeys.services import apikey_create

    user, _ = get_user_model().objects.get_or_create(email="bench@example.invalid", defaults={"username": "bench"})
    _key, raw = apikey_create(
        owner=user,
        name="benchmark",
        scopes=["inference:write"],
        rpm=10_000_000,
        quota=2_000_000_000,
        concurrency=10_000,
    )
    return raw


@contextlib.contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """gunicorn with the deployment's settings on a free local port; yields its URL and pid."""
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c", "deploy/gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log), "--error-logfile", str(log),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310 - a local URL
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


Figures = dict[str, Any]
# One comparison against the targets: name, batching on and off at concurrency 32, and on at 1.
Target = tuple[str, Figures, Figures, Figures | None]


def print_run(figures: Figures, concurrency: int) -> None:
    print(
        f"  concurrency {concurrency:>2}: {figures['per_s']:7.1f}/s   p50 {figures['p50']:6.1f} ms   "
        f"p95 {figures['p95']:6.1f} ms   p99 {figures['p99']:6.1f} ms   "
        f"mean batch {figures['mean_batch']:5.1f}   failures {figures['failures']}"
    )


def print_cpu(figures: Figures, concurrency: int) -> None:
    cores = os.cpu_count() or 1
    print(f"  CPU per job at concurrency {concurrency} (machine {figures['cpu_busy'] / cores:.0%} busy):")
    for name, ms in figures["cpu_ms_per_job"].items():
        print(f"    {name:<46} {ms:6.1f} ms")


@dataclass(frozen=True)
class EndToEnd:
    """What every end-to-end set-up shares: the sentences, the API key and the scratch directory."""

    sentences: list[str]
    api_key: str
    var_dir: Path

    def run(
        self,
        label: str,
        env_extra: dict[str, str],
        runs: Sequence[tuple[int, int]],
        http_runs: Sequence[tuple[int, int]] = (),
        workers: int = 1,
    ) -> tuple[dict[int, Figures], dict[int, Figures]]:
        """Start the workers of one set-up; measure ``(concurrency, total)`` runs through the
        service path, then ``http_runs`` through gunicorn. Returns both, by concurrency."""
        from tests.services import celery_worker, worker_env

        env = worker_env(**env_extra)
        with contextlib.ExitStack() as stack:
            recorder = stack.enter_context(celery_worker(queues="default", env=env))
            inference = [
                stack.enter_context(celery_worker(queues="inference", pool="solo", env=env)) for _ in range(workers)
            ]
            watch: Watch = {
                "inference worker" + ("s" if workers > 1 else ""): (tuple(w["process"].pid for w in inference), False),
                "recording worker": ((recorder["process"].pid,), True),
            }
            print(f"\n== end to end, {label}")
            results = self._series(runs, lambda c, t: bench_e2e(self.sentences, c, t, watch))
            over_http: dict[int, Figures] = {}
            if http_runs:
                with web_server(env, self.var_dir / "gunicorn.log") as (url, pid):
                    print(f"== the same over HTTP: POST /api/v1/classify, gunicorn ({url})")
                    web_watch: Watch = {**watch, "web server (gunicorn)": ((pid,), True)}
                    over_http = self._series(
                        http_runs,
                        lambda c, t: bench_http(
                            url, self.api_key, self.sentences, concurrency=c, total=t, watch=web_watch
                        ),
                    )
        return results, over_http

    @staticmethod
    def _series(runs: Sequence[tuple[int, int]], measure: Callable[[int, int], Figures]) -> dict[int, Figures]:
        """Each ``(concurrency, total)`` run in turn, printed; then the CPU split of the last."""
        results: dict[int, Figures] = {}
        for concurrency, total in runs:
            results[concurrency] = measure(concurrency, total)
            print_run(results[concurrency], concurrency)
        print_cpu(results[runs[-1][0]], runs[-1][0])
        return results


def measure_set_ups(end_to_end: EndToEnd, *, requests: int, scale: int) -> list[Target]:
    """Every set-up the targets are checked on: batching on and off, one worker and one per core."""
    import torch
    from django.conf import settings

    batched, batched_http = end_to_end.run(
        f"batching on (flush at {settings.INFERENCE_BATCH_SIZE} or {settings.INFERENCE_FLUSH_MS} ms), "
        f"worker on {torch.get_num_threads()} torch threads",
        {},
        [(1, 100 // scale), (8, 300 // scale), (32, requests // scale)],
        [(1, 100 // scale), (32, requests // scale)],
    )
    unbatched, unbatched_http = end_to_end.run(
        "batching off (INFERENCE_BATCH_SIZE=1)",
        {"INFERENCE_BATCH_SIZE": "1"},
        [(32, 300 // scale)],
        [(32, 300 // scale)],
    )
    targets: list[Target] = [
        ("service path, one worker", batched[32], unbatched[32], batched[1]),
        ("HTTP path, one worker", batched_http[32], unbatched_http[32], batched_http[1]),
    ]
    cores = os.cpu_count() or 1
    if cores > 1:
        # A CPU host can also run one worker process per core on one torch thread each:
        # no threads spinning idle between the two cores' share of a pass, and one worker
        # fetches its next batch while the other computes.
        per_core, _ = end_to_end.run(
            f"batching on, {cores} inference workers on 1 torch thread each",
            {"TORCH_NUM_THREADS": "1"},
            [(32, requests // scale)],
            workers=cores,
        )
        per_core_off, _ = end_to_end.run(
            f"batching off, {cores} inference workers on 1 torch thread each",
            {"TORCH_NUM_THREADS": "1", "INFERENCE_BATCH_SIZE": "1"},
            [(32, 300 // scale)],
            workers=cores,
        )
        targets.append((f"service path, {cores} workers on 1 thread each", per_core[32], per_core_off[32], None))
    return targets


def outside_model_ms(figures: Figures, best_raw: float) -> float:
    """CPU per job spent outside the model, summed over every process but the benchmark's
    own client: the run's CPU per job less the model's cost at its best (all cores over
    the best raw throughput, as the speed issue counts it)."""
    cores = os.cpu_count() or 1
    served = sum(ms for name, ms in figures["cpu_ms_per_job"].items() if not name.startswith("benchmark client"))
    return served - cores * 1000 / best_raw


def print_targets(raw: dict[int, dict[str, float]], targets: list[Target]) -> None:
    """The speed targets: end to end at 32 over best raw (>= 0.5 over HTTP, >= 0.7 on the
    service path), p50 at concurrency 1 within 8 ms of raw batch 1, and, over HTTP, CPU per
    call outside the model of 6 ms or less; batching on over off (>= 2.5x) from before."""
    best_raw = max(f["per_s"] for f in raw.values())
    print("\n== against the targets")
    print(f"  (the model alone: raw batch 32 over batch 1 = {raw[32]['per_s'] / raw[1]['per_s']:.2f}x)")
    for name, on, off, single in targets:
        http = name.startswith("HTTP")
        print(f"  {name}:")
        goal = 0.5 if http else 0.7
        print(f"    end-to-end at 32 / best raw:            {on['per_s'] / best_raw:5.2f}   (target >= {goal})")
        print(f"    batching on / off at concurrency 32:    {on['per_s'] / off['per_s']:5.2f}x  (target >= 2.5x)")
        if single is not None:
            overhead = single["p50"] - raw[1]["ms_per_batch"]
            print(f"    p50 at concurrency 1 minus raw batch 1: {overhead:5.1f} ms (target <= 8 ms)")
        if http:
            outside = outside_model_ms(on, best_raw)
            print(f"    CPU per call outside the model, c32:    {outside:5.1f} ms (target <= 6 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", help="a trained model artifact directory (default: newest under var/models)")
    parser.add_argument("--requests", type=int, default=600, help="requests per end-to-end run at concurrency 32")
    parser.add_argument("--quick", action="store_true", help="a quarter of the work, for a smoke run")
    parser.add_argument(
        "--embedded", action="store_true", help="measure the embedded default instead (bench/embedded.py)"
    )
    parser.add_argument(
        "--int8", action="store_true", help="also the raw throughput of the int8 variant (CPU), fp32 beside it"
    )
    args = parser.parse_args()

    artifact = find_artifact(args.artifact)
    if args.embedded:
        from bench.embedded import measure, print_figures

        scale = 4 if args.quick else 1
        print_figures(measure(artifact=artifact, idle=50 // scale, requests=320 // scale))
        return
    var_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    setup_django(var_dir)
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        sys.exit("The benchmark measures the Redis path: set CELERY_BROKER_URL and REDIS_URL (make bench does).")
    register(artifact)
    sentences = short_sentences()
    import torch

    print(f"model artifact: {artifact}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"cuda={'yes: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no'}")  # fmt: skip
    print("\n== raw in-process throughput (sentences/s)")
    raw = bench_raw(artifact, sentences, args.quick)
    for batch, figure in raw.items():
        print(f"  batch {batch:>2}: {figure['per_s']:8.1f}/s   {figure['ms_per_batch']:7.1f} ms per batch")
    if args.int8:
        print_int8(artifact, sentences, args.quick)
    end_to_end = EndToEnd(sentences=sentences, api_key=bench_api_key(), var_dir=var_dir)
    targets = measure_set_ups(end_to_end, requests=args.requests, scale=4 if args.quick else 1)
    print_targets(raw, targets)


if __name__ == "__main__":
    main()
