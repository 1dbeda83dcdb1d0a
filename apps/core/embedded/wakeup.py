"""Wake-ups between processes through named pipes (FIFOs) in a folder: no server, no polling.

A ``Waker`` is a FIFO that one waiter reads, named ``<prefix>.<random>.fifo``; ``notify``
writes a byte to every FIFO of a prefix in a folder. A byte written while nobody waits
stays in the pipe, so a notification sent between a waiter's last check and its wait is
never lost. A FIFO whose process is gone has no reader any more: the next ``notify``
removes it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)

SUFFIX = ".fifo"


def supported() -> bool:
    """Whether this platform has named pipes (POSIX; not Windows)."""
    return hasattr(os, "mkfifo")


class Waker:
    """A FIFO in ``folder`` that this process waits on.

    Raises ``OSError`` when the FIFO cannot be made (callers fall back to polling).
    """

    def __init__(self, folder: str | os.PathLike[str], prefix: str) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{prefix}.{uuid.uuid4().hex}"
        building = folder / f".{name}.new"
        os.mkfifo(building, 0o600)
        opened: list[int] = []
        try:
            opened.append(os.open(building, os.O_RDONLY | os.O_NONBLOCK))
            # Our own writer: with none left, a FIFO reads as closed (always readable).
            opened.append(os.open(building, os.O_WRONLY | os.O_NONBLOCK))
            # Named for notifiers only once it has a reader: they take a FIFO without one
            # for a dead process's and remove it.
            self.path = folder / f"{name}{SUFFIX}"
            os.rename(building, self.path)
        except OSError:
            building.unlink(missing_ok=True)
            for fd in opened:
                os.close(fd)
            raise
        self._read, self._write = opened
        self._poll = select.poll() if hasattr(select, "poll") else None
        if self._poll is not None:
            self._poll.register(self._read, select.POLLIN)

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a notification; True when one came. Each
        notification received so far is consumed."""
        if self._poll is not None:
            ready = bool(self._poll.poll(max(timeout, 0) * 1000))
        else:
            ready = bool(select.select([self._read], [], [], max(timeout, 0))[0])
        if ready:
            self.clear()
        return ready

    def clear(self) -> None:
        """Consume the notifications received so far without waiting."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                pass

    def wake(self) -> None:
        """Notify this waiter from its own process (another thread)."""
        # A full pipe holds notifications enough: the waiter wakes anyway.
        with contextlib.suppress(BlockingIOError):
            os.write(self._write, b"\0")

    def close(self) -> None:
        self.path.unlink(missing_ok=True)
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)


def notify(folder: str | os.PathLike[str] | bytes, prefix: str) -> int:
    """Wake every waiter of ``prefix`` in ``folder``; returns how many. Never raises: a
    lost notification costs a waiter its fallback poll, not an error."""
    folder = os.fsdecode(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    woken = 0
    for name in names:
        if not (name.endswith(SUFFIX) and name.startswith(prefix + ".")):
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no reader: its process is gone
                with contextlib.suppress(OSError):
                    os.unlink(path)
            continue
        try:
            os.write(fd, b"\0")
            woken += 1
        except BlockingIOError:
            woken += 1  # full of notifications already
        except OSError:
            logger.debug("could not notify %s", path, exc_info=True)
        finally:
            os.close(fd)
    return woken
