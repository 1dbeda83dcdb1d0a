"""Release notes from CHANGELOG.md (Keep a Changelog).

    python tools/release_notes.py v0.2.0                       # print that version's section
    python tools/release_notes.py v0.2.0 --pyproject pyproject.toml   # and check the version

The release workflow runs the second form for the pushed tag and publishes what it prints.
It fails (exit 1) when the changelog has no dated section for the version, when the
section is empty, or when pyproject.toml names another version. The portal's public
changelog can read the same releases through `parse_changelog`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = ROOT / "CHANGELOG.md"

# "## [1.2.0] - 2026-12-01" or "## [Unreleased]"
_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?:\s+-\s+(?P<date>\d{4}-\d{2}-\d{2}))?\s*$")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s+\S+")


class ChangelogError(Exception):
    pass


@dataclass(frozen=True)
class Release:
    version: str  # "1.2.0", or "Unreleased"
    date: str | None  # ISO date; None for Unreleased
    body: str  # the Markdown under the heading, without it


def parse_changelog(text: str) -> list[Release]:
    """Every `## [...]` section in order, newest first as the file has them."""
    releases: list[Release] = []
    current: tuple[str, str | None] | None = None
    lines: list[str] = []

    def close() -> None:
        if current is not None:
            releases.append(Release(current[0], current[1], "\n".join(lines).strip()))

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            close()
            current, lines = (match["version"], match["date"]), []
        elif line.startswith("## ") or _LINK_DEFINITION.match(line):
            close()
            current, lines = None, []
        elif current is not None:
            lines.append(line)
    close()
    return releases


def release_notes(text: str, version: str) -> str:
    """The body of `version`'s section; a leading "v" (the tag) is allowed."""
    wanted = version.removeprefix("v")
    for release in parse_changelog(text):
        if release.version == wanted:
            if release.date is None:
                raise ChangelogError(f"CHANGELOG.md: [{wanted}] has no release date (## [{wanted}] - YYYY-MM-DD)")
            if not release.body:
                raise ChangelogError(f"CHANGELOG.md: [{wanted}] is empty")
            return release.body + "\n"
    raise ChangelogError(f"CHANGELOG.md has no section [{wanted}]: move the Unreleased entries under it first")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", help="the version or tag, e.g. v0.2.0")
    parser.add_argument("--changelog", type=Path, default=CHANGELOG)
    parser.add_argument("--pyproject", type=Path, help="fail unless [project].version is this version")
    args = parser.parse_args(argv)
    try:
        notes = release_notes(args.changelog.read_text(encoding="utf-8"), args.version)
        if args.pyproject:
            declared = tomllib.loads(args.pyproject.read_text(encoding="utf-8"))["project"]["version"]
            if declared != args.version.removeprefix("v"):
                raise ChangelogError(f"{args.pyproject} says version {declared}, the tag says {args.version}")
    except ChangelogError as exc:
        print(exc, file=sys.stderr)
        return 1
    sys.stdout.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
