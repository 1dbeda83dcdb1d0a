"""Server-less brokers and result stores, alone: prints figures, asserts nothing.

    python -m bench.embedded_broker [--messages N]

The embedded default needs a broker and a result store without a server. For each
candidate broker a consumer runs in its own process, as a worker does (``drain_events``
with a 2 s timeout, as Celery's loop for such transports calls it), and this process
publishes ``--messages`` small messages with a pause of 20-80 ms before each (an idle
queue). Printed: the delay from publish to delivery (p50/p95/max), the cost of one
publish, and the CPU the idle consumer burns per second. Candidates: kombu's file-system
transport at several polling intervals, the same with the portal's changes
(``apps.core.embedded.broker``: whole-file writes, FIFO wake-ups), and kombu's SQLAlchemy
transport over a SQLite file where SQLAlchemy is installed.

Then the result store: a caller waits for a result that another thread stores after a
random pause, with Celery's file store polled every 50 ms (the portal's waiting interval)
and with ``apps.core.embedded.results`` (woken by the store).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "probe"


def _percentile(values: list[float], p: int) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(-(-p * len(ordered) // 100), 1) - 1]


def _connection(spec: dict[str, Any]) -> Any:
    from kombu import Connection

    transport = spec.get("transport")
    if "sqla_polling" in spec:
        # kombu's SQLAlchemy transport hands its options to create_engine, which refuses
        # polling_interval: set it on a subclass instead.
        from kombu.transport import sqlalchemy

        transport = type("Transport", (sqlalchemy.Transport,), {"polling_interval": spec["sqla_polling"]})
    return Connection(spec["url"], transport=transport, transport_options=spec.get("options", {}))


def consume(spec: dict[str, Any], expected: int, idle_seconds: float) -> None:
    """The consumer process: report each message's delay, then the CPU of an idle spell."""
    from kombu import Consumer, Queue

    delays: list[float] = []
    errors = 0

    def drain(connection: Any) -> None:
        nonlocal errors
        try:
            connection.drain_events(timeout=2.0)
        except TimeoutError:
            pass
        except ValueError:  # half a message read (kombu's transport): a worker would exit here
            errors += 1

    with _connection(spec) as connection:
        channel = connection.channel()

        def on_message(body: Any, message: Any) -> None:
            delays.append((time.time() - body["sent"]) * 1000)
            message.ack()

        with Consumer(channel, queues=[Queue(QUEUE, routing_key=QUEUE)], callbacks=[on_message], accept=["json"]):
            print("ready", flush=True)
            while len(delays) + errors < expected:
                drain(connection)
            before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.monotonic()
            while time.monotonic() - started < idle_seconds:
                drain(connection)
            after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(json.dumps({"delays": delays, "errors": errors, "idle_cpu_pct": cpu / idle_seconds * 100}), flush=True)


def measure_broker(spec: dict[str, Any], messages: int, idle_seconds: float) -> dict[str, Any]:
    from kombu import Producer, Queue

    code = (
        "import sys, json; sys.path.insert(0, '.'); from bench.embedded_broker import consume; "
        "consume(json.loads(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))"
    )
    with _connection(spec) as connection:
        # Declared before the consumer starts, so no message finds the queue missing.
        Queue(QUEUE, routing_key=QUEUE)(connection.channel()).declare()
        child = subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(spec), str(messages), str(idle_seconds)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the consumer of {spec['name']} did not start")
        producer = Producer(connection.channel(), routing_key=QUEUE, serializer="json")
        rng = random.Random(13)  # noqa: S311 - pauses, not secrets
        publish_ms = []
        for i in range(messages):
            time.sleep(rng.uniform(0.02, 0.08))
            started = time.perf_counter()
            producer.publish({"sent": time.time(), "i": i}, routing_key=QUEUE)
            publish_ms.append((time.perf_counter() - started) * 1000)
        out, _ = child.communicate(timeout=idle_seconds + 120)
    figures = json.loads(out.strip().splitlines()[-1])
    return {**figures, "publish_ms": publish_ms}


def broker_candidates(folder: Path) -> list[dict[str, Any]]:
    def fs(name: str, transport: str | None, **options: Any) -> dict[str, Any]:
        queue = folder / name / "queue"
        control = folder / name / "control"
        queue.mkdir(parents=True)
        control.mkdir(parents=True)
        paths = {"data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(control)}
        return {"name": name, "url": "filesystem://", "transport": transport, "options": {**paths, **options}}

    ours = "apps.core.embedded.broker:Transport"
    candidates = [
        fs("kombu filesystem, polling 50 ms", None, polling_interval=0.05),
        fs("kombu filesystem, polling 10 ms", None, polling_interval=0.01),
        fs("kombu filesystem, polling 2 ms", None, polling_interval=0.002),
        fs("portal filesystem, FIFO wake-up", ours),
    ]
    if importlib.util.find_spec("sqlalchemy") is not None:
        for interval in (0.05, 0.01):
            candidates.append(
                {
                    "name": f"kombu sqlalchemy (SQLite), polling {interval * 1000:.0f} ms",
                    "url": f"sqlite:///{folder / f'broker-{interval}.sqlite3'}",
                    "sqla_polling": interval,
                }
            )
    return candidates


def measure_results(backend_url: str, *, waits: int, interval: float) -> list[float]:
    """Delays (ms) from storing a result to the waiting caller having it."""
    from celery import Celery

    app = Celery("probe", backend=backend_url)
    backend = app.backend
    rng = random.Random(13)  # noqa: S311 - pauses, not secrets
    delays = []
    for i in range(waits):
        task_id = f"probe-{i}-{rng.random()}"
        stored: dict[str, float] = {}

        def store(task_id: str = task_id, stored: dict[str, float] = stored) -> None:
            time.sleep(rng.uniform(0.02, 0.08))
            stored["at"] = time.perf_counter()
            backend.mark_as_done(task_id, {"ok": True})

        thread = threading.Thread(target=store)
        thread.start()
        backend.wait_for(task_id, timeout=10, interval=interval)
        delays.append((time.perf_counter() - stored["at"]) * 1000)
        thread.join()
    return delays


def _ms(values: list[float]) -> str:
    return f"p50 {_percentile(values, 50):7.2f}  p95 {_percentile(values, 95):7.2f}  max {max(values):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100, help="messages per broker")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle consumer CPU to measure")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    folder = Path(tempfile.mkdtemp(prefix="bench-embedded-broker-"))
    print(f"== publish to delivery, {args.messages} messages on an idle queue (consumer in its own process)")
    for spec in broker_candidates(folder):
        figures = measure_broker(spec, args.messages, args.idle)
        print(f"  {spec['name']:<44} delivery {_ms(figures['delays'])}")
        print(
            f"  {'':<44} publish p50 {_percentile(figures['publish_ms'], 50):5.2f} ms, "
            f"idle consumer CPU {figures['idle_cpu_pct']:5.2f} % of a core, half-read messages {figures['errors']}"
        )
    print("\n== result stored to waiting caller woken, 50 waits")
    for name, template in (
        ("celery file store, polled every 50 ms", "file://{}"),
        ("portal file store, FIFO wake-up", "apps.core.embedded.results:FilesystemBackend+file://{}"),
    ):
        url = template.format(tempfile.mkdtemp(dir=folder))
        print(f"  {name:<44} {_ms(measure_results(url, waits=50, interval=0.05))}")


if __name__ == "__main__":
    main()
