"""Time limits, enforced in the worker's own process, on each part of a flush.

The inference worker runs its flushes in its main process (the solo pool), where Celery
applies no time limit at all, and celery-batches hands a flush to the pool without one.
So each part of a flush (``flush.Limits``) arms its own:

- the **soft** limit raises ``SoftTimeLimitExceeded`` in the flush. On the main thread
  (the Redis transport's event loop) a ``SIGALRM`` timer does it: Python runs the handler
  between bytecodes and after an interrupted system call, so a flush blocked reading a
  file or a socket stops too. Where the flush runs on a thread of its own (the
  file-system broker's timer), a watchdog thread raises the exception in that thread
  (``PyThreadState_SetAsyncExc``), which takes effect at its next bytecode. The flush
  then hands back the jobs it has not finished, and the task rejects their messages for
  redelivery;
- the **hard** limit, for a flush stuck where no signal handler can run (inside a native
  call), ends the whole process from a watchdog thread. Its unacknowledged messages go
  back to the queue (the broker's visibility timeout, or the reconciler), and the process
  manager starts a fresh worker.

A delivery in which a job's part ran counts as an attempt, so a job that hangs every time
fails as poison after ``INFERENCE_MAX_ATTEMPTS`` (``flush.process``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

logger = logging.getLogger(__name__)

# The exit status of a worker that ended itself at the hard limit (EX_SOFTWARE).
HARD_LIMIT_EXIT = 70


def _hard_limit_reached(seconds: float) -> None:
    logger.critical(
        "a flush ran past the hard time limit of %s s; the worker exits so its jobs are redelivered", seconds
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(HARD_LIMIT_EXIT)


class FlushDeadline:
    """``with FlushDeadline(soft=..., hard=...):`` around one flush.

    A limit of None or 0 is not armed. On another thread the soft limit's exception can
    land just after the block ends: catch ``SoftTimeLimitExceeded`` around the ``with``.
    """

    def __init__(self, *, soft: float | None, hard: float | None) -> None:
        self.soft = soft or None
        self.hard = hard or None
        self._watchdog: threading.Timer | None = None
        self._soft_watchdog: threading.Timer | None = None
        self._previous: Any = None
        self._armed_alarm = False
        self._lock = threading.Lock()
        self._active = False

    def _raise_in(self, thread_id: int) -> None:
        with self._lock:
            if self._active:
                exception = ctypes.py_object(SoftTimeLimitExceeded)
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exception)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        raise SoftTimeLimitExceeded(f"the flush ran past its soft time limit of {self.soft} s")

    def __enter__(self) -> FlushDeadline:
        if self.hard is not None:
            self._watchdog = threading.Timer(self.hard, _hard_limit_reached, args=(self.hard,))
            self._watchdog.daemon = True
            self._watchdog.start()
        self._active = True
        if self.soft is None:
            return self
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.soft)
            self._armed_alarm = True
        else:
            self._soft_watchdog = threading.Timer(self.soft, self._raise_in, args=(threading.get_ident(),))
            self._soft_watchdog.daemon = True
            self._soft_watchdog.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        with self._lock:
            self._active = False
        if self._armed_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self._armed_alarm = False
        if self._soft_watchdog is not None:
            self._soft_watchdog.cancel()
            self._soft_watchdog = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
