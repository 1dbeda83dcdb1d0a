"""Release notes come from the changelog section of the tagged version, or the release stops."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from tools.release_notes import ChangelogError, parse_changelog, release_notes

from ..services import ROOT

CHANGELOG = """# Changelog

Intro text.

## [Unreleased]

### Added

- Something coming.

## [1.1.0] - 2026-12-20

### Fixed

- A bug.

## [1.0.0] - 2026-12-01

### Added

- Everything.

## Versioning

Policy text.

[1.1.0]: https://example.org/compare/v1.0.0...v1.1.0
"""


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "release_notes.py"), *args], cwd=cwd, capture_output=True, text=True
    )


def test_the_notes_are_the_versions_section_and_nothing_else():
    assert release_notes(CHANGELOG, "v1.1.0") == "### Fixed\n\n- A bug.\n"
    assert release_notes(CHANGELOG, "1.0.0") == "### Added\n\n- Everything.\n"


def test_the_releases_are_parsed_in_file_order_with_their_dates():
    releases = parse_changelog(CHANGELOG)
    assert [(r.version, r.date) for r in releases] == [
        ("Unreleased", None),
        ("1.1.0", "2026-12-20"),
        ("1.0.0", "2026-12-01"),
    ]


@pytest.mark.parametrize(
    ("version", "message"),
    [("v2.0.0", "has no section [2.0.0]"), ("Unreleased", "has no release date")],
)
def test_a_version_without_a_dated_section_stops_the_release(version, message):
    with pytest.raises(ChangelogError, match=re.escape(message)):
        release_notes(CHANGELOG, version)


def test_an_empty_section_stops_the_release():
    with pytest.raises(ChangelogError, match="is empty"):
        release_notes("## [1.0.0] - 2026-12-01\n\n## [0.9.0] - 2026-11-01\n- x\n", "1.0.0")


def test_the_command_fails_when_pyproject_names_another_version(tmp_path):
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.0.0"\n')
    result = run("v1.1.0", "--changelog", "CHANGELOG.md", "--pyproject", "pyproject.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert "pyproject.toml says version 1.0.0, the tag says v1.1.0" in result.stderr
    ok = run("v1.0.0", "--changelog", "CHANGELOG.md", "--pyproject", "pyproject.toml", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "### Added\n\n- Everything.\n"


def test_the_repositorys_changelog_has_notes_for_the_version_in_pyproject():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = run(f"v{version}", "--pyproject", "pyproject.toml")
    assert result.returncode == 0, result.stderr
    assert "### Added" in result.stdout


def test_the_repositorys_changelog_keeps_an_unreleased_section_first():
    releases = parse_changelog((ROOT / "CHANGELOG.md").read_text())
    assert releases[0].version == "Unreleased"
    assert all(r.date for r in releases[1:])
