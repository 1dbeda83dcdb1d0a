"""The embedded default's server-less broker, result store and worker timer (apps/core/embedded).

Each wake-up test turns polling off (an interval and a backstop of an hour), so a message
or result can only arrive through its notification; the waits in the tests are guards
against a hang, not measurements.
"""

import json
import logging
import subprocess
import sys
import threading
import time

import pytest
from celery import Celery, states
from kombu import Connection, Consumer, Producer, Queue

from apps.core.embedded import wakeup
from apps.core.embedded.results import FilesystemBackend
from apps.core.embedded.timer import PromptTimer

from ..services import ROOT

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(not wakeup.supported(), reason="named pipes (POSIX) only"),
]

TRANSPORT = "apps.core.embedded.broker:Transport"
HOUR = 3600.0
GUARD = 60  # seconds before a test that waits for a notification gives up


def _options(tmp_path, **extra):
    queue, control = tmp_path / "queue", tmp_path / "control"
    queue.mkdir(exist_ok=True)
    control.mkdir(exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(control),
        "polling_interval": HOUR,
        "wake_backstop": HOUR,
        **extra,
    }


def _connection(tmp_path, **extra):
    return Connection("filesystem://", transport=TRANSPORT, transport_options=_options(tmp_path, **extra))


def _publish(connection, body, queue="probe"):
    Producer(connection.channel(), routing_key=queue, serializer="json").publish(body, routing_key=queue)


def test_a_consumer_scanning_while_big_messages_are_written_gets_each_whole_and_once(tmp_path):
    count, size = 12, 4_000_000
    received, errors = [], []
    done = threading.Event()

    def consume():
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue("probe")
            while len(received) < count and not done.is_set():
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    continue
                except Exception as exc:  # half a message: kombu's own transport fails here
                    errors.append(exc)
                    continue
                received.append(message.payload)
                message.ack()

    with _connection(tmp_path) as connection:
        connection.SimpleQueue("probe")  # declared before anything is published
        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        try:
            for i in range(count):
                _publish(connection, {"i": i, "text": str(i % 10) * size})
        finally:
            consumer.join(GUARD)
            done.set()
    assert errors == []
    assert sorted(body["i"] for body in received) == list(range(count))
    assert all(body["text"] == str(body["i"] % 10) * size for body in received)


def test_a_file_in_the_queue_that_is_not_a_message_is_dropped_with_an_error_not_a_crash(tmp_path, caplog):
    garbage = tmp_path / "queue" / f"{0:020d}_0f0f.probe.msg"  # named to come before any message
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("probe")
        garbage.write_bytes(b'{"half of a mess')
        _publish(connection, {"whole": True})
        with caplog.at_level(logging.ERROR, logger="apps.core.embedded.broker"):
            message = queue.get(block=False)
        assert message.payload == {"whole": True}
        assert garbage.name in caplog.text
        assert not garbage.exists()


CONSUMER = """
import json, sys
from kombu import Connection, Consumer, Queue
options = json.loads(sys.argv[1])
with Connection("filesystem://", transport=sys.argv[2], transport_options=options) as connection:
    got = []
    with Consumer(connection.channel(), queues=[Queue("probe", routing_key="probe")],
                  callbacks=[lambda body, message: (got.append(body), message.ack())], accept=["json"]):
        try:
            connection.drain_events(timeout=0.2)  # an empty queue: the consumer now waits
        except TimeoutError:
            pass
        print("waiting", flush=True)
        connection.drain_events()
    print(json.dumps(got[0]), flush=True)
"""


def test_a_publish_wakes_a_consumer_waiting_in_another_process(tmp_path):
    with _connection(tmp_path) as connection:
        connection.SimpleQueue("probe")
        child = subprocess.Popen(
            [sys.executable, "-c", CONSUMER, json.dumps(_options(tmp_path)), TRANSPORT],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert child.stdout.readline().strip() == "waiting"
            time.sleep(0.3)  # the consumer has scanned the empty queue and waits
            _publish(connection, {"hello": "worker"})
            out, _ = child.communicate(timeout=GUARD)
        finally:
            child.kill()
            child.wait()
    assert json.loads(out) == {"hello": "worker"}


def test_an_acknowledgement_wakes_a_consumer_held_at_its_prefetch_limit(tmp_path):
    with _connection(tmp_path) as connection:
        channel = connection.channel()
        channel.basic_qos(0, 1, False)
        got = []
        consumer = Consumer(channel, queues=[Queue("probe", routing_key="probe")], accept=["json"])
        consumer.register_callback(lambda body, message: got.append((body, message)))
        with consumer:
            _publish(connection, {"n": 1})
            _publish(connection, {"n": 2})
            connection.drain_events(timeout=GUARD)
            assert [body for body, _ in got] == [{"n": 1}]
            # The first message is still unacknowledged: the consumer may take no other
            # until it is, and waits.
            second = threading.Thread(target=connection.drain_events, kwargs={"timeout": HOUR}, daemon=True)
            second.start()
            time.sleep(0.3)
            assert len(got) == 1
            got[0][1].ack()
            second.join(GUARD)
    assert [body for body, _ in got] == [{"n": 1}, {"n": 2}]


def _backend(path):
    # Made directly: a Celery app would take CELERY_RESULT_BACKEND from the environment.
    backend = FilesystemBackend(app=Celery("probe", set_as_current=False), url=f"file://{path}")
    backend.backstop = HOUR
    return backend


STORE = """
import sys
from celery import Celery
from apps.core.embedded.results import FilesystemBackend
backend = FilesystemBackend(app=Celery("probe", set_as_current=False), url=sys.argv[1])
backend.mark_as_done(sys.argv[2], {"answer": 42})
"""


def test_a_caller_waiting_for_a_result_is_woken_when_another_process_stores_it(tmp_path):
    backend = _backend(tmp_path)
    seen = {}

    def wait():
        seen["meta"] = backend.wait_for("job-1", timeout=None, interval=HOUR)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    deadline = time.monotonic() + GUARD
    while not any((tmp_path / ".wake").glob("*.fifo")) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the caller waits
    subprocess.run([sys.executable, "-c", STORE, f"file://{tmp_path}", "job-1"], cwd=ROOT, check=True)
    waiter.join(GUARD)
    assert "meta" in seen, "the waiting caller was not woken"
    assert seen["meta"]["status"] == states.SUCCESS
    assert seen["meta"]["result"] == {"answer": 42}
    assert list((tmp_path / ".wake").glob("*.fifo")) == []  # the caller cleaned up after itself


def test_a_caller_still_gets_a_timeout_when_no_result_comes(tmp_path):
    from celery.exceptions import TimeoutError as CeleryTimeoutError

    with pytest.raises(CeleryTimeoutError):
        _backend(tmp_path).wait_for("never-stored", timeout=0.2)


def test_the_timer_fires_an_entry_added_while_it_waits_for_a_later_one():
    timer = PromptTimer(max_interval=HOUR)
    later, sooner = threading.Event(), threading.Event()
    timer.call_after(HOUR, later.set)
    time.sleep(0.3)  # the timer thread is now waiting for the entry an hour away
    timer.call_after(0.01, sooner.set)
    fired = sooner.wait(GUARD)
    if fired:  # else the thread sleeps on for the hour: left behind (it is a daemon)
        timer.stop()
    assert fired
    assert not later.is_set()


LEAVER = """
import os, sys
from apps.core.embedded.wakeup import Waker
Waker(sys.argv[1], "consumer")
os._exit(0)  # gone without closing its pipe, as a killed worker would be
"""


def test_a_pipe_left_by_a_process_that_is_gone_is_removed_by_the_next_notification(tmp_path):
    subprocess.run([sys.executable, "-c", LEAVER, str(tmp_path)], cwd=ROOT, check=True)
    assert len(list(tmp_path.glob("consumer.*.fifo"))) == 1
    live = wakeup.Waker(tmp_path, "consumer")
    try:
        assert wakeup.notify(tmp_path, "consumer") == 1
        assert list(tmp_path.glob("consumer.*.fifo")) == [live.path]
        assert live.wait(0)
    finally:
        live.close()
