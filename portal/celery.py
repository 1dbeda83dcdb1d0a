"""The Celery application: three queues, JSON only, per-queue failure semantics.

Queues:
- ``inference``: GPU (or CPU) workers running the classifier. Tasks there are acknowledged
  late and rejected when their worker is lost, so a killed worker's jobs are redelivered.
- ``default``: short web-side work (recording results, notifications, roll-ups).
- ``training``: long fine-tuning runs.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")

INFERENCE_QUEUE = "inference"
DEFAULT_QUEUE = "default"
TRAINING_QUEUE = "training"


def time_limits(queue: str) -> tuple[float, float]:
    """(soft, hard) seconds for tasks on ``queue``: a soft limit raises inside the task so
    it can record a clear error (or, for an inference flush, hand its jobs back); the hard
    limit kills a stuck process. Inference stays below the broker's visibility timeout
    (checked when a worker starts); its flushes enforce the limits themselves
    (apps/inference/worker/limits.py)."""
    from django.conf import settings

    hard = {
        INFERENCE_QUEUE: settings.INFERENCE_TIME_LIMIT,
        DEFAULT_QUEUE: 60,
        TRAINING_QUEUE: 4 * 3600,
    }.get(queue, 60)
    if queue == INFERENCE_QUEUE:
        return min(settings.INFERENCE_SOFT_TIME_LIMIT, hard), hard
    return round(hard * 2 / 3, 3), hard


class QueueAnnotations:
    """Give every task the failure semantics of the queue it is declared on.

    A task's own explicit options win; this only fills in what the queue requires, so
    no inference task can forget late acknowledgement.
    """

    def annotate(self, task: Any) -> dict[str, Any] | None:
        queue = getattr(task, "queue", None) or DEFAULT_QUEUE
        soft, hard = time_limits(queue)
        options: dict[str, Any] = {}
        if task.soft_time_limit is None:
            options["soft_time_limit"] = soft
        if task.time_limit is None:
            options["time_limit"] = hard
        if queue == INFERENCE_QUEUE:
            options["acks_late"] = True
            options["reject_on_worker_lost"] = True
        return options


app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_default_queue=DEFAULT_QUEUE,
    task_queues=[
        Queue(name, Exchange(name, type="direct"), routing_key=name)
        for name in (INFERENCE_QUEUE, DEFAULT_QUEUE, TRAINING_QUEUE)
    ],
    task_annotations=(QueueAnnotations(),),
    task_track_started=True,
    task_send_sent_event=False,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    result_expires=24 * 3600,
    timezone="UTC",
)
app.autodiscover_tasks()


@app.task(name="portal.ping", queue=DEFAULT_QUEUE)
def ping(payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Echo ``payload`` with the worker's name: the smallest round trip through a worker."""
    return {"pong": True, "payload": payload or {}, "hostname": ping.request.hostname}


@app.task(name="portal.inference_ping", queue=INFERENCE_QUEUE)
def inference_ping(payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """The same round trip on the inference queue (health checks of GPU workers)."""
    return {"pong": True, "payload": payload or {}, "hostname": inference_ping.request.hostname}


@signals.worker_init.connect
def _check_worker_config(sender: Any, **_: Any) -> None:
    from apps.inference.worker import WorkerConfigError, check_worker_config

    try:
        check_worker_config()
    except WorkerConfigError as exc:
        # SystemExit passes through Celery's signal dispatch: the worker does not start.
        raise SystemExit(f"worker refused to start: {exc}") from exc


@signals.worker_ready.connect
def _worker_ready(sender: Any, **_: Any) -> None:
    import logging

    from apps.inference.heartbeat import queues_of, start_heartbeat

    if INFERENCE_QUEUE in queues_of(sender):
        # Inference runs in the worker's main process (solo pool), so the models are
        # loaded there, before the first request, and the heartbeat says which.
        if type(sender.pool).__module__ != "celery.concurrency.solo":
            logging.getLogger(__name__).warning("inference workers should run with --pool solo")
        classify: Any = app.tasks["inference.classify"]  # an InferenceBatches
        classify.data.warm_up()
    start_heartbeat(sender)


@signals.worker_shutdown.connect
def _stop_heartbeat(sender: Any, **_: Any) -> None:
    import logging

    from apps.inference.heartbeat import stop_heartbeat

    try:
        # Reports still gathered go before the worker leaves (none outside inference workers).
        classify: Any = app.tasks["inference.classify"]  # an InferenceBatches
        classify.data.reports.flush()
    except Exception:  # the reconciler and the next worker record them instead
        logging.getLogger(__name__).warning("could not send the last inference reports", exc_info=True)
    stop_heartbeat(sender)
