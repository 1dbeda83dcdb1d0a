"""The worker's unit of work and the recording task, as plain functions (no worker process)."""

import math
import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.inference.models import InferenceJob, JobStatus
from apps.inference.results import MANIFEST_KEY
from apps.inference.services import inference_jobs_reconcile, inference_jobs_record
from apps.inference.worker import Job, Limits, WorkerState, process
from apps.inference.worker.jobs import ATTEMPT_KEY, outcome
from apps.mlmodels.selectors import version_message

from .conftest import EXPECTED, LABELS

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def state():
    """A worker process's state, fresh for each test."""
    return WorkerState()


def _job(version, inputs, job_id=None):
    return Job(id=job_id or str(uuid.uuid4()), model=version_message(version), inputs=inputs, queued_at=time.time())


def test_one_group_of_jobs_runs_in_one_forward_pass_with_results_in_input_order(published, state):
    jobs = [_job(published, ["short"]), _job(published, ["a somewhat longer sentence here", "mid one"])]
    outcomes = process(jobs, state=state, hostname="unit@test").published
    assert [o["job_id"] for o in outcomes] == [j.id for j in jobs]
    assert {o["status"] for o in outcomes} == {"succeeded"}
    assert {o["forward_passes"] for o in outcomes} == {1}
    assert {o["batch_size"] for o in outcomes} == {3}
    assert [len(o["results"]) for o in outcomes] == [1, 2]
    for result in outcomes[1]["results"]:
        assert result["label"] == "beta"
        assert list(result["scores"]) == LABELS
        assert math.isclose(sum(result["scores"].values()), 1.0, rel_tol=1e-6)
        for label, p in EXPECTED.items():
            assert math.isclose(result["scores"][label], p, rel_tol=1e-4)


def test_a_long_input_is_truncated_and_says_so(published, state):
    (outcome,) = process([_job(published, ["word " * 600, "short"])], state=state, hostname="unit@test").published
    assert [r["truncated"] for r in outcome["results"]] == [True, False]


def test_a_finished_job_delivered_again_is_not_run_again_but_its_outcome_is_recorded_again(published, state):
    job = _job(published, ["once"])
    (first,) = process([job], state=state, hostname="unit@test").published
    again = _job(published, ["once"], job_id=job.id)
    # Not run again (same group, same times): the stored outcome, sent for recording in
    # case the report of the worker that finished it was lost with that worker.
    assert process([again], state=state, hostname="unit@test").published == [first]


def test_the_first_outcome_of_a_job_stays_the_one_callers_read(published):
    from apps.inference.results import store_results
    from apps.inference.tasks import classify

    # Two workers ran one job at once (a redelivery while the first still ran): both
    # store, and callers read the first outcome, as on the job row.
    job = _job(published, ["first"])
    first = outcome(
        job, "succeeded", hostname="first@test", batch_size=1, started=time.time(), results=[{"label": "alpha"}]
    )
    second = outcome(
        job, "succeeded", hostname="second@test", batch_size=1, started=time.time(), results=[{"label": "beta"}]
    )
    store_results(classify.backend, [first])
    store_results(classify.backend, [second])
    assert classify.AsyncResult(job.id).get(timeout=5, disable_sync_subtasks=False) == first


def test_a_job_past_its_attempts_fails_without_running(published, settings, state):
    job = _job(published, ["poison?"])
    cache.set(ATTEMPT_KEY + job.id, settings.INFERENCE_MAX_ATTEMPTS)
    (outcome,) = process([job], state=state, hostname="unit@test").published
    assert outcome["status"] == "failed"
    assert "given up" in outcome["error"]["detail"]
    assert "results" not in outcome


def test_a_redelivered_job_runs_alone_after_its_neighbours(published, state):
    suspect = _job(published, ["seen before"])
    cache.set(ATTEMPT_KEY + suspect.id, 1)
    fresh = [_job(published, ["new one"]), _job(published, ["new two"])]
    outcomes = process([suspect, *fresh], state=state, hostname="unit@test").published
    assert [o["job_id"] for o in outcomes] == [fresh[0].id, fresh[1].id, suspect.id]
    assert [o["batch_size"] for o in outcomes] == [2, 2, 1]
    assert outcomes[-1]["attempt"] == 2


def test_only_a_flush_expected_to_run_long_reports_its_jobs_running_first(published, settings, state):
    short = [_job(published, ["a short one"])]
    assert state.reports_running([short], suspects=False)  # not yet timed: report
    process(short, state=state, hostname="unit@test")
    assert state.expected_ms(short) > 0
    # The threshold relative to this machine's own timing: the rule, not the CPU's speed.
    settings.INFERENCE_RUNNING_REPORT_MS = state.expected_ms(short) * 2
    assert not state.reports_running([short], suspects=False)
    assert state.reports_running([short], suspects=True)  # a redelivered job always reports
    long_texts = ["word " * 400] * 32
    many = [_job(published, long_texts) for _ in range(50)]
    assert state.expected_ms(many) > settings.INFERENCE_RUNNING_REPORT_MS
    assert state.reports_running([many], suspects=False)
    settings.INFERENCE_RUNNING_REPORT_MS = 0
    assert state.reports_running([short], suspects=False)


def test_reports_of_several_flushes_go_to_the_web_side_in_one_message(published, settings, state):
    due = []  # what the worker's event-loop timer would call, and after how long
    state.reports.use_timer(lambda seconds, callback: due.append((seconds, callback)))
    first, second = _job(published, ["one"]), _job(published, ["two"])
    process([first], state=state, hostname="unit@test")
    process([second], state=state, hostname="unit@test")
    assert len(due) == 1  # one send scheduled for both flushes
    assert {o["job_id"] for o in state.reports.waiting if o["status"] == "succeeded"} == {first.id, second.id}
    seconds, callback = due[0]
    assert seconds == pytest.approx(settings.INFERENCE_RECORD_DELAY_MS / 1000)
    callback()
    assert state.reports.waiting == []
    process([_job(published, ["three"])], state=state, hostname="unit@test")
    assert len(due) == 2  # the next window starts after the send


def test_a_missing_artifact_fails_its_jobs_with_a_clear_error(published, state):
    message = version_message(published)
    message["artifact_dir"] = "/nonexistent/model"
    job = Job(id=str(uuid.uuid4()), model=message, inputs=["x"], queued_at=time.time())
    (outcome,) = process([job], state=state, hostname="unit@test").published
    assert outcome["status"] == "failed"
    assert outcome["error"]["type"] == "inference_failed"


def _open_job(version, owner, **fields):
    return InferenceJob.objects.create(
        owner=owner, model_version=version, inputs=["x"], enqueued_at=timezone.now(), **fields
    )


def test_recording_completes_a_job_once_and_ignores_later_reports(published, owner):
    job = _open_job(published, owner)
    now = time.time()
    first = {"job_id": str(job.id), "status": "succeeded", "worker": "w1", "batch_size": 4, "attempt": 1,
             "started_at": now, "finished_at": now + 0.1, "inference_ms": 12.0,
             "results": [{"label": "beta", "score": 0.8, "scores": {}, "truncated": False}]}  # fmt: skip
    assert inference_jobs_record(outcomes=[first]) == 1
    second = {**first, "worker": "w2", "results": [{"label": "alpha"}]}
    late_running = {**first, "status": "running"}
    assert inference_jobs_record(outcomes=[second, late_running]) == 0
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.worker == "w1"
    assert job.results[0]["label"] == "beta"
    assert job.queued_ms is not None
    assert job.total_ms is not None


def test_many_outcomes_are_recorded_in_two_statements_each_job_by_its_first_finished_one(published, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    result = [{"label": "beta", "score": 0.8, "scores": {}, "truncated": False}]
    done, broken, busy, already = (_open_job(published, owner) for _ in range(4))
    InferenceJob.objects.filter(id=already.id).update(
        status=JobStatus.SUCCEEDED, results=result, started_at=timezone.now(), finished_at=timezone.now()
    )
    now = time.time()
    base = {"worker": "w1", "batch_size": 3, "attempt": 2, "started_at": now, "finished_at": now + 0.05}
    outcomes = [
        {**base, "job_id": str(done.id), "status": "running"},
        {**base, "job_id": str(done.id), "status": "succeeded", "results": result, "inference_ms": 7.5},
        {**base, "job_id": str(done.id), "status": "failed", "error": {"type": "late"}},  # not the first
        {**base, "job_id": str(broken.id), "status": "failed", "error": {"type": "inference_failed"}},
        {**base, "job_id": str(busy.id), "status": "running", "worker": "w2"},
        {**base, "job_id": str(already.id), "status": "failed", "error": {"type": "late"}},  # finished: ignored
        {**base, "job_id": str(busy.id), "status": "unheard-of"},  # logged and ignored
    ]
    with CaptureQueriesContext(connection) as captured:
        assert inference_jobs_record(outcomes=outcomes) == 3
    assert len([q for q in captured if q["sql"].upper().startswith("UPDATE")]) == 2
    for job in (done, broken, busy, already):
        job.refresh_from_db()
    assert (done.status, done.results, done.inference_ms, done.error) == (JobStatus.SUCCEEDED, result, 7.5, None)
    assert (done.attempts, done.worker, done.batch_size) == (2, "w1", 3)
    assert done.started_at is not None and done.finished_at is not None
    assert (broken.status, broken.error, broken.results) == (JobStatus.FAILED, {"type": "inference_failed"}, None)
    assert (busy.status, busy.worker, busy.finished_at) == (JobStatus.RUNNING, "w2", None)
    assert (already.status, already.error) == (JobStatus.SUCCEEDED, None)


def test_a_flush_report_branches_only_on_what_differs_between_its_jobs(published, owner):
    """Jobs of one flush share status, worker, batch size and times: those columns are set
    without a CASE branch per job (each branch is CPU on the recording worker); only the
    results, which differ, have one each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    jobs = [_open_job(published, owner) for _ in range(12)]
    now = time.time()
    outcomes = [
        {
            "job_id": str(job.id),
            "status": "succeeded",
            "worker": "w1",
            "batch_size": 12,
            "attempt": 1,
            "started_at": now,
            "finished_at": now + 0.05,
            "inference_ms": 9.0,
            "results": [{"label": "beta", "score": n / 12, "scores": {}, "truncated": False}],
        }
        for n, job in enumerate(jobs)
    ]
    with CaptureQueriesContext(connection) as captured:
        assert inference_jobs_record(outcomes=outcomes) == 12
    (update,) = [q["sql"] for q in captured if q["sql"].upper().startswith("UPDATE")]
    assert update.upper().count(" WHEN ") == 12
    for n, job in enumerate(jobs):
        job.refresh_from_db()
        assert (job.status, job.worker, job.batch_size, job.inference_ms) == (JobStatus.SUCCEEDED, "w1", 12, 9.0)
        assert job.results[0]["score"] == n / 12 and job.finished_at is not None


def test_reconciler_resends_stuck_jobs_and_fails_poison_ones(
    published, owner, settings, django_capture_on_commit_callbacks
):
    old = timezone.now() - timedelta(seconds=settings.INFERENCE_LEASE_SECONDS + 5)
    stuck = _open_job(published, owner)
    poison = _open_job(published, owner, status=JobStatus.RUNNING, attempts=settings.INFERENCE_MAX_ATTEMPTS)
    fresh = _open_job(published, owner)
    InferenceJob.objects.filter(id__in=[stuck.id, poison.id]).update(enqueued_at=old)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert inference_jobs_reconcile() == {"recorded": 0, "requeued": 1, "failed": 1}
    assert len(callbacks) == 1
    stuck.refresh_from_db()
    poison.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == JobStatus.QUEUED
    assert stuck.enqueued_at > old
    assert poison.status == JobStatus.FAILED
    assert "given up" in poison.error["detail"]
    assert fresh.status == JobStatus.QUEUED


def test_publishing_a_version_writes_the_manifest_workers_warm_from(
    fixed_head_artifact, django_capture_on_commit_callbacks, state
):
    from apps.mlmodels.models import VersionStatus
    from apps.mlmodels.services import model_version_publish

    from ..models import make_version

    version = make_version(fixed_head_artifact, slug="manifested", status=VersionStatus.DRAFT)
    assert cache.get(MANIFEST_KEY) is None
    with django_capture_on_commit_callbacks(execute=True):
        model_version_publish(version=version)
    manifest = cache.get(MANIFEST_KEY)
    assert [(m["slug"], m["version"]) for m in manifest] == [("manifested", 1)]
    assert state.warm_up(manifest) == ["manifested/v1"]


def test_two_deliveries_of_one_job_in_one_flush_run_it_once(published, state):
    # After a reconnect the broker can hand back a message the worker still holds.
    job = _job(published, ["delivered twice"])
    again = _job(published, ["delivered twice"], job_id=job.id)
    (outcome,) = process([job, again], state=state, hostname="unit@test").published
    assert (outcome["job_id"], outcome["attempt"], outcome["status"]) == (job.id, 1, "succeeded")


def test_the_reconciler_writes_the_manifest_again_when_the_cache_lost_it(published):
    from apps.inference.services import serving_manifest_ensure

    cache.delete(MANIFEST_KEY)
    assert serving_manifest_ensure() is True
    assert [(m["slug"], m["version"]) for m in cache.get(MANIFEST_KEY)] == [(published.model.slug, published.version)]
    assert serving_manifest_ensure() is False


def test_a_big_flush_runs_in_parts_of_whole_jobs_each_published_on_its_own(published, state):
    from apps.inference.worker.flush import GROUP_MAX_INPUTS

    per_job = 32
    jobs = [_job(published, [f"input {i}"] * per_job) for i in range(GROUP_MAX_INPUTS // per_job + 1)]
    outcomes = process(jobs, state=state, hostname="unit@test").published
    assert {o["status"] for o in outcomes} == {"succeeded"}
    parts = {}
    for o in outcomes:
        parts.setdefault(o["group"], []).append(o["job_id"])
    assert sorted(len(ids) for ids in parts.values()) == [1, GROUP_MAX_INPUTS // per_job]
    assert max(o["batch_size"] for o in outcomes) == GROUP_MAX_INPUTS


def test_a_flush_stopped_at_its_soft_limit_hands_back_its_jobs_and_counts_an_attempt_only_for_those_it_ran(
    published, fixed_head_artifact, state
):
    from ..models import make_version

    other = make_version(fixed_head_artifact, slug="other")
    heavy = ["The deployment pipeline failed again after the upgrade and support never answered. " * 23] * 32
    running, waiting = _job(published, heavy), _job(other, ["never started"])
    state.classifier(running.model)  # loaded: the limit falls on the forward pass
    result = process([running, waiting], state=state, hostname="unit@test", limits=Limits(soft=0.2))
    assert result.published == []
    assert result.redeliver == [running.id, waiting.id]
    assert cache.get(ATTEMPT_KEY + running.id) == 1  # it ran: that was an attempt
    assert cache.get(ATTEMPT_KEY + waiting.id) == 0  # it only waited: not one


@pytest.mark.embedded
def test_timings_read_from_a_row_have_one_decimal_and_no_float_noise():
    """A job read back from its row reports the same one-decimal figures as a live one
    (it once answered total_ms 1173.3100000000002)."""
    queued = timezone.now()
    job = InferenceJob(
        queued_at=queued,
        started_at=queued + timedelta(microseconds=12_345),
        finished_at=queued + timedelta(microseconds=1_173_310),
    )
    assert (job.queued_ms, job.total_ms) == (12.3, 1173.3)
    assert InferenceJob(queued_at=queued).total_ms is None
