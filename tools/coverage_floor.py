"""Enforce the branch-coverage floor on the modules that hold the portal's rules.

Reads the combined coverage data (``coverage combine`` first; ``make test`` does) and prints
one row per module that matches ``apps/*/services*``, ``apps/*/selectors*`` or
``apps/*/tasks*``, a module of such a package included, then exits 1 when any of them is
under the floor, 90 %. A module the tests never imported counts as 0 %. (The modules that
were under it when the floor came in had lower floors of their own for a while; all of
them have reached it, and a new module starts at it.)

Percentages are coverage.py's own: executed statements plus executed branch arcs over all
statements and branch arcs, so a module whose ``if`` never took its ``else`` is not 100 %.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = 90.0
PATTERNS = (
    "apps/*/services.py",
    "apps/*/services/*.py",
    "apps/*/selectors.py",
    "apps/*/selectors/*.py",
    "apps/*/tasks.py",
    "apps/*/tasks/*.py",
)


@dataclass(frozen=True)
class Row:
    path: str
    statements: int
    covered_statements: int
    branches: int
    covered_branches: int

    @property
    def total(self) -> int:
        return self.statements + self.branches

    @property
    def percent(self) -> float:
        if not self.total:
            return 100.0
        return 100.0 * (self.covered_statements + self.covered_branches) / self.total


def governed(path: str) -> bool:
    """Whether the floor applies to ``path`` (relative to the repository, with slashes)."""
    return any(fnmatch(path, pattern) for pattern in PATTERNS) and "/migrations/" not in path


def rows_from_report(report: dict[str, object], root: Path = ROOT) -> list[Row]:
    """The governed modules of a coverage JSON report, plus those it lacks (as 0 %)."""
    files = report.get("files")
    if not isinstance(files, dict):
        raise SystemExit("coverage JSON report has no 'files' table")
    rows: dict[str, Row] = {}
    for name, entry in files.items():
        path = Path(name)
        rel = (path.relative_to(root) if path.is_absolute() else path).as_posix()
        if not governed(rel):
            continue
        summary = entry["summary"]
        rows[rel] = Row(
            rel,
            summary["num_statements"],
            summary["covered_lines"],
            summary.get("num_branches", 0),
            summary.get("covered_branches", 0),
        )
    for path in sorted((root / "apps").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if governed(rel) and rel not in rows and path.read_text().strip():
            rows[rel] = Row(rel, 1, 0, 0, 0)  # never imported: nothing of it ran
    return sorted(rows.values(), key=lambda row: row.path)


def under(rows: list[Row], floor: float) -> list[Row]:
    """The modules below ``floor``."""
    return [row for row in rows if row.percent < floor]


def table(rows: list[Row], floor: float) -> str:
    width = max([len(row.path) for row in rows] + [len("Module")])
    lines = [f"{'Module':<{width}}  Stmts  Branches  Cover", "-" * (width + 28)]
    for row in rows:
        mark = f"   UNDER THE FLOOR by {floor - row.percent:.1f}" if row.percent < floor else ""
        lines.append(f"{row.path:<{width}}  {row.statements:>5}  {row.branches:>8}  {row.percent:5.1f}%{mark}")
    return "\n".join(lines)


def json_report(data_file: str | None) -> dict[str, object]:
    import coverage

    cov = coverage.Coverage(data_file=data_file) if data_file else coverage.Coverage()
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(out), ignore_errors=True)
        loaded: dict[str, object] = json.loads(out.read_text())
        return loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", type=float, default=FLOOR, help="lowest allowed percentage (default %(default)s)")
    parser.add_argument("--data-file", help="combined coverage data (default: [tool.coverage.run] data_file)")
    args = parser.parse_args(argv)
    rows = rows_from_report(json_report(args.data_file))
    if not rows:
        print("coverage floor: no services, selectors or tasks modules in the data", file=sys.stderr)
        return 1
    print(table(rows, args.floor))
    short = under(rows, args.floor)
    if short:
        print(f"coverage floor: {len(short)} of {len(rows)} modules under {args.floor:g} %", file=sys.stderr)
        return 1
    print(f"coverage floor: all {len(rows)} modules at {args.floor:g} % or more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
