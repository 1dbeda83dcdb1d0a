"""The embedded-default demo, run as a newcomer would: fresh var/, no services configured."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from ..services import ROOT
from .test_settings import SERVICE_VARS

# The flow clears the service settings itself, so it runs once, in the embedded run.
pytestmark = [pytest.mark.embedded, pytest.mark.embedded_only, pytest.mark.worker]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A fresh var/ set up the way `make demo` does it: migrate, then demo_setup (which
    trains and publishes the demo model). Returns the environment and the first output."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(VAR_DIR=str(tmp_path_factory.mktemp("demo")), PYTHONUNBUFFERED="1")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env, _manage(env, "demo_setup").stdout


def _wait_ready(base: str) -> dict | None:
    """/readyz's answer once it says ready; None after two minutes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            status, body = _get(base + "/readyz")
        except OSError:
            time.sleep(0.5)
            continue
        if status == 200:
            return json.loads(body)
        time.sleep(0.5)
    return None


def _classify(base: str, key: str, text: str) -> dict:
    request = urllib.request.Request(
        base + "/api/v1/classify",
        data=json.dumps({"model": "sentiment-demo", "inputs": [text], "wait": 30}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _passwords(output: str) -> dict[str, str]:
    """The lines under "Demo users (passwords are shown only now):"."""
    if "passwords are shown only now" not in output:
        return {}
    block = output.split("passwords are shown only now):", 1)[1]
    return dict(re.findall(r"^  (\S+@example\.com)\s+(\S+)$", block, flags=re.M))


def _manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )


def test_demo_setup_prints_passwords_once_and_a_second_run_loses_nothing(demo):
    demo_env, first = demo
    passwords = _passwords(first)
    assert set(passwords) == {"admin@example.com", "moderator@example.com", "developer@example.com"}
    second = _manage(demo_env, "demo_setup").stdout
    assert _passwords(second) == {}
    check = (
        "import django, json; django.setup(); from apps.accounts.models import User;"
        f"p = {json.dumps(passwords)};"
        "print(json.dumps({u.email: [u.check_password(p[u.email]), u.is_staff, sorted(g.name for g in u.groups.all())]"
        " for u in User.objects.filter(email__in=p)}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        env={**demo_env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    users = json.loads(out.stdout.strip().splitlines()[-1])
    assert users["admin@example.com"] == [True, True, ["Admin", "Developer"]]
    assert users["moderator@example.com"] == [True, False, ["Developer", "Moderator"]]
    assert users["developer@example.com"] == [True, False, ["Developer"]]


def test_rundemo_serves_pages_with_a_live_worker_and_ctrl_c_stops_both(demo):
    demo_env, _first = demo
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rundemo", "--port", str(port)],
        cwd=ROOT, env=demo_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    output: list[str] = []
    try:
        ready = _wait_ready(base)
        assert ready, "the demo never became ready"
        assert ready["checks"]["workers"]["inference"] == 1
        assert ready["checks"]["database"]["vendor"] == "sqlite"
        assert ready["checks"]["broker"]["transport"] == "filesystem"
        assert _get(base + "/")[0] == 200
        assert _get(base + "/accounts/signup/")[0] == 200
        assert _get(base + "/zh-hans/accounts/login/")[0] == 200
        # The demo model was trained and published by demo_setup, and the worker warmed it.
        assert _get(base + "/models/sentiment-demo/")[0] == 200
        loaded = [m for w in ready["checks"]["workers"]["workers"] for m in (w.get("models") or [])]
        assert any(m.startswith("sentiment-demo/") for m in loaded), loaded
        # A classify call goes through the demo's own broker, worker and result store.
        key = _manage(demo_env, "issue_key", "--email", "developer@example.com", "--scopes", "inference:write")
        answer = _classify(base, key.stdout.strip().splitlines()[-1], "The new SDK is a joy to use.")
        assert answer["status"] == "succeeded", answer
        assert answer["results"][0]["label"] in ("positive", "negative")
        assert answer["timing"]["queued_ms"] >= 0
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
        output.append(out)
    text = "".join(output)
    assert process.returncode == 0, text
    assert f"http://127.0.0.1:{port}/" in text
    assert "Stopped web and worker." in text
    pids = [int(pid) for pid in re.findall(r"started [\w ]+ \(pid (\d+)\)", text)]
    assert len(pids) == 3, text
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
