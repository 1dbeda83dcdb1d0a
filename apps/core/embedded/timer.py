"""A worker timer thread that fires an entry on time even when it was added while the
thread slept.

A worker whose broker has no event loop (the file-system transport) runs its timers in
Celery's ``timer2.Timer`` thread. That thread sleeps until its next entry is due, up to
``worker_timer_precision`` (1 s), and an entry added meanwhile waits for the sleep to end:
celery-batches arms its flush timer (2 ms) when the first request of an idle worker
arrives, so that request waited 0-1 s for its flush. This thread waits on the schedule's
condition instead of sleeping, so adding an entry wakes it at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Any

from celery.utils.timer2 import Timer

logger = logging.getLogger(__name__)

# The stubs lack the timer's schedule and condition: the base is untyped here.
_Timer: Any = Timer


class PromptTimer(_Timer):
    """``timer2.Timer`` that waits on ``not_empty`` (notified by every ``enter``) instead
    of ``time.sleep``. Set as ``worker_timer``."""

    def stop(self) -> None:
        # Wake the thread out of its wait so that it sees the shutdown at once.
        self._Timer__is_shutdown.set()
        with self.not_empty:
            self.not_empty.notify_all()
        super().stop()

    def run(self) -> None:
        # Name-mangled in the base class: the shutdown and stopped events it keeps.
        shutdown = self._Timer__is_shutdown
        stopped = self._Timer__is_stopped
        try:
            self.running = True
            self.scheduler = iter(self.schedule)
            while not shutdown.is_set():
                with self.not_empty:
                    delay, entry = next(self.scheduler)
                    if entry is None:
                        # Nothing due: wait until the next entry is due, or for a new
                        # one or a shutdown (both notify).
                        self.not_empty.wait(delay)
                        continue
                self.schedule.apply_entry(entry)
            # At interpreter shutdown the event may be collected already (as the base class).
            with contextlib.suppress(TypeError):
                stopped.set()
        except Exception as exc:
            # As the base class: a crashed timer thread must not leave a worker that
            # looks alive but never flushes.
            logger.error("Thread Timer crashed: %r", exc, exc_info=True)
            sys.stderr.flush()
            os._exit(1)
