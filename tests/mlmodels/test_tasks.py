"""The ``mlmodels.train`` task on the wire: a real broker and a worker on the training queue."""

from __future__ import annotations

import time

import pytest

from apps.mlmodels.models import TrainingRun, TrainingStatus, VersionStatus
from apps.mlmodels.services import training_run_start
from apps.mlmodels.tasks import train

from . import demo_rows, write_rows


def test_the_task_is_named_on_the_training_queue_and_never_retried():
    assert train.name == "mlmodels.train"
    assert train.queue == "training"
    assert train.max_retries == 0
    assert train.acks_late is False
    assert train.soft_time_limit < train.time_limit


@pytest.mark.worker
def test_a_started_run_is_trained_by_a_worker_that_consumes_only_the_training_queue(
    transactional_db, tmp_path, admin_user
):
    from tests.conftest import _require_broker
    from tests.services import celery_worker, worker_env

    _require_broker()
    artifacts = tmp_path / "models"
    data = write_rows(tmp_path / "train.tsv", demo_rows(0, 24))
    params = {"slug": "worker-tiny", "train_path": str(data), "epochs": 1, "batch_size": 12, "max_length": 16}
    # The worker writes the artifact where this test can look, not into the shared VAR_DIR.
    with celery_worker(queues="training", env=worker_env(MODEL_ARTIFACTS_DIR=str(artifacts))):
        run = training_run_start(params=params, actor=admin_user)
        deadline = time.monotonic() + 300  # a guard against a hang, not a speed check
        while TrainingRun.objects.filter(pk=run.pk, status__in=[TrainingStatus.QUEUED, TrainingStatus.RUNNING]):
            if time.monotonic() > deadline:
                pytest.fail(f"the training worker never finished: {TrainingRun.objects.get(pk=run.pk).message}")
            time.sleep(0.2)
    run.refresh_from_db()
    assert run.status == TrainingStatus.SUCCEEDED, run.message + run.log
    assert run.progress == 1.0
    assert (run.version.model.slug, run.version.version, run.version.status) == ("worker-tiny", 1, VersionStatus.DRAFT)
    counts = run.version.training_data
    assert counts["train"]["examples"] + counts["eval"]["examples"] == 24  # the whole file, 10 % held out
    assert (artifacts / "worker-tiny" / "v1" / "model.safetensors").is_file()
