"""Read markers: how far a member has read each thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import Thread, ThreadRead

if TYPE_CHECKING:
    from apps.accounts.models import User


def thread_read_mark(*, user: User | None, thread: Thread, number: int, known: int | None = -1) -> None:
    """Record that ``user`` has read ``thread`` up to post ``number`` (never backwards).

    ``known`` is the marker already loaded with the thread (None: no row yet; -1: not
    loaded), which saves a query on every page view.
    """
    if user is None or number <= 0:
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
