"""The model registry: models, their versions (artifacts, metrics, cards) and training runs.

JSON shapes (validated by ``apps.mlmodels.schemas``):
- ``MLModel.labels``: ordered list of unique non-empty label names; index i is logit i.
- ``MLModel.example_inputs``: list of short example texts.
- ``ModelVersion.metrics``: ``{"accuracy": float, "macro_f1": float, "per_label":
  {label: {"precision", "recall", "f1", "support"}}, "confusion_matrix": [[int]]
  (rows = true label, columns = predicted, in label order), "eval_examples": int,
  "history": [{"step", "epoch", "train_loss", "eval_accuracy"?}], "test": {same keys}?}``
- ``ModelVersion.training_data``: ``{"train": {"path", "examples", "label_counts"},
  "eval": {...}, "test": {...}?}``
- ``ModelVersion.hyperparameters``: the training command's settings, as run.
- ``ModelVersion.variants``: measured variants of the artifact, ``{}`` until one is built.
  ``{"int8": {"accuracy": float, "accuracy_fp32": float, "loss_points": float,
  "agreement": float, "eval_examples": int, "eval_data": str, "batch": 32,
  "sentences_per_s_fp32": float, "sentences_per_s_int8": float, "speedup_b32": float,
  "torch": str, "measured_at": ISO 8601}}``: both accuracies measured in the same run on
  the same examples; ``loss_points`` = (fp32 - int8) x 100 (negative when int8 does
  better); ``agreement`` the share of examples with the same label. Written by
  ``services.model_version_quantize`` only. Kept apart from ``metrics`` because the queue
  reads it (``selectors.QUEUE_FIELDS``) and metrics can be large.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel


class Task(models.TextChoices):
    TEXT_CLASSIFICATION = "text-classification", _("Text classification")


class MLModel(BaseModel):
    slug = models.SlugField(_("id"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    task = models.CharField(_("task"), max_length=40, choices=Task.choices, default=Task.TEXT_CLASSIFICATION)
    labels = models.JSONField(_("labels"), default=list)
    description = models.CharField(_("one-line summary"), max_length=240, blank=True)
    example_inputs = models.JSONField(_("example inputs"), default=list, blank=True)

    class Meta:
        verbose_name = _("model")
        verbose_name_plural = _("models")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("mlmodels:detail", kwargs={"slug": self.slug})


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    DEPRECATED = "deprecated", _("Deprecated")
    RETIRED = "retired", _("Retired")


# A version answers requests in these states; deprecated ones answer with a warning.
SERVING_STATUSES = (VersionStatus.PUBLISHED, VersionStatus.DEPRECATED)

# A version's int8 variant may serve only when it loses less than this many accuracy points
# (percentage points) against fp32 on the version's evaluation data.
INT8_MAX_LOSS_POINTS = 0.5


class ModelVersion(BaseModel):
    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    artifact_dir = models.CharField(
        _("artifact directory"), max_length=500, help_text=_("Relative to MODEL_ARTIFACTS_DIR, or absolute.")
    )
    base_encoder = models.CharField(_("base encoder"), max_length=200)
    max_length = models.PositiveIntegerField(_("maximum tokens"), default=128)
    training_data = models.JSONField(_("training data"), default=dict, blank=True)
    hyperparameters = models.JSONField(_("hyper-parameters"), default=dict, blank=True)
    metrics = models.JSONField(_("evaluation metrics"), default=dict, blank=True)
    variants = models.JSONField(_("measured variants"), default=dict, blank=True)
    model_card = models.TextField(_("model card (Markdown)"), blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    deprecated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["model__slug", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="modelversion_unique_per_model"),
            models.CheckConstraint(
                condition=models.Q(status__in=VersionStatus.values), name="modelversion_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.slug} v{self.version}"

    @property
    def artifact_path(self) -> Path:
        path = Path(self.artifact_dir)
        return path if path.is_absolute() else Path(settings.MODEL_ARTIFACTS_DIR) / path

    @property
    def is_serving(self) -> bool:
        return self.status in SERVING_STATUSES

    @property
    def int8(self) -> dict[str, Any]:
        """The measured int8 variant (see ``variants``), or ``{}`` when none was built."""
        found = (self.variants or {}).get("int8")
        return found if isinstance(found, dict) else {}

    @property
    def int8_eligible(self) -> bool:
        """Whether the int8 variant may serve: measured, and losing less than
        ``INT8_MAX_LOSS_POINTS`` (workers decide the rest, ``runtime.serving_variant``)."""
        loss = self.int8.get("loss_points")
        return isinstance(loss, int | float) and loss < INT8_MAX_LOSS_POINTS

    def get_absolute_url(self) -> str:
        return reverse("mlmodels:version", kwargs={"slug": self.model.slug, "version": self.version})


class TrainingStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class TrainingRun(BaseModel):
    """One fine-tuning run, started from the admin (a Celery task) or the command line."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(_("model id"), max_length=60)
    params = models.JSONField(_("parameters"), default=dict)
    status = models.CharField(max_length=12, choices=TrainingStatus.choices, default=TrainingStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=300, blank=True)
    log = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=1), name="trainingrun_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slug} {self.created_at:%Y-%m-%d %H:%M}"
