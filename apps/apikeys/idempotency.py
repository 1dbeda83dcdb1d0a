"""Idempotency-Key records: the same key and body within a day return the same job.

The record is written in the transaction that writes its job, so a job and its record
exist together or not at all; a parallel request with the same key loses on the unique
constraint and replays the winner's job.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from apps.core.errors import IdempotencyConflict

from .models import IdempotencyRecord

if TYPE_CHECKING:
    from apps.inference.models import InferenceJob

IDEMPOTENCY_WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 200


def idempotency_body_hash(*, model: str, inputs: list[str], version: int | None) -> str:
    """The fingerprint of a classify body (``version`` counts only when sent)."""
    canonical: dict[str, Any] = {"model": model, "inputs": inputs}
    if version is not None:  # absent: the same hash as before `version` existed
        canonical["version"] = version
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def idempotency_job_replay(*, subject: str, key: str, body_hash: str) -> InferenceJob | None:
    """The job an earlier request with ``key`` created, or None (none, or older than a
    day: that record is dropped). Raises ``IdempotencyConflict`` for another body."""
    record = (
        IdempotencyRecord.objects.select_related("job__model_version__model").filter(subject=subject, key=key).first()
    )
    if record is None:
        return None
    if record.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
        record.delete()
        return None
    if record.body_hash != body_hash:
        raise IdempotencyConflict("This Idempotency-Key was used with a different body in the last 24 hours.")
    return record.job


def idempotency_record_create(*, subject: str, key: str, body_hash: str, job: Any) -> IdempotencyRecord:
    """Raises ``IntegrityError`` when a parallel request took ``key`` first."""
    return IdempotencyRecord.objects.create(subject=subject, key=key, body_hash=body_hash, job=job)
