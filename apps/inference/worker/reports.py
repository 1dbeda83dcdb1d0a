"""Outcomes on their way to the recording task, gathered into one message.

Reports are gathered over ``INFERENCE_RECORD_DELAY_MS``: one message (and one transaction
on the web side) then covers every flush of that window. Delayed outcomes are safe:
callers already have them from the result backend, and if the worker dies first the
reconciler re-sends the job, whose finished outcome the next worker records again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings

from ..results import PUBLISH_RETRY_POLICY
from .jobs import Outcome

logger = logging.getLogger(__name__)

# ``schedule(seconds, callback)``: the worker's event-loop timer.
Schedule = Callable[[float, Callable[[], None]], object]

# Past this many outcomes waiting, they go at once.
RECORD_MAX_OUTCOMES = 512
# Seconds before outcomes that could not be sent are tried again.
RECORD_RETRY_SECONDS = 1.0


def send(outcomes: list[Outcome]) -> None:
    """One message to the recording task (raises if the broker refuses it)."""
    from ..tasks import record

    record.apply_async(args=(outcomes,), retry_policy=PUBLISH_RETRY_POLICY)


class Reports:
    """Outcomes not yet sent, and the timer that sends them.

    Without a timer (a direct call, a test) every report goes at once. The timer may run
    its callbacks in a thread of its own (transports without an event loop), hence the lock.
    """

    def __init__(self) -> None:
        self.waiting: list[Outcome] = []
        self._schedule: Schedule | None = None
        self._due = False
        self._lock = threading.Lock()

    def use_timer(self, schedule: Schedule) -> None:
        """Let ``schedule`` delay sending (the worker's event loop).

        Called again after every reconnect: the event loop drops its timers with the old
        connection, so a report that was due is scheduled anew on the new timer.
        """
        with self._lock:
            self._schedule = schedule
            self._due = bool(self.waiting)
        if self._due:
            schedule(settings.INFERENCE_RECORD_DELAY_MS / 1000, self.flush)

    def add(self, outcomes: list[Outcome]) -> None:
        """Queue ``outcomes`` for the next message; sends at once without a timer, with no
        delay set, or when enough are waiting."""
        if not outcomes:
            return
        delay = settings.INFERENCE_RECORD_DELAY_MS / 1000
        with self._lock:
            self.waiting.extend(outcomes)
            now = self._schedule is None or delay <= 0 or len(self.waiting) >= RECORD_MAX_OUTCOMES
            later = not now and not self._due
            self._due = self._due or later
        if now:
            self.flush()
        elif later and self._schedule is not None:
            self._schedule(delay, self.flush)

    def flush(self) -> None:
        """Send every outcome not yet sent (also at worker shutdown).

        If the broker refuses the message, the outcomes go back to the front and are tried
        again ``RECORD_RETRY_SECONDS`` later; the error propagates only without a timer (a
        direct call, or shutdown), where the reconciler takes over.
        """
        with self._lock:
            self._due = False
            outcomes = list(self.waiting)
            self.waiting.clear()
        if not outcomes:
            return
        try:
            send(outcomes)
        except Exception:
            if not self._keep_for_retry(outcomes):
                raise
            logger.warning("could not send %d outcomes to the recording task; retrying", len(outcomes), exc_info=True)

    def _keep_for_retry(self, outcomes: list[Outcome]) -> bool:
        """Put ``outcomes`` back in front and have the timer try again; False without a timer."""
        with self._lock:
            self.waiting[:0] = outcomes
            schedule = self._schedule
            arm = schedule is not None and not self._due
            self._due = self._due or arm
        if schedule is None:
            return False
        if arm:
            schedule(RECORD_RETRY_SECONDS, self.flush)
        return True
