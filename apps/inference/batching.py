"""Dynamic batching tuned for a worker that runs its batches in its own main process.

celery-batches flushes when ``flush_every`` requests are buffered or when its timer
fires (``flush_interval`` after the first request). With the Redis transport a worker
takes one message per turn of its event loop, so after a long forward pass the backlog
in Redis reaches the buffer one message at a time, and the timer fires with only a few
of them. ``InferenceBatches`` holds the flush a little longer while more messages are
already waiting in the broker, up to ``INFERENCE_MAX_WAIT_MS``: full batches under load,
no extra wait for a lone request.

Reconnects: when the broker connection drops, Celery's event loop clears every timer it
holds and, once connected again, asks each task for its strategy anew. celery-batches
would keep its old timer reference and never flush on time again; ``Strategy`` here
forgets it and re-arms the flush (and the worker's report timer) on the new loop.

Time limits: celery-batches hands a flush to the pool with no time limit, and the solo
pool would ignore one; the flush arms its own (``worker.limits``), and ``flush`` here
rejects the messages of the jobs it handed back so that they are delivered again (each
delivery counts as an attempt). The rest are acknowledged.

State: the worker's per-process state (models, timing, reports) is ``data``, a
``worker.WorkerState`` built on first use.

Watchdog: ``health()`` says whether requests have waited in the buffer, or messages in
the broker, longer than ``INFERENCE_STALL_SECONDS`` without a flush; the heartbeat
carries the verdict to ``/readyz``, and the worker logs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from celery.worker.request import Request
from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task
from django.conf import settings

if TYPE_CHECKING:
    from .worker import WorkerState

logger = logging.getLogger(__name__)


class InferenceBatches(Batches):
    abstract = True
    _holding_since: float | None = None
    _tref: Any = None
    # Watchdog state, in monotonic seconds: since when requests wait in the buffer, when
    # the last flush ended, when a message last arrived, and since when a flush runs.
    _waiting_since: float | None = None
    _last_flush: float | None = None
    _last_message: float | None = None
    _flushing_since: float | None = None
    # When this consumer (re)started: a backlog found at start is not a stall yet.
    _armed_at: float | None = None
    _data: WorkerState | None = None

    @property
    def data(self) -> WorkerState:
        """This process's worker state (one per process: Celery keeps one task instance)."""
        if self._data is None:
            from .worker import WorkerState

            self._data = WorkerState()
        return self._data

    def _waiting_in_broker(self) -> int:
        """Messages still in the broker's list for this task's queue (Redis only)."""
        url = self.app.conf.broker_url
        if not url.startswith(("redis://", "rediss://")):
            return 0
        try:
            from apps.core.clients import redis_client

            return int(redis_client(url, socket_timeout=1).llen(self.queue))
        except Exception:  # never let a probe stop a flush
            logger.debug("could not read the queue length", exc_info=True)
            return 0

    def Strategy(self, task: Any, app: Any, consumer: Any) -> Any:  # Celery's name: keeps its case
        from .heartbeat import worker_details_source

        timer = consumer.timer
        # Called at start and after every reconnect; the old loop's timers are gone.
        if self._tref is not None:
            logger.warning("consumer restarted with a flush pending: arming it on the new loop")
        self._tref = None
        self._armed_at = time.monotonic()
        handler = super().Strategy(task, app, consumer)
        if not self._buffer.empty() or not self._pending.empty():
            self._tref = timer.call_repeatedly(self.flush_interval, self._do_flush)
        self.data.reports.use_timer(timer.call_after)
        worker_details_source(self.details)

        def on_message(*args: Any, **kwargs: Any) -> None:
            now = time.monotonic()
            self._last_message = now
            if self._waiting_since is None:
                self._waiting_since = now
            handler(*args, **kwargs)

        return on_message

    def details(self) -> dict[str, Any]:
        """What this worker's heartbeats say: device, loaded models, watchdog verdict."""
        return {**self.data.info(), **self.health()}

    def health(self) -> dict[str, Any]:
        """``{"stalled": bool, "stall": reason}``: whether this worker stopped flushing
        while work waits for it (buffered requests or messages in the broker)."""
        now = time.monotonic()
        limit = settings.INFERENCE_STALL_SECONDS
        reason = ""
        if self._flushing_since is not None:
            hard_limit = self.time_limit or settings.INFERENCE_TIME_LIMIT
            if now - self._flushing_since > hard_limit + limit:
                reason = f"a flush has run for {now - self._flushing_since:.0f} s"
        elif self._waiting_since is not None and now - self._waiting_since > limit:
            reason = f"{self._buffer.qsize()} requests waited {now - self._waiting_since:.0f} s without a flush"
        else:
            active = max(self._last_flush or 0.0, self._last_message or 0.0, self._armed_at or 0.0)
            if now - active > limit and self._waiting_in_broker() > 0:
                reason = f"messages wait in the broker and none arrived for {now - active:.0f} s"
        return {"stalled": bool(reason), "stall": reason}

    def _do_flush(self) -> None:
        buffered = self._buffer.qsize()
        max_wait = settings.INFERENCE_MAX_WAIT_MS / 1000
        if 0 < buffered < self.flush_every and max_wait > 0:
            now = time.monotonic()
            if self._holding_since is None:
                self._holding_since = now
            if now - self._holding_since < max_wait and self._waiting_in_broker() > 0:
                return  # more is on its way: let the event loop fetch it first
        self._holding_since = None
        self._flushing_since = time.monotonic()
        try:
            super()._do_flush()
        finally:
            self._flushing_since = None
            self._last_flush = time.monotonic()
            if self._buffer.empty():
                self._waiting_since = None

    def flush(self, requests: Collection[Request]) -> Any:
        """Run ``requests`` through the pool. Messages are acknowledged when the flush
        returns (the task acknowledges late), except those of the jobs the flush hands
        back (``tasks.classify``), which are rejected and requeued."""

        def on_return(result: Any) -> None:
            redeliver = set(result.get("redeliver", ())) if isinstance(result, dict) else set()
            for request in requests:
                if request.kwargs.get("job_id") in redeliver:
                    request.reject(requeue=True)
                else:
                    request.acknowledge()

        args = (self, ([SimpleRequest.from_request(r) for r in requests],), 0, None)
        return self._pool.apply_async(apply_batches_task, args, callback=on_return)
