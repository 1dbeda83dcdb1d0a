"""What a forum action can fail with, besides ``PermissionDenied`` (role or ownership)
and ``Http404`` (the viewer may not see the object). Each message is for the member."""

from __future__ import annotations


class ForumError(Exception):
    """An action that is not possible in the current state; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PostingLimited(ForumError):
    """A posting limit was hit (new member, rate, duplicate, slow mode)."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidInput(ForumError):
    """Something in the submitted form is not acceptable (empty, too long, bad tag)."""
