"""Read markers: how far a member has read each thread."""

from __future__ import annotations

from typing import Any

from ..models import Thread, ThreadRead


def thread_read_mark(*, user: Any, thread: Thread, number: int, known: int | None = -1) -> None:
    """Record that ``user`` has read ``thread`` up to post ``number`` (never backwards).

    ``known`` is the marker already loaded with the thread (None: no row yet; -1: not
    loaded), which saves a query on every page view.
    """
    if user is None or not getattr(user, "is_authenticated", False) or number <= 0:
        return
    if known is None:
        ThreadRead.objects.bulk_create(
            [ThreadRead(user=user, thread=thread, last_read_number=number)], ignore_conflicts=True
        )
        return
    if known == -1 or known < number:
        updated = ThreadRead.objects.filter(user=user, thread=thread, last_read_number__lt=number).update(
            last_read_number=number
        )
        if not updated and known == -1:
            ThreadRead.objects.bulk_create(
                [ThreadRead(user=user, thread=thread, last_read_number=number)], ignore_conflicts=True
            )
