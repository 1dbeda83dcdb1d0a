"""The playground's history: one ``Run`` per submission a signed-in developer made.

A run links its owner to the inference job(s) the public API created for it (a second
job when two models or versions were compared on the same inputs). ``first_input`` and
``input_count`` are copied from the job so the history list never loads every input.
``share_token`` names the run's read-only page; others may open that page only while
``shared`` is on. Visitors without an account have no history (their jobs are kept in
their session by the API).
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel
from apps.inference.models import InferenceJob

FIRST_INPUT_CHARS = 200


def new_share_token() -> str:
    return secrets.token_urlsafe(18)


class Run(BaseModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playground_runs")
    job = models.ForeignKey(InferenceJob, on_delete=models.CASCADE, related_name="playground_runs")
    compare_job = models.ForeignKey(
        InferenceJob, null=True, blank=True, on_delete=models.CASCADE, related_name="playground_compared_runs"
    )
    first_input = models.CharField(_("first input"), max_length=FIRST_INPUT_CHARS)
    input_count = models.PositiveSmallIntegerField(_("inputs"))
    share_token = models.CharField(max_length=32, unique=True, default=new_share_token, editable=False)
    shared = models.BooleanField(_("shared"), default=False)
    shared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("playground run")
        verbose_name_plural = _("playground runs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="playground_run_owner_recent")]
        constraints = [
            models.UniqueConstraint(fields=["owner", "job"], name="playground_run_one_per_job"),
            models.CheckConstraint(
                condition=Q(input_count__gte=1) & Q(input_count__lte=32), name="playground_run_input_count"
            ),
            models.CheckConstraint(
                condition=Q(compare_job__isnull=True) | ~Q(compare_job=F("job")),
                name="playground_run_compares_another_job",
            ),
            models.CheckConstraint(
                condition=Q(shared=False) | Q(shared_at__isnull=False), name="playground_run_shared_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("playground:run", kwargs={"token": self.share_token})
