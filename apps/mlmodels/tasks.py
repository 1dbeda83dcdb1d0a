"""Celery entry points of the model registry (the ``training`` queue)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from portal.celery import TRAINING_QUEUE

from .services import training_run_execute


@shared_task(name="mlmodels.train", queue=TRAINING_QUEUE, max_retries=0, acks_late=False, ignore_result=True)
def train(run_id: str) -> dict[str, Any]:
    """Run the queued ``TrainingRun`` ``run_id`` (a UUID string) to the end.

    Failure semantics: never retried. Every error, bad input found late included, is
    recorded on the run (status ``failed`` with a clear message, the traceback in its log)
    and the task itself returns normally. The message is acknowledged on receipt: a run
    whose worker dies stays ``running`` with its last progress and must be started again
    from the admin. The ``training`` queue's limits apply (soft 4 h: recorded as a
    failure; hard 4 h 5 min). A redelivered or duplicate message finds the run no longer
    queued and does nothing.
    """
    run = training_run_execute(run_id=run_id)
    if run is None:
        return {"run": run_id, "status": "skipped"}
    return {"run": run_id, "status": run.status, "version": run.version_id}
