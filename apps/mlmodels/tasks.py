"""Celery entry points of the model registry (the ``training`` queue)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from portal.celery import TRAINING_QUEUE

from .services import training_run_execute

logger = logging.getLogger(__name__)


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


@shared_task(name="mlmodels.quantize", queue=TRAINING_QUEUE, max_retries=0, acks_late=False, ignore_result=True)
def quantize(version_id: int, sentences: int | None = None) -> dict[str, Any]:
    """Build and measure the int8 variant of ``ModelVersion`` ``version_id``
    (``services.model_version_quantize``, timing ``sentences`` per round: its default when
    None) and store its figures on the version.

    Failure semantics: never retried. A version deleted meanwhile, or evaluation data that
    is missing or unfit, is logged and reported in the return value; nothing is stored. The
    message is acknowledged on receipt; a redelivered one measures again and replaces the
    figures, which is harmless. The ``training`` queue's limits apply.
    """
    from .models import ModelVersion
    from .services import model_version_quantize
    from .training.config import DataError

    version = ModelVersion.objects.select_related("model").filter(pk=version_id).first()
    if version is None:
        logger.warning("int8 variant of version %s not built: no such version", version_id)
        return {"version": version_id, "status": "skipped"}
    try:
        model_version_quantize(
            version=version, sentences=sentences, log=lambda message: logger.info("%s: %s", version, message)
        )
    except DataError as exc:
        logger.warning("int8 variant of %s not built: %s", version, exc)
        return {"version": version_id, "status": "failed", "error": str(exc)}
    return {"version": version_id, "status": "succeeded", "int8": version.int8}
