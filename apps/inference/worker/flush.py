"""One flush of the batched task: deduplicate, count deliveries, run, publish.

Jobs are grouped by model version and each group runs as few forward passes as its size
allows (the classifier sorts inputs by length and cuts them into chunks). Outcomes go to
the result backend for waiting callers, then to the recording task (``reports``).

A job whose outcome the result backend already holds is not run again, so a redelivered
message runs nothing twice. Jobs are reported "running" before a flush only when the
flush is expected to take longer than ``INFERENCE_RUNNING_REPORT_MS``: a status that
would last a few milliseconds is not worth a database write.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from ..results import store_results, stored_outcomes
from .jobs import Job, Outcome, count_deliveries, given_up, outcome, retrying, uncount_deliveries
from .limits import FlushDeadline
from .reports import send
from .state import WorkerState

logger = logging.getLogger(__name__)

# At most this many inputs per call to the model (eight forward passes of 32): a big flush
# publishes as it goes, so a flush stopped at its time limit hands back one call's jobs,
# not all of them.
GROUP_MAX_INPUTS = 256


@dataclass
class FlushResult:
    """What a flush published, and the jobs it must hand back for redelivery (those it
    had not finished when the soft time limit stopped it)."""

    published: list[Outcome] = field(default_factory=list)
    redeliver: list[str] = field(default_factory=list)
    # Jobs counted as delivered, and those whose part of the flush began to run.
    counted: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)


def _unique(jobs: Iterable[Job]) -> list[Job]:
    # One job once per flush: after a reconnect the broker can hand back a message the
    # worker still holds unacknowledged, and both copies may land in one flush.
    unique: dict[str, Job] = {}
    for job in jobs:
        unique.setdefault(job.id, job)
    return list(unique.values())


def _publish(state: WorkerState, outcomes: list[Outcome]) -> None:
    """Hand outcomes to waiting callers (result backend) and to the web side (recording).

    Failed jobs are stored as a result too: the payload says "failed" and why, and a
    waiting caller reads it like any other outcome.
    """
    from ..tasks import classify

    if not outcomes:
        return
    finished = [o for o in outcomes if o["status"] in ("succeeded", "failed")]
    retrying(lambda: store_results(classify.backend, finished), what=f"storing {len(finished)} outcomes")
    state.reports.add(outcomes)


def run_group(state: WorkerState, jobs: list[Job], *, hostname: str) -> list[Outcome]:
    """One model version's jobs in as few forward passes as possible. A model that cannot
    run fails its jobs with a clear error; only the soft time limit propagates."""
    started = time.time()
    texts = [text for job in jobs for text in job.inputs]
    model = jobs[0].model
    try:
        predictions, timing = state.classifier(model).predict_timed(texts)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        logger.exception("inference failed for %s v%s", model["slug"], model["version"])
        error = {"type": "inference_failed", "detail": f"The model could not run: {type(exc).__name__}."}
        finished = time.time()
        return [
            outcome(
                job,
                "failed",
                hostname=hostname,
                batch_size=len(texts),
                started=started,
                finished_at=finished,
                error=error,
            )
            for job in jobs
        ]
    finished = time.time()
    state.learn(model["version_id"], texts, timing.inference_ms)
    common: dict[str, Any] = {
        "hostname": hostname,
        "batch_size": len(texts),
        "started": started,
        "finished_at": finished,
        "inference_ms": round(timing.inference_ms, 3),
        "forward_passes": timing.forward_passes,
        "group": uuid.uuid4().hex,
    }
    outcomes, offset = [], 0
    for job in jobs:
        own = predictions[offset : offset + len(job.inputs)]
        offset += len(job.inputs)
        outcomes.append(outcome(job, "succeeded", results=[p.as_json() for p in own], **common))
    return outcomes


def _report_running(batches: list[list[Job]], *, hostname: str) -> None:
    now = time.time()
    running = [
        outcome(job, "running", hostname=hostname, batch_size=sum(len(j.inputs) for j in batch), started=now)
        for batch in batches
        for job in batch
    ]
    try:
        send(running)  # at once: the outcomes come later
    except Exception:  # only a status on the way to the outcome: never worth a lost flush
        logger.warning("could not report %d jobs running", len(running), exc_info=True)


def _cut(jobs: list[Job]) -> list[list[Job]]:
    """``jobs`` of one model version in parts of at most ``GROUP_MAX_INPUTS`` inputs (a
    job is never split)."""
    parts: list[list[Job]] = [[]]
    size = 0
    for job in jobs:
        if parts[-1] and size + len(job.inputs) > GROUP_MAX_INPUTS:
            parts.append([])
            size = 0
        parts[-1].append(job)
        size += len(job.inputs)
    return parts


def _sort(state: WorkerState, jobs: list[Job], result: FlushResult, *, hostname: str) -> list[list[Job]]:
    """Count this delivery of each job; give up the jobs past their attempts and return
    the rest as batches: fresh jobs grouped by model version, then each redelivered job
    on its own."""
    attempts = retrying(lambda: count_deliveries([job.id for job in jobs]), what="counting deliveries")
    result.counted.update(attempts)
    groups: dict[Any, list[Job]] = defaultdict(list)
    suspects: list[list[Job]] = []
    for job in jobs:
        job.attempt = attempts[job.id]
        if job.attempt > settings.INFERENCE_MAX_ATTEMPTS:
            failed = given_up(job, hostname=hostname)
            _publish(state, [failed])
            result.published.append(failed)
        elif job.attempt > 1:
            suspects.append([job])
        else:
            groups[job.model["version_id"]].append(job)
    batches = [part for group in groups.values() for part in _cut(group)] + suspects
    if batches and state.reports_running(batches, suspects=bool(suspects)):
        _report_running(batches, hostname=hostname)
    return batches


@dataclass(frozen=True)
class Limits:
    """The time limits of one part of a flush, in seconds (None: none). A part that runs
    past ``soft`` is stopped (and its jobs are charged an attempt); past ``hard`` the
    worker exits. Once the flush as a whole has run ``soft`` seconds, it starts no more
    parts: those go back to the queue uncharged."""

    soft: float | None = None
    hard: float | None = None


def _run(state: WorkerState, jobs: list[Job], result: FlushResult, *, hostname: str, limits: Limits) -> None:
    # A redelivered message of a finished job runs nothing; its stored outcome is recorded
    # again, in case the worker that finished it died before its report was sent.
    stored = retrying(lambda: stored_outcomes([job.id for job in jobs]), what="reading stored outcomes")
    result.published.extend(stored.values())
    state.reports.add(list(stored.values()))
    began = time.monotonic()
    for batch in _sort(state, [job for job in jobs if job.id not in stored], result, hostname=hostname):
        if limits.soft is not None and time.monotonic() - began > limits.soft:
            raise SoftTimeLimitExceeded("the flush used up its time before this part")
        result.started.update(job.id for job in batch)
        with FlushDeadline(soft=limits.soft, hard=limits.hard):
            outcomes = run_group(state, batch, hostname=hostname)
        _publish(state, outcomes)  # before the next part: a later crash cannot lose these
        result.published.extend(outcomes)


def _hand_back(jobs: list[Job], result: FlushResult) -> None:
    done = {o["job_id"] for o in result.published}
    result.redeliver = [job.id for job in jobs if job.id not in done]
    logger.error("a flush ran past its soft time limit: %d jobs go back to the queue", len(result.redeliver))
    waited = [i for i in result.redeliver if i in result.counted and i not in result.started]
    try:
        uncount_deliveries(waited)
    except Exception:  # at worst they run alone next time, as suspects
        logger.warning("could not take back the deliveries of %d jobs", len(waited), exc_info=True)


def process(jobs: Iterable[Job], *, state: WorkerState, hostname: str, limits: Limits | None = None) -> FlushResult:
    """The worker's unit of work for one flush; returns what it published and, when a
    time limit stopped it, the jobs it hands back for redelivery.

    Reading and storing outcomes (Redis) have a watchdog of their own: the soft and hard
    limits together, for the whole flush.
    """
    limits = limits or Limits()
    jobs = _unique(jobs)
    result = FlushResult()
    whole = None if limits.hard is None else limits.hard + (limits.soft or 0)
    try:
        with FlushDeadline(soft=None, hard=whole):
            _run(state, jobs, result, hostname=hostname, limits=limits)
    except SoftTimeLimitExceeded:
        _hand_back(jobs, result)
    return result
