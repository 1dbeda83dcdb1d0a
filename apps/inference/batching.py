"""Dynamic batching tuned for a worker that runs its batches in its own main process.

celery-batches flushes when ``flush_every`` requests are buffered or when its timer
fires (``flush_interval`` after the first request). With the Redis transport a worker
takes one message per turn of its event loop, so after a long forward pass the backlog
in Redis reaches the buffer one message at a time, and the timer fires with only a few
of them. ``InferenceBatches`` holds the flush a little longer while more messages are
already waiting in the broker, up to ``INFERENCE_MAX_WAIT_MS``: full batches under load,
no extra wait for a lone request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery_batches import Batches
from django.conf import settings

logger = logging.getLogger(__name__)


class InferenceBatches(Batches):
    abstract = True
    _holding_since: float | None = None
    _redis: Any = None

    def _waiting_in_broker(self) -> int:
        """Messages still in the broker's list for this task's queue (Redis only)."""
        url = self.app.conf.broker_url
        if not url.startswith(("redis://", "rediss://")):
            return 0
        try:
            if self._redis is None:
                import redis

                self._redis = redis.Redis.from_url(url, socket_timeout=1)
            return int(self._redis.llen(self.queue))
        except Exception:  # never let a probe stop a flush
            logger.debug("could not read the queue length", exc_info=True)
            return 0

    def Strategy(self, task: Any, app: Any, consumer: Any) -> Any:  # Celery's name: keeps its case
        from . import worker

        timer = consumer.timer
        worker.use_timer(lambda seconds, callback: timer.call_after(seconds, callback))
        return super().Strategy(task, app, consumer)

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
        super()._do_flush()
