"""A load client over HTTP: threads sending ``POST /api/v1/classify`` to the test's gunicorn.

Each call carries its own Idempotency-Key and is retried, with that key, after a 503 (no
sooner than ``Retry-After`` says, capped to keep tests short), a 5xx or a broken
connection, until it is accepted (200 or 202), refused for good (another 4xx) or the
load's time is up. Every answer is recorded, so a test can assert on all of them.
Connections are not reused: a graceful web restart must not break a single call.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (the connection failed)
    problem: str  # problem+json `type`, "" otherwise
    content_type: str
    retry_after: str | None
    sent_at: float  # time.time() when the request was sent
    at: float  # time.time() when the answer came
    error: str = ""  # why the connection failed

    @property
    def label(self) -> str:
        if self.status == 0:
            return "no answer"
        return f"{self.status} {self.problem}".strip()


@dataclass
class Call:
    index: int
    idempotency_key: str
    inputs: list[str]
    answers: list[Answer] = field(default_factory=list)
    job_id: str | None = None
    body: dict[str, Any] | None = None

    @property
    def final(self) -> Answer | None:
        return self.answers[-1] if self.answers else None

    @property
    def accepted(self) -> bool:
        return self.job_id is not None


def is_unavailable(answer: Answer) -> bool:
    """A 503 as the API promises it: problem+json ``service_unavailable`` with Retry-After."""
    return (
        answer.status == 503
        and answer.problem == "service_unavailable"
        and answer.content_type.startswith("application/problem+json")
        and (answer.retry_after or "").isdigit()
    )


def classify(
    base_url: str, api_key: str, *, inputs: list[str], wait: int, idempotency_key: str | None = None
) -> tuple[Answer, dict[str, Any] | None]:
    """One call; never raises for HTTP or connection failures."""
    headers = {"Authorization": f"Bearer {api_key}", "Connection": "close"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    sent = time.time()
    try:
        response = requests.post(
            f"{base_url}/api/v1/classify",
            json={"model": "fixed-head", "inputs": inputs, "wait": wait},
            headers=headers,
            timeout=wait + 60,
        )
    except requests.RequestException as exc:
        return Answer(0, "", "", None, sent, time.time(), error=f"{type(exc).__name__}: {exc}"), None
    content_type = response.headers.get("Content-Type", "")
    body: dict[str, Any] | None = None
    if "json" in content_type:
        try:
            body = response.json()
        except ValueError:
            body = None
    problem = str(body.get("type", "")) if isinstance(body, dict) and response.status_code >= 400 else ""
    answer = Answer(response.status_code, problem, content_type, response.headers.get("Retry-After"), sent, time.time())
    return answer, body


def job_wait(base_url: str, api_key: str, job_id: str, *, timeout: float) -> dict[str, Any]:
    """Poll ``GET /api/v1/jobs/{id}`` until the job is finished or ``timeout`` passes;
    returns the last body read (``{}`` if none)."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while True:
        try:
            response = requests.get(
                f"{base_url}/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {api_key}"}, timeout=10
            )
            if response.status_code in (200, 202):
                body = response.json()
        except (requests.RequestException, ValueError):
            pass
        if body.get("status") in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


class Load:
    """``total`` calls from ``threads`` threads, at most ``per_second`` a second if given;
    ``start()``, then ``join()``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        total: int,
        threads: int = 8,
        wait: int = 5,
        limit_s: float = 120,
        prefix: str = "call",
        inputs: Callable[[int], list[str]] | None = None,
        retry_cap_s: float = 1.0,
        per_second: float | None = None,
    ) -> None:
        self.base_url, self.api_key, self.wait = base_url, api_key, wait
        self.retry_cap_s = retry_cap_s
        self.per_second = per_second
        make_inputs = inputs or (lambda i: [f"Sentence number {i} for the fault suite."])
        self.calls = [Call(i, f"{prefix}-{i}", make_inputs(i)) for i in range(total)]
        self._next = 0
        self._lock = threading.Condition()
        self._accepted = 0
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self.limit_s = limit_s
        self.started_at = self.ended_at = 0.0

    def start(self) -> Load:
        self.started_at = time.time()
        self._origin = time.monotonic()
        self._deadline = self._origin + self.limit_s
        for thread in self._threads:
            thread.start()
        return self

    def _take(self) -> Call | None:
        with self._lock:
            if self._next >= len(self.calls) or time.monotonic() > self._deadline:
                return None
            call = self.calls[self._next]
            self._next += 1
            return call

    def _run(self) -> None:
        while (call := self._take()) is not None:
            if self.per_second:  # call i is sent no sooner than i / per_second into the load
                time.sleep(max(0.0, self._origin + call.index / self.per_second - time.monotonic()))
            self._complete(call)

    def _complete(self, call: Call) -> None:
        while time.monotonic() < self._deadline:
            answer, body = classify(
                self.base_url, self.api_key, inputs=call.inputs, wait=self.wait, idempotency_key=call.idempotency_key
            )
            call.answers.append(answer)
            if answer.status in (200, 202) and body and body.get("id"):
                call.job_id, call.body = str(body["id"]), body
                with self._lock:
                    self._accepted += 1
                    self._lock.notify_all()
                return
            if answer.status == 503:
                try:
                    pause = float(answer.retry_after or 1)
                except ValueError:
                    pause = 1.0
                time.sleep(min(max(pause, 0.05), self.retry_cap_s))
            elif answer.status == 0 or answer.status >= 500:
                time.sleep(0.2)
            else:
                return  # refused for good

    @property
    def accepted(self) -> int:
        return self._accepted

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def wait_accepted(self, count: int, timeout: float = 120) -> None:
        """Block until ``count`` calls were accepted (or the load ended)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._accepted < count:
                if not any(t.is_alive() for t in self._threads):
                    raise AssertionError(f"the load ended with {self._accepted} accepted; expected {count} by now")
                if time.monotonic() > deadline:
                    raise AssertionError(f"only {self._accepted} calls accepted after {timeout} s; wanted {count}")
                self._lock.wait(0.1)

    def join(self) -> Load:
        for thread in self._threads:
            thread.join(self.limit_s + 120)
        self.ended_at = time.time()
        return self

    # What the calls saw, for assertions and their messages.
    def answers(self) -> list[Answer]:
        return [answer for call in self.calls for answer in call.answers]

    def histogram(self) -> Counter[str]:
        return Counter(answer.label for answer in self.answers())

    def unaccepted(self) -> list[Call]:
        return [call for call in self.calls if not call.accepted]

    def job_ids(self) -> list[str]:
        return [call.job_id for call in self.calls if call.job_id]

    def summary(self) -> str:
        histogram = ", ".join(f"{label}: {n}" for label, n in sorted(self.histogram().items()))
        errors = Counter(a.error.split(":")[0] for a in self.answers() if a.status == 0)
        unaccepted = self.unaccepted()
        text = f"{len(self.calls)} calls, {self.accepted} accepted; answers: {histogram}"
        if errors:
            text += f"; connection failures: {dict(errors)}"
        if unaccepted:
            text += f"; not accepted: {len(unaccepted)}, e.g. #{unaccepted[0].index} saw " + ", ".join(
                a.label for a in unaccepted[0].answers[-5:]
            )
        return text

    def bad_answers(self) -> list[Answer]:
        """Answers a client must never see under a fault: a 5xx other than a 503
        problem+json with Retry-After, or no answer at all."""
        return [a for a in self.answers() if a.status == 0 or (a.status >= 500 and not is_unavailable(a))]

    def sent_between(self, start: float, end: float) -> int:
        return sum(1 for answer in self.answers() if start <= answer.sent_at <= end)
