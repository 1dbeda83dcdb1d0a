"""The inference flush's own time limits (apps/inference/worker/limits.py), in a real
process and in a real worker whose flush runs past them."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from apps.inference.models import JobStatus
from apps.inference.services import inference_job_submit, serving_manifest_publish
from apps.inference.worker import FlushDeadline
from apps.inference.worker.limits import HARD_LIMIT_EXIT

from ..services import ROOT, celery_worker, worker_env
from .conftest import make_version, wait_rows


def test_the_soft_limit_stops_a_flush_blocked_in_a_system_call():
    # A read from a socket that never answers: the system call is interrupted and the
    # flush stops with SoftTimeLimitExceeded near the limit, not when the peer answers.
    left, right = socket.socketpair()
    started = time.monotonic()
    with left, right, pytest.raises(SoftTimeLimitExceeded), FlushDeadline(soft=0.3, hard=None):
        left.recv(1)
    assert time.monotonic() - started >= 0.3


def test_the_soft_limit_stops_a_flush_running_on_a_thread_of_its_own():
    # The file-system broker's worker flushes from a timer thread, where no signal lands.
    import threading

    caught = []

    def flush():
        try:
            with FlushDeadline(soft=0.3, hard=None):
                while True:  # busy Python code, as a forward pass is between native calls
                    sum(range(1000))
        except SoftTimeLimitExceeded as exc:
            caught.append(exc)

    thread = threading.Thread(target=flush)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert len(caught) == 1


def test_a_flush_within_its_limits_is_left_alone_and_leaves_no_timer_behind():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    with FlushDeadline(soft=5, hard=10) as deadline:
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before
    assert deadline._watchdog is None


def test_the_hard_limit_ends_a_process_no_signal_handler_can_reach():
    # A flush stuck where Python cannot raise (no soft limit here, as in a native call
    # that never returns): the watchdog ends the whole process with its own status.
    script = textwrap.dedent(
        """
        import logging, time
        logging.basicConfig()
        from apps.inference.worker.limits import FlushDeadline
        with FlushDeadline(soft=None, hard=0.5):
            time.sleep(30)
        print("the flush returned")
        """
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == HARD_LIMIT_EXIT, done.stderr
    assert "hard time limit of 0.5 s" in done.stderr
    assert "the flush returned" not in done.stdout
    assert time.monotonic() - started < 25


@pytest.mark.worker
def test_a_flush_past_its_time_limit_is_stopped_redelivered_and_given_up_and_the_worker_serves_on(
    transactional_db, owner, fixed_head_artifact, worker_pair
):
    # PostgreSQL + Redis only. The file-system broker of the embedded default delivers a
    # requeued message back through files another process may be writing (kombu reads a
    # half-written one as an error); there the limit is shown on its flushing thread by
    # test_the_soft_limit_stops_a_flush_running_on_a_thread_of_its_own.
    from apps.mlmodels.models import ModelVersion

    worker_pair.stop()  # this test's own inference worker must be the only consumer
    make_version(fixed_head_artifact, slug="heavy")
    make_version(fixed_head_artifact, slug="light")
    ModelVersion.objects.filter(model__slug="heavy").update(max_length=512)
    serving_manifest_publish()  # both load at start-up, not inside a timed flush
    # 32 inputs of 512 tokens: seconds of forward pass on a CPU, several times the limit.
    heavy = ["The deployment pipeline failed again after the upgrade and support never answered. " * 23] * 32
    # The hard limit stays well clear: a busy machine can take a while to return from one
    # native call of the forward pass, and only then does the soft limit land.
    env = worker_env(INFERENCE_SOFT_TIME_LIMIT="0.6", INFERENCE_TIME_LIMIT="8", INFERENCE_MAX_ATTEMPTS="2")
    with celery_worker(queues="default,training"), celery_worker(queues="inference", pool="solo", env=env) as worker:
        job = inference_job_submit(owner=owner, model="heavy", inputs=heavy)
        (row,) = wait_rows([job.id], lambda rows: rows[0].status == JobStatus.FAILED, 120)
        # The worker is still the same process, and serves the next job at once.
        light = inference_job_submit(owner=owner, model="light", inputs=["still here"])
        (served,) = wait_rows([light.id], lambda rows: rows[0].status == JobStatus.SUCCEEDED, 60)
        assert worker["process"].poll() is None
    assert row.error["type"] == "inference_failed"
    assert "outran the time limit 2 times and was given up" in row.error["detail"]
    assert row.results in (None, [])
    assert served.worker == worker["hostname"]
    # At least once per counted attempt (a flush stopped before it counted its deliveries,
    # on a busy machine, is stopped without counting).
    assert Path(worker["log"]).read_text().count("a flush ran past its soft time limit") >= 2
