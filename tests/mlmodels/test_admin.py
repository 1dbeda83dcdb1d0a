"""The registry's admin: life-cycle actions, metrics pages, starting and following training runs."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.mlmodels.models import ModelVersion, TrainingRun, TrainingStatus, VersionStatus
from apps.mlmodels.services import model_version_register

from . import demo_rows, write_rows

pytestmark = pytest.mark.django_db

METRICS = {
    "accuracy": 0.75,
    "macro_f1": 0.74,
    "per_label": {
        "negative": {"precision": 0.8, "recall": 0.6, "f1": 0.69, "support": 10},
        "positive": {"precision": 0.7, "recall": 0.9, "f1": 0.79, "support": 10},
    },
    "confusion_matrix": [[6, 4], [1, 9]],
    "eval_examples": 20,
    "history": [{"step": 5, "epoch": 1.0, "train_loss": 0.6, "eval_accuracy": 0.75}],
}


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _version() -> ModelVersion:
    return model_version_register(
        slug="sentiment", name="Sentiment", labels=["negative", "positive"], artifact_dir="sentiment/v1",
        base_encoder="all-MiniLM-L6-v2", max_length=64, training_data={}, hyperparameters={"epochs": 1},
        metrics=METRICS, model_card="# Sentiment <b>card</b>",
    )  # fmt: skip


def _action(client, action: str, version: ModelVersion):
    url = reverse("admin:mlmodels_modelversion_changelist")
    return client.post(url, {"action": action, "_selected_action": [version.pk]}, follow=True)


def test_admins_publish_then_deprecate_a_version_and_an_invalid_move_shows_an_error(staff_client):
    version = _version()
    response = _action(staff_client, "publish", version)
    assert "1 version published." in response.content.decode()
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.PUBLISHED
    response = _action(staff_client, "publish", version)
    assert "is published: only a draft version can be published" in response.content.decode()
    _action(staff_client, "deprecate", version)
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.DEPRECATED


def test_publishing_deprecating_and_retiring_are_logged_with_the_staff_member(staff_client, admin_user):
    from django.contrib.admin.models import LogEntry

    version = _version()
    for action in ("publish", "deprecate", "retire"):
        _action(staff_client, action, version)
    _action(staff_client, "publish", version)  # refused: not logged
    entries = LogEntry.objects.filter(object_id=str(version.pk)).order_by("action_time", "pk")
    assert [entry.get_change_message() for entry in entries] == [
        "Status changed from draft to published.",
        "Status changed from published to deprecated.",
        "Status changed from deprecated to retired.",
    ]
    assert {entry.user for entry in entries} == {admin_user}
    assert {entry.object_repr for entry in entries} == {str(version)}


def test_the_version_page_shows_metrics_charts_and_an_escaped_card(staff_client):
    version = _version()
    page = staff_client.get(reverse("admin:mlmodels_modelversion_change", args=[version.pk])).content.decode()
    assert 'role="img"' in page
    assert "macro-F1 0.740" in page
    assert "&lt;b&gt;card&lt;/b&gt;" in page
    assert " style=" not in page.split("<body", 1)[1]


def test_the_run_list_shows_a_progress_element_and_a_start_link(staff_client, admin_user):
    TrainingRun.objects.create(
        slug="sst2", params={}, status=TrainingStatus.RUNNING, progress=0.42, created_by=admin_user
    )
    page = staff_client.get(reverse("admin:mlmodels_trainingrun_changelist")).content.decode()
    assert '<progress value="42" max="100"' in page
    assert reverse("admin:mlmodels_trainingrun_start") in page
    assert "reload this page to update" in page


def test_a_running_run_page_refreshes_itself_and_a_finished_one_does_not(staff_client, admin_user):
    run = TrainingRun.objects.create(slug="sst2", params={}, status=TrainingStatus.RUNNING, created_by=admin_user)
    url = reverse("admin:mlmodels_trainingrun_change", args=[run.pk])
    assert '<meta http-equiv="refresh" content="5">' in staff_client.get(url).content.decode()
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingStatus.SUCCEEDED, progress=1.0)
    assert "http-equiv" not in staff_client.get(url).content.decode()


def test_starting_a_run_from_the_admin_checks_the_files_and_queues_it(
    staff_client, tmp_path, django_capture_on_commit_callbacks
):
    url = reverse("admin:mlmodels_trainingrun_start")
    assert staff_client.get(reverse("admin:mlmodels_trainingrun_add")).url == url
    form = {"slug": "tiny", "epochs": 1, "batch_size": 16, "lr": 1e-4, "max_length": 32, "patience": 2}
    form |= {"seed": 1, "device": "cpu", "max_minutes": 5}
    bad = staff_client.post(url, {**form, "train_path": str(tmp_path / "none.tsv")})
    assert bad.status_code == 200
    assert re.search(r"none\.tsv: no such file", bad.content.decode())
    assert not TrainingRun.objects.exists()

    train = write_rows(tmp_path / "train.tsv", demo_rows(0, 40))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(url, {**form, "train_path": str(train), "labels": "negative, positive"})
    run = TrainingRun.objects.get()
    assert response.url == reverse("admin:mlmodels_trainingrun_change", args=[run.pk])
    assert len(callbacks) == 1
    assert run.status == TrainingStatus.QUEUED
    assert run.params["labels"] == ["negative", "positive"]
    assert run.params["train_path"] == str(train)


def test_people_without_staff_rights_cannot_start_runs(client, outsider, tmp_path):
    client.force_login(outsider)
    response = client.post(reverse("admin:mlmodels_trainingrun_start"), {"slug": "x", "train_path": str(tmp_path)})
    assert response.status_code == 302
    assert "/login/" in response.url
    assert not TrainingRun.objects.exists()
