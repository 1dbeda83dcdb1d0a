"""kombu's file-system transport, made safe to read while written and woken, not polled.

Set as ``broker_transport`` with a ``filesystem://`` URL (the transport's name stays
``filesystem``). Changes from kombu's:

- A message is written under a name no consumer reads, then renamed into place: kombu
  writes the final file in place, and a consumer that lists it mid-write reads half a
  message (``JSONDecodeError``; the worker exits).
- Names sort in the order messages were published, to the nanosecond.
- A consumer claims a message by renaming it inside the queue folder (atomic; kombu moves
  it to the system's temporary folder, a copy when that is another file system) and skips
  a file that is not a message, with an error in the log, instead of exiting.
- A consumer with nothing to read waits on a FIFO (``wakeup``) under the queue folder's
  ``.wake/``, which every publisher notifies, instead of sleeping ``polling_interval``
  between scans; it still scans every ``wake_backstop`` seconds (default 1). An
  acknowledgement wakes it as well, since it may have stopped taking messages at its
  prefetch limit. Without FIFOs (Windows), or with the transport option ``wake`` set
  to False, it polls every ``polling_interval`` seconds as kombu does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from queue import Empty
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

from . import wakeup

logger = logging.getLogger(__name__)

WAKE_FOLDER = ".wake"
WAKE_PREFIX = "consumer"
# The stubs describe kombu's abstract channel and transport, not the file-system ones
# (other signatures, attributes missing): the bases are untyped here.
_FilesystemChannel: Any = filesystem.Channel
_FilesystemTransport: Any = filesystem.Transport
_ChannelError: Any = filesystem.ChannelError  # type: ignore[attr-defined]  # re-exported by kombu, not by its stubs


class Channel(_FilesystemChannel):
    connection: Transport

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        folder = self.data_folder_out
        # Consumers take files in name order: nanoseconds, padded to sort as numbers (kombu
        # names them by the millisecond, so two in one millisecond come in random order).
        name = f"{time.monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(folder, f".{uuid.uuid4().hex}.partial")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(folder, name))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise _ChannelError(f"Cannot add file {name!r} to directory") from exc
        wakeup.notify(os.path.join(folder, WAKE_FOLDER), WAKE_PREFIX)

    def _get(self, queue: str) -> Any:
        if self.store_processed:
            return super()._get(queue)
        folder = self.data_folder_in
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(folder, f".{uuid.uuid4().hex}.claimed")
            try:
                os.rename(os.path.join(folder, name), claimed)
            except OSError:
                continue  # another consumer took it
            try:
                with open(claimed, "rb") as file:
                    payload = file.read()
            except OSError as exc:
                raise _ChannelError(f"Cannot read file {name!r} from queue.") from exc
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(claimed)
            try:
                return loads(bytes_to_str(payload))
            except ValueError:
                logger.error("dropped %s from queue %s: not a message (%d bytes)", name, queue, len(payload))
        raise Empty()

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple=multiple)
        self.connection.wake()

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        super().basic_reject(delivery_tag, requeue=requeue)
        self.connection.wake()


class Transport(_FilesystemTransport):
    Channel = Channel
    _waker: wakeup.Waker | None = None
    _waker_failed = False

    def _consumer_waker(self) -> wakeup.Waker | None:
        """This connection's FIFO, made the first time it waits (producers never do)."""
        if self._waker is None and not self._waker_failed:
            options = self.client.transport_options
            folder = os.path.join(options.get("data_folder_in", "data_in"), WAKE_FOLDER)
            if options.get("wake", True) and wakeup.supported():
                try:
                    self._waker = wakeup.Waker(folder, WAKE_PREFIX)
                except OSError:
                    logger.warning("cannot make a FIFO under %s: polling the queue folder", folder, exc_info=True)
            self._waker_failed = self._waker is None
        return self._waker

    def wake(self) -> None:
        if self._waker is not None:
            self._waker.wake()

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        waker = self._consumer_waker()
        if waker is None:
            super().drain_events(connection, timeout=timeout)
            return
        backstop = float(self.client.transport_options.get("wake_backstop", 1.0))
        started = time.monotonic()
        while True:
            # Consume the notifications first: one that arrives after the scan below
            # stays in the pipe and ends the wait at once.
            waker.clear()
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                pass
            waited = time.monotonic() - started
            if timeout is not None and waited >= timeout:
                raise TimeoutError()
            waker.wait(backstop if timeout is None else min(backstop, timeout - waited))

    def close_connection(self, connection: Any) -> None:
        super().close_connection(connection)
        if self._waker is not None:
            self._waker.close()
            self._waker = None
