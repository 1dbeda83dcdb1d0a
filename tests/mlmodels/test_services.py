"""The registry's services: version numbers, the status life cycle, training runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from apps.mlmodels.models import MLModel, ModelVersion, TrainingRun, TrainingStatus, VersionStatus
from apps.mlmodels.services import (
    InvalidTransition,
    LabelsMismatch,
    model_version_deprecate,
    model_version_publish,
    model_version_register,
    model_version_retire,
    training_run_execute,
    training_run_start,
)
from apps.mlmodels.tasks import train as train_task

from . import demo_rows, write_rows

pytestmark = pytest.mark.django_db


def _register(slug: str = "sentiment", labels: list[str] | None = None, **extra) -> ModelVersion:
    return model_version_register(
        slug=slug,
        name=extra.pop("name", "Sentiment"),
        labels=labels or ["negative", "positive"],
        artifact_dir=extra.pop("artifact_dir", f"{slug}/v0"),
        base_encoder="sentence-transformers/all-MiniLM-L6-v2",
        max_length=64,
        training_data={},
        hyperparameters={"epochs": 1},
        metrics={"accuracy": 0.5},
        model_card="# Sentiment",
        **extra,
    )


def test_registering_creates_the_model_once_and_numbers_versions_per_model():
    first = _register(description="Positive or negative?", example_inputs=["great", "awful"])
    second = _register()
    other = _register(slug="topics", labels=["world", "sports"])
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.status == second.status == VersionStatus.DRAFT
    model = MLModel.objects.get(slug="sentiment")
    assert model.labels == ["negative", "positive"]
    assert model.description == "Positive or negative?"
    assert model.example_inputs == ["great", "awful"]
    assert model.versions.count() == 2


def test_a_version_with_other_labels_or_another_label_order_is_refused_clearly():
    _register()
    with pytest.raises(LabelsMismatch, match=r"has the labels \['negative', 'positive'\]"):
        _register(labels=["positive", "negative"])
    with pytest.raises(LabelsMismatch):
        _register(labels=["negative", "neutral", "positive"])
    assert ModelVersion.objects.count() == 1


@pytest.mark.parametrize("labels", [["only"], ["a", "a"], ["a", ""]])
def test_labels_must_be_two_or_more_unique_names(labels):
    with pytest.raises(ValidationError, match="at least two unique"):
        _register(labels=labels)
    assert not MLModel.objects.exists()


def test_a_version_goes_from_draft_to_published_to_deprecated_to_retired_with_timestamps():
    version = _register()
    model_version_publish(version=version)
    assert version.status == VersionStatus.PUBLISHED
    assert version.published_at
    model_version_deprecate(version=version)
    assert version.status == VersionStatus.DEPRECATED
    assert version.deprecated_at
    model_version_retire(version=version)
    version.refresh_from_db()
    assert version.status == VersionStatus.RETIRED
    assert version.published_at <= version.deprecated_at <= version.retired_at


def test_a_published_version_can_be_retired_directly():
    version = _register()
    model_version_publish(version=version)
    model_version_retire(version=version)
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.RETIRED


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ([], model_version_deprecate),
        ([], model_version_retire),
        ([model_version_publish], model_version_publish),
        ([model_version_publish, model_version_deprecate], model_version_publish),
        ([model_version_publish, model_version_retire], model_version_publish),
        ([model_version_publish, model_version_retire], model_version_deprecate),
        ([model_version_publish, model_version_retire], model_version_retire),
    ],
)
def test_every_other_status_change_raises_invalid_transition_and_changes_nothing(path, action):
    version = _register()
    for step in path:
        step(version=version)
    before = ModelVersion.objects.get(pk=version.pk).status
    with pytest.raises(InvalidTransition, match=rf"is {before}: only a"):
        action(version=version)
    assert ModelVersion.objects.get(pk=version.pk).status == before


def test_a_run_with_a_bad_file_fails_before_anything_is_recorded_or_queued(
    tmp_path, admin_user, django_capture_on_commit_callbacks
):
    params = {"slug": "demo", "train_path": str(tmp_path / "missing.tsv"), "epochs": 1}
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError) as excinfo:
        training_run_start(params=params, actor=admin_user)
    assert "missing.tsv: no such file" in excinfo.value.messages[0]
    one_class = write_rows(tmp_path / "one.tsv", [("fine", "positive"), ("good", "positive")])
    with django_capture_on_commit_callbacks() as more, pytest.raises(ValidationError, match="every training example"):
        training_run_start(params={"slug": "demo", "train_path": str(one_class)}, actor=admin_user)
    with pytest.raises(ValidationError, match="unknown training parameter"):
        training_run_start(params={"slug": "demo", "train_path": str(one_class), "shell": "rm"}, actor=admin_user)
    assert callbacks == more == []
    assert not TrainingRun.objects.exists()


def test_a_started_run_is_queued_after_commit_and_the_task_body_records_progress_and_the_version(
    tmp_path, settings, admin_user, django_capture_on_commit_callbacks
):
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    train = write_rows(tmp_path / "train.tsv", demo_rows(0, 48))
    evaluation = write_rows(tmp_path / "eval.tsv", demo_rows(48, 72))
    params = {
        "slug": "tiny-sentiment",
        "name": "Tiny",
        "train_path": str(train),
        "eval_path": str(evaluation),
        "epochs": 1,
        "batch_size": 16,
        "max_length": 32,
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = training_run_start(params=params, actor=admin_user)
    assert len(callbacks) == 1
    assert run.status == TrainingStatus.QUEUED
    assert run.created_by == admin_user
    json.dumps(run.params)  # the task's input is JSON only

    # The callback sends the ``mlmodels.train`` message (tests/mlmodels/test_tasks.py sends
    # it to a real worker); here the task runs in-process with ``apply``, which leaves the
    # app's configuration alone (an eager mode switched on here leaked into later tests).
    sent = train_task.apply(args=[str(run.id)])
    finished = TrainingRun.objects.get(pk=run.pk)
    assert finished.status == TrainingStatus.SUCCEEDED, finished.message + finished.log
    assert sent.get() == {"run": str(run.id), "status": "succeeded", "version": finished.version_id}
    assert finished.progress == 1.0
    assert finished.version.model.slug == "tiny-sentiment"
    assert finished.version.status == VersionStatus.DRAFT
    assert "registered tiny-sentiment v1 (draft)" in finished.message
    assert finished.started_at <= finished.finished_at
    assert "eval accuracy" in finished.log
    assert (Path(settings.MODEL_ARTIFACTS_DIR) / "tiny-sentiment" / "v1" / "model.safetensors").is_file()
    # A redelivered message finds the run no longer queued and does nothing.
    assert train_task.apply(args=[str(run.id)]).get() == {"run": str(run.id), "status": "skipped"}
    assert ModelVersion.objects.count() == 1


def test_a_run_whose_file_disappears_after_queueing_is_recorded_as_failed(tmp_path, settings, admin_user):
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    train = write_rows(tmp_path / "train.tsv", demo_rows(0, 40))
    run = training_run_start(params={"slug": "gone", "train_path": str(train)}, actor=admin_user)
    train.unlink()
    finished = training_run_execute(run_id=str(run.id))
    assert finished.status == TrainingStatus.FAILED
    assert finished.message.startswith("failed: ")
    assert "train.tsv: no such file" in finished.message
    assert finished.finished_at
    assert finished.version is None
    assert not Path(settings.MODEL_ARTIFACTS_DIR).exists()
