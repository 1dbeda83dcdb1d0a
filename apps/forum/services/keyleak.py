"""The key-leak guard: a post that contains one of this portal's API keys (found offline
by ``apps.apikeys.keyformat.find_keys``, which checks the key's checksum) is held, not
published; the secret part is redacted before anything is stored; the key is revoked;
the author is told why. A moderator releases the redacted post from the review queue.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from apps.apikeys.services import apikey_revoke_leaked

from ..models import Post
from .audit import audit_record
from .notifications import notify_moderation

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)


def leaked_keys_revoke(*, key_ids: list[str], source: str) -> list[str]:
    """Revoke each key through the API-key service; returns the ids it revoked (a key id
    this portal never issued is skipped). A failing revocation is logged and does not undo
    the hold.
    """
    revoked: list[str] = []
    for key_id in key_ids:
        try:
            with transaction.atomic():
                key = apikey_revoke_leaked(key_id=key_id, source=source)
        except Exception:
            logger.exception("revoking leaked API key %s (source %s) failed", key_id, source)
        else:
            if key is not None:
                revoked.append(key_id)
    return revoked


def key_leak_handle(*, post: Post, key_ids: list[str], author: User | None, already_held: bool = False) -> None:
    """Record, revoke and tell the author. ``post`` is already stored held and redacted."""
    source = f"forum:post:{post.pk}"
    revoked = leaked_keys_revoke(key_ids=key_ids, source=source)
    audit_record(
        actor=None,
        action="post.hold",
        target=post,
        reason="API key in post",
        before={},
        after={"held_reason": "api_key", "key_ids": key_ids, "revoked": revoked},
    )
    if already_held:
        return
    ids = ", ".join(f"pk_{key_id}" for key_id in key_ids)
    notify_moderation(
        user=author,
        actor=None,
        thread=post.thread,
        post=post,
        message=_(
            "Your post was held because it contained an API key (%(ids)s). To protect your account the key "
            "has been revoked and removed from the post; create a new key on the API keys page. "
            "A moderator will review the post and publish it."
        )
        % {"ids": ids},
    )
