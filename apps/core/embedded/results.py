"""Celery's file-system result store, written whole and waited on without polling.

Configured as ``apps.core.embedded.results:FilesystemBackend+file:///path`` (Celery's
``module:Class+URL`` form). Changes from Celery's ``FilesystemBackend``:

- A result is written under another name and renamed into place, so a reader never sees
  half of one (Celery writes the final file in place).
- A caller waiting for a task's result (``AsyncResult.get``) waits on a FIFO of its own
  under the store's ``.wake/`` folder, which storing that task's result notifies; the
  store is still read at least every ``backstop`` seconds, or every ``interval`` seconds
  where FIFOs are missing (Windows), as Celery does.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from typing import Any

from celery import states
from celery.backends import filesystem
from celery.exceptions import TimeoutError as CeleryTimeoutError
from kombu.utils.encoding import ensure_bytes

from . import wakeup

WAKE_FOLDER = b".wake"


# The stubs lack the file store's attributes (path, open, _filename): the base is untyped here.
_FilesystemBackend: Any = filesystem.FilesystemBackend


class FilesystemBackend(_FilesystemBackend):
    # A waiter reads the store this often even when no notification comes.
    backstop = 1.0

    @property
    def wake_folder(self) -> bytes:
        return os.path.join(self.path, WAKE_FOLDER)

    def set(self, key: bytes, value: Any) -> None:
        target = self._filename(key)
        partial = os.path.join(self.path, b".%s.partial" % uuid.uuid4().hex.encode())
        try:
            with self.open(partial, "wb") as outfile:
                outfile.write(ensure_bytes(value))
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
        wakeup.notify(self.wake_folder, os.fsdecode(key))

    def wait_for(
        self,
        task_id: str,
        timeout: float | None = None,
        interval: float = 0.5,
        no_ack: bool = True,
        on_interval: Any = None,
    ) -> Any:
        """Celery's ``wait_for``: the task's meta once it is ready; raises Celery's
        ``TimeoutError`` after ``timeout`` seconds (none or 0: no limit)."""
        self._ensure_not_eager()
        waker = None
        if wakeup.supported():
            key = os.fsdecode(self.get_key_for_task(task_id))
            try:
                waker = wakeup.Waker(os.fsdecode(self.wake_folder), key)
            except OSError:
                waker = None
        started = time.monotonic()
        try:
            while True:
                meta = self.get_task_meta(task_id)
                if meta["status"] in states.READY_STATES:
                    return meta
                if on_interval:
                    on_interval()
                pause = interval if waker is None else self.backstop
                if timeout:
                    left = timeout - (time.monotonic() - started)
                    if left <= 0:
                        raise CeleryTimeoutError("The operation timed out.")
                    pause = min(pause, left)
                if waker is None:
                    time.sleep(pause)
                else:
                    waker.wait(pause)
        finally:
            if waker is not None:
                waker.close()
