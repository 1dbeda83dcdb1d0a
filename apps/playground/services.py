"""Writes of the playground: recording a run in the owner's history, sharing, deleting.

The playground sends its inputs to the public API like any client; these services only
remember which jobs were the owner's runs. They never create or change a job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import InvalidInput
from apps.inference.models import InferenceJob
from apps.inference.selectors import job_get_visible

from .models import FIRST_INPUT_CHARS, Run
from .selectors import run_get_owned

if TYPE_CHECKING:
    from apps.accounts.models import User


def _first_input(job: InferenceJob) -> str:
    text = " ".join(str(job.inputs[0]).split())
    return text if len(text) <= FIRST_INPUT_CHARS else text[: FIRST_INPUT_CHARS - 1] + "…"


def playground_run_create(*, owner: User, job_id: Any, compare_job_id: Any = None) -> Run:
    """Record the owner's job (and the job it was compared with) as a run in their history.

    Both jobs must be the owner's (``NotFound`` otherwise, as the API answers) and a
    compared job must be another job, of another model or version, with the same inputs
    (``InvalidInput``, a 400, otherwise). Recording the same job
    twice returns the run made the first time.
    """
    job = job_get_visible(job_id=job_id, viewer=owner)
    compare_job = None
    if compare_job_id:
        compare_job = job_get_visible(job_id=compare_job_id, viewer=owner)
        if compare_job.pk == job.pk:
            raise InvalidInput("A run cannot be compared with itself.")
        if compare_job.model_version_id == job.model_version_id:
            raise InvalidInput("Compare two different models or versions: both jobs ran the same version.")
        if compare_job.inputs != job.inputs:
            raise InvalidInput("Compared jobs must have the same inputs.")
    existing = Run.objects.filter(owner=owner, job=job).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Run.objects.create(
                owner=owner,
                job=job,
                compare_job=compare_job,
                first_input=_first_input(job),
                input_count=len(job.inputs),
            )
    except IntegrityError:  # the same job recorded twice at once
        return Run.objects.get(owner=owner, job=job)


def playground_run_share(*, owner: User, run_id: Any, shared: bool) -> Run:
    """Turn the read-only page of the owner's run on for others (or off again).

    The link stays the same across on and off; ``NotFound`` for anyone else's run."""
    run = run_get_owned(viewer=owner, run_id=run_id)
    if run.shared != shared:
        run.shared = shared
        run.shared_at = timezone.now() if shared else None
        run.save(update_fields=["shared", "shared_at", "updated_at"])
    return run


def playground_run_delete(*, owner: User, run_id: Any) -> None:
    """Remove a run from the owner's history (its share link stops working). The jobs stay:
    they are the API's record of the requests, as for any client. ``NotFound`` for anyone
    else's run."""
    run_get_owned(viewer=owner, run_id=run_id).delete()
