"""Inference jobs: the row is the source of truth; queue messages only nudge workers.

``inputs``: list of 1..32 strings. ``results``: one ``{"label", "score", "scores":
{label: p}, "truncated"}`` per input, in input order. ``error``: ``{"type", "detail"}``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel
from apps.mlmodels.models import ModelVersion


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobSource(models.TextChoices):
    API = "api", _("API")
    PLAYGROUND = "playground", _("Playground")
    INTERNAL = "internal", _("Internal")


class InferenceJob(BaseModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="inference_jobs"
    )
    api_key = models.ForeignKey("apikeys.APIKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    source = models.CharField(max_length=12, choices=JobSource.choices, default=JobSource.API)
    # Who pays ("key:<id>", "user:<id>", "ip:<address>"): whose slot among jobs in flight
    # the job holds until its outcome is stored (apps/inference/inflight.py).
    subject = models.CharField(max_length=80, blank=True, default="")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="jobs")
    inputs = models.JSONField()
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    results = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    inference_ms = models.FloatField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the reconciler last sent this job to the queue (it re-sends stuck jobs).
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        indexes = [
            models.Index(fields=["status", "enqueued_at"], name="job_status_enqueued"),
            models.Index(fields=["owner", "-queued_at"], name="job_owner_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=JobStatus.values), name="job_status_valid"),
            models.CheckConstraint(
                condition=~models.Q(status=JobStatus.SUCCEEDED) | models.Q(results__isnull=False),
                name="job_succeeded_has_results",
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    @property
    def queued_ms(self) -> float | None:
        if self.started_at is None:
            return None
        return round(max((self.started_at - self.queued_at).total_seconds() * 1000, 0.0), 1)

    @property
    def total_ms(self) -> float | None:
        if self.finished_at is None:
            return None
        return round(max((self.finished_at - self.queued_at).total_seconds() * 1000, 0.0), 1)
