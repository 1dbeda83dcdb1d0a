import pytest
from kombu.exceptions import EncodeError

from portal.celery import DEFAULT_QUEUE, INFERENCE_QUEUE, TRAINING_QUEUE, app, inference_ping, ping, time_limits


def test_the_three_queues_exist_and_only_json_is_accepted():
    assert {q.name for q in app.conf.task_queues} == {INFERENCE_QUEUE, DEFAULT_QUEUE, TRAINING_QUEUE}
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.result_accept_content == ["json"]


def test_inference_tasks_are_acknowledged_late_and_rejected_when_their_worker_dies():
    classify = app.tasks["inference.classify"]
    for task in (classify, inference_ping):
        assert task.acks_late is True, task.name
        assert task.reject_on_worker_lost is True, task.name
    assert ping.acks_late is False


def test_classify_carries_the_inference_time_limits_below_the_visibility_timeout(settings):
    # The task as the worker looks it up by name, after the queue annotations.
    classify = app.tasks["inference.classify"]
    assert (classify.soft_time_limit, classify.time_limit) == time_limits(INFERENCE_QUEUE)
    assert classify.time_limit == settings.INFERENCE_TIME_LIMIT
    assert 0 < classify.soft_time_limit < classify.time_limit
    # Past the visibility timeout Redis would hand a running job to a second worker.
    assert classify.time_limit < settings.CELERY_VISIBILITY_TIMEOUT


def test_a_payload_that_is_not_json_is_refused_before_it_is_sent():
    with pytest.raises(EncodeError):
        ping.apply_async(args=[{"when": object()}])


@pytest.mark.worker
@pytest.mark.embedded
def test_a_task_round_trips_through_a_real_worker_on_each_queue(worker):
    result = ping.delay({"n": 1}).get(timeout=60)
    assert result == {"pong": True, "payload": {"n": 1}, "hostname": worker["web"]["hostname"]}
    result = inference_ping.delay({"n": 2}).get(timeout=60)
    assert result["payload"] == {"n": 2}
    assert result["hostname"] == worker["hostname"]
