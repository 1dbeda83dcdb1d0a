"""Inference benchmark: prints figures, asserts nothing.

    python -m bench.inference [--artifact DIR] [--requests N] [--quick]

1. Raw in-process throughput of the classifier at batch sizes 1, 8 and 32.
2. End to end through the real path (inference_job_submit -> Redis -> solo inference
   worker with dynamic batching -> result backend -> waiting caller) at concurrency 1, 8
   and 32: throughput, p50/p95/p99 latency, mean batch size.
   Where the CPU time of the run at 32 went, per job, by process.
3. The same path at concurrency 32 with the worker on one core fewer (torch threads),
   leaving that core to submission and recording, as on a machine that runs everything.
4. The same path with batching turned off (INFERENCE_BATCH_SIZE=1) at concurrency 32.
5. The ratios the inference issue sets targets for.

It needs PostgreSQL and Redis (make bench passes their URLs) and runs in a scratch
VAR_DIR, so it touches none of your data. Sentences are short ones from
../shared/data/sst2/test.tsv when it exists.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(round(p / 100 * (len(ordered) - 1)), len(ordered) - 1)
    return ordered[index]


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


def register(artifact: Path):
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


def bench_raw(artifact: Path, sentences: list[str], quick: bool) -> dict[int, dict[str, float]]:
    from apps.mlmodels.runtime import load_classifier

    classifier = load_classifier(artifact, max_length=128)
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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """CPU seconds (user + system) of a live process, and of its child processes (Linux)."""
    total = 0.0
    pids = [pid]
    if with_children:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (Linux /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def bench_e2e(
    sentences: list[str], concurrency: int, total: int, watch: dict[str, tuple[int, bool]] | None = None
) -> dict[str, float]:
    """Run ``total`` jobs at ``concurrency``; ``watch`` names processes ({label: (pid,
    with children)}) whose CPU time per job is reported, beside this one's and the rest."""
    from django.db import connection

    from apps.inference.services import inference_job_submit, inference_job_wait

    latencies: list[float] = []
    batch_sizes: list[int] = []
    lock = threading.Lock()
    failures = 0

    def one(i: int) -> None:
        nonlocal failures
        started = time.perf_counter()
        job = inference_job_submit(owner=None, model="bench", inputs=[sentences[i % len(sentences)]])
        outcome = inference_job_wait(job=job, timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            if not outcome or outcome["status"] != "succeeded":
                failures += 1
                return
            latencies.append(elapsed)
            batch_sizes.append(outcome["batch_size"])

    with ThreadPoolExecutor(concurrency) as pool:
        # Warm-up so the first figures do not include connection set-up.
        list(pool.map(one, range(min(concurrency * 2, 32))))
        latencies.clear()
        batch_sizes.clear()
        watched = {"benchmark client (submit + wait)": (os.getpid(), False), **(watch or {})}
        before = {label: cpu_seconds(pid, with_children=kids) for label, (pid, kids) in watched.items()}
        machine_before = machine_cpu_seconds()
        started = time.perf_counter()
        list(pool.map(one, range(total)))
        elapsed = time.perf_counter() - started
        cpu = {label: cpu_seconds(pid, with_children=kids) - before[label] for label, (pid, kids) in watched.items()}
        cpu["everything else (PostgreSQL, Redis, system)"] = machine_cpu_seconds() - machine_before - sum(cpu.values())
        # Each thread holds a database connection: close them in their own threads (one
        # task per thread, held at a barrier) so runs do not pile up connections.
        barrier = threading.Barrier(concurrency)

        def close(_i: int) -> None:
            connection.close()
            # Fewer threads than workers may have been started: a broken barrier is fine.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)

        list(pool.map(close, range(concurrency)))
    return {
        "per_s": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "mean_batch": statistics.mean(batch_sizes),
        "failures": failures,
        "cpu_ms_per_job": {label: seconds * 1000 / max(len(latencies), 1) for label, seconds in cpu.items()},
        "cpu_busy": sum(cpu.values()) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", help="a trained model artifact directory (default: newest under var/models)")
    parser.add_argument("--requests", type=int, default=600, help="requests per end-to-end run at concurrency 32")
    parser.add_argument("--quick", action="store_true", help="a quarter of the work, for a smoke run")
    args = parser.parse_args()

    artifact = find_artifact(args.artifact)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    setup_django(var_dir)
    from django.conf import settings

    from tests.services import celery_worker, worker_env

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        sys.exit("The benchmark measures the Redis path: set CELERY_BROKER_URL and REDIS_URL (make bench does).")
    register(artifact)
    sentences = short_sentences()
    scale = 4 if args.quick else 1
    import torch

    print(f"model artifact: {artifact}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"cuda={'yes: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no'}")  # fmt: skip
    print("\n== raw in-process throughput (sentences/s)")
    raw = bench_raw(artifact, sentences, args.quick)
    for batch, figure in raw.items():
        print(f"  batch {batch:>2}: {figure['per_s']:8.1f}/s   {figure['ms_per_batch']:7.1f} ms per batch")
    best_raw = max(f["per_s"] for f in raw.values())

    cores = os.cpu_count() or 1

    def run_path(label: str, env_extra: dict[str, str], runs: list[tuple[int, int]]) -> dict[int, dict[str, float]]:
        results = {}
        env = worker_env(**env_extra)
        with (
            celery_worker(queues="default", env=env) as recorder,
            celery_worker(queues="inference", pool="solo", env=env) as inference,
        ):
            watch = {
                "inference worker": (inference["process"].pid, False),
                "recording worker": (recorder["process"].pid, True),
            }
            print(f"\n== end to end, {label}")
            for concurrency, total in runs:
                figures = bench_e2e(sentences, concurrency, total, watch)
                results[concurrency] = figures
                print(
                    f"  concurrency {concurrency:>2}: {figures['per_s']:7.1f}/s   p50 {figures['p50']:6.1f} ms   "
                    f"p95 {figures['p95']:6.1f} ms   p99 {figures['p99']:6.1f} ms   "
                    f"mean batch {figures['mean_batch']:5.1f}   failures {figures['failures']}"
                )
            busy = results[runs[-1][0]]
            print(f"  CPU per job at concurrency {runs[-1][0]} (machine {busy['cpu_busy'] / cores:.0%} busy):")
            for name, ms in busy["cpu_ms_per_job"].items():
                print(f"    {name:<46} {ms:6.1f} ms")
        return results

    batched = run_path(
        f"batching on (flush at {settings.INFERENCE_BATCH_SIZE} or {settings.INFERENCE_FLUSH_MS} ms), "
        f"worker on {torch.get_num_threads()} torch threads",
        {},
        [(1, 100 // scale), (8, 300 // scale), (32, args.requests // scale)],
    )
    shared = {}
    if cores > 1:
        shared = run_path(
            f"batching on, worker on {cores - 1} torch thread(s): a core left to the web side",
            {"TORCH_NUM_THREADS": str(cores - 1)},
            [(32, args.requests // scale)],
        )
    unbatched = run_path("batching off (INFERENCE_BATCH_SIZE=1)", {"INFERENCE_BATCH_SIZE": "1"}, [(32, 300 // scale)])

    print("\n== against the targets")
    best_e2e = max(batched[32]["per_s"], shared[32]["per_s"] if shared else 0.0)
    ratio = best_e2e / best_raw
    speedup = batched[32]["per_s"] / unbatched[32]["per_s"]
    overhead = batched[1]["p50"] - raw[1]["ms_per_batch"]
    print(f"  best end-to-end at 32 / best raw:       {ratio:5.2f}   (target >= 0.70)")
    print(f"  batching on / off at concurrency 32:    {speedup:5.2f}x  (target >= 2.5x)")
    print(f"  p50 at concurrency 1 minus raw batch 1: {overhead:5.1f} ms (target <= 25 ms)")


if __name__ == "__main__":
    main()
