"""The dependency audit fails on a known-vulnerable pin and on a service that does not answer.

`tools/audit_deps.py` runs the real pip-audit. The vulnerability feed is the one outside
thing, so these tests serve it on loopback: a small server that speaks OSV's query API
(pip-audit's `--vulnerability-service osv --osv-url`) and knows one real advisory,
CVE-2021-31542 (Django 3.2 before 3.2.1: directory traversal through uploaded file names).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.version import Version

from tools.audit_deps import judge

from ..services import ROOT

ADVISORY = {
    "id": "CVE-2021-31542",
    "aliases": [],
    "summary": "Potential directory traversal via uploaded files with crafted file names",
    "affected": [
        {
            "package": {"name": "django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.2"}, {"fixed": "3.2.1"}]}],
        }
    ],
}


class Feed:
    """What the loopback feed was asked, and whether it is up."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, str]] = []
        self.failing = False


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name, version = query["package"]["name"], query["version"]
            state.queries.append((name, version))
            if state.failing:
                self.send_response(503)
                self.end_headers()
                return
            vulnerable = name == "django" and Version("3.2") <= Version(version) < Version("3.2.1")
            body = json.dumps({"vulns": [ADVISORY]} if vulnerable else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_port}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


def audit(url: str, tmp_path: Path, *locks: Path, attempts: int = 1) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "tools/audit_deps.py", "--service", "osv", "--osv-url", url]
    command += ["--cache-dir", str(tmp_path / "cache"), "--attempts", str(attempts), "--retry-delay", "0"]
    command += ["--timeout", "10"]
    for lock in locks:
        command += ["--lock", str(lock)]
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)


def test_a_known_vulnerable_django_pin_fails_the_audit(feed, tmp_path):
    state, url = feed
    lock = tmp_path / "lock.txt"
    lock.write_text("# a lock with one known-vulnerable pin\nDjango==3.2\nsqlparse==0.6.1\n")
    result = audit(url, tmp_path, lock)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "VULNERABLE django 3.2: CVE-2021-31542 (fixed in 3.2.1)" in result.stderr
    assert "AUDIT FAILED: 1 known vulnerabilities" in result.stderr
    assert ("django", "3.2") in state.queries


def test_the_fixed_release_passes_the_same_audit(feed, tmp_path):
    _, url = feed
    lock = tmp_path / "lock.txt"
    lock.write_text("Django==3.2.1\nsqlparse==0.6.1\n")
    result = audit(url, tmp_path, lock)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 packages audited against osv: no known vulnerabilities" in result.stdout


def test_torch_cpu_build_is_audited_as_its_public_release(feed, tmp_path):
    state, url = feed
    lock = tmp_path / "lock.txt"
    lock.write_text("torch==2.13.0+cpu\n")
    result = audit(url, tmp_path, lock)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "torch==2.13.0+cpu (lock.txt) audited as its public release 2.13.0" in result.stdout
    assert state.queries == [("torch", "2.13.0")]


def test_every_pin_of_both_real_locks_reaches_the_vulnerability_service(feed, tmp_path):
    state, url = feed
    lock, dev_lock = ROOT / "requirements" / "lock.txt", ROOT / "requirements" / "dev-lock.txt"
    result = audit(url, tmp_path, lock, dev_lock)
    assert result.returncode == 0, result.stdout + result.stderr
    pins = [line for path in (lock, dev_lock) for line in path.read_text().splitlines() if line and line[0] not in "#-"]
    assert len(state.queries) == len(pins)
    assert f"{len(pins)} packages audited" in result.stdout


def test_a_service_that_keeps_failing_is_retried_then_fails_loudly(feed, tmp_path):
    state, url = feed
    state.failing = True
    lock = tmp_path / "lock.txt"
    lock.write_text("Django==5.2.19\n")
    result = audit(url, tmp_path, lock, attempts=3)
    assert result.returncode == 1
    assert "AUDIT FAILED: the vulnerability service (osv) did not answer after 3 attempts" in result.stderr
    assert state.queries == [("django", "5.2.19")] * 3


def test_a_registry_without_per_release_data_is_reported_as_not_audited():
    report = {
        "dependencies": [{"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited"}]
    }
    outcome = judge(report, versions={"django": "5.2.19"}, probe=lambda name, version: True)
    assert outcome.missing_data == ["django 5.2.19"]
    assert outcome.skipped == []


def test_a_package_that_is_not_on_pypi_at_all_fails_as_not_audited():
    report = {
        "dependencies": [{"name": "our-fork", "skip_reason": "Dependency not found on PyPI and could not be audited"}]
    }
    outcome = judge(report, versions={"our-fork": "1.0"}, probe=lambda name, version: None)
    assert outcome.missing_data == []
    assert outcome.skipped == ["our-fork: not found on PyPI"]
