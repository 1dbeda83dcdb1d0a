"""Audit the locked requirements for published vulnerabilities with pip-audit.

    python tools/audit_deps.py                        # `make audit`
    python tools/audit_deps.py --allow-missing-data   # where the registry may lack the data

Every `name==version` of requirements/lock.txt (the web and worker images) and
requirements/dev-lock.txt (tools) is audited as written, with `--no-deps --disable-pip`:
the locks are complete, so pip-audit needs no resolver and no virtual environment, and
the only thing it talks to is the vulnerability service, PyPI's JSON API by default.

One rewrite: a pin with a local version label (`torch==2.13.0+cpu`) is audited as its
public release (`torch==2.13.0`). Advisories name public releases; the label marks the
same source built for another accelerator (the worker image installs `+cu128`), and
PyPI has no page for a local version, so the pin as written would be skipped unaudited.

Exit status:
- 0: every package audited, nothing found (apart from IGNORED, each with its reason);
- 1: a known vulnerability, a package skipped for any reason, or a service that did not
  answer: a timeout or an HTTP error is retried (`--attempts`, with a growing delay), then
  reported loudly as a failure, never passed over;
- 2: the registry answers but serves no per-release vulnerability data (a mirror that
  carries only the project pages and the simple index): nothing was audited.
  `--allow-missing-data` makes that a loud warning with exit 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = (ROOT / "requirements" / "lock.txt", ROOT / "requirements" / "dev-lock.txt")
PYPI_JSON = "https://pypi.org/pypi"

# Advisory id (or any alias) -> why it does not apply to us (the vulnerable code is never
# reached, no fixed release exists yet, ...). Remove an entry once the pin moves past it.
IGNORED: dict[str, str] = {}

NOT_FOUND = "not found on PyPI"


@dataclass
class Outcome:
    audited: int = 0
    vulnerable: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing_data: list[str] = field(default_factory=list)


def audit_requirements(locks: tuple[Path, ...]) -> tuple[list[str], list[str]]:
    """The pins to audit, as requirement lines, and a note for each one rewritten."""
    lines: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for path in locks:
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue  # comments, and dev-lock's `-r lock.txt` (lock.txt is audited itself)
            name, sep, version = line.partition("==")
            if not sep:
                raise SystemExit(f"{path}:{number}: not an exact pin: {raw!r}")
            version = version.split(";", 1)[0].strip()
            if (key := f"{canonicalize_name(name)}=={version}") in seen:
                continue  # pinned in both locks: audited once
            seen.add(key)
            public = Version(version).public
            if public != version:
                notes.append(f"{name.strip()}=={version} ({path.name}) audited as its public release {public}")
            lines.append(f"{name.strip()}=={public}")
    return lines, notes


def run_pip_audit(requirements: Path, output: Path, args: argparse.Namespace) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(requirements),
        "--no-deps",
        "--disable-pip",
        "--format",
        "json",
        "--aliases",
        "on",
        "--desc",
        "on",
        "--output",
        str(output),
        "--progress-spinner",
        "off",
        "--timeout",
        str(args.timeout),
        "--vulnerability-service",
        args.service,
    ]
    if args.osv_url:
        command += ["--osv-url", args.osv_url]
    if args.cache_dir:
        command += ["--cache-dir", str(args.cache_dir)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def registry_has_release(name: str, version: str, *, timeout: float) -> bool | None:
    """Whether PyPI's project page lists this release: True, False, or None when it is not on PyPI."""
    response = requests.get(f"{PYPI_JSON}/{canonicalize_name(name)}/json", timeout=timeout)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return version in response.json().get("releases", {})


def judge(report: dict[str, Any], *, versions: dict[str, str], probe: Callable[[str, str], bool | None]) -> Outcome:
    """Sort pip-audit's JSON report into what passes and what does not.

    `probe(name, version)` answers whether the registry lists a release that the
    vulnerability service could not find (see registry_has_release).
    """
    outcome = Outcome()
    not_found: list[str] = []
    for dep in report["dependencies"]:
        name = dep["name"]
        if "skip_reason" in dep:
            if NOT_FOUND in dep["skip_reason"]:
                not_found.append(name)
            else:
                outcome.skipped.append(f"{name}: {dep['skip_reason']}")
            continue
        outcome.audited += 1
        for vuln in dep["vulns"]:
            ids = [vuln["id"], *vuln.get("aliases", [])]
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            line = f"{name} {dep['version']}: {' / '.join(ids)} (fixed in {fixed}): {vuln.get('description', '')[:160]}"
            reason = next((IGNORED[i] for i in ids if i in IGNORED), None)
            if reason:
                outcome.ignored.append(f"{line} -- ignored: {reason}")
            else:
                outcome.vulnerable.append(line)
    if not_found:
        # The service had no page for these releases. One question to the project page
        # tells a registry without per-release data from a package that is not on PyPI.
        first = not_found[0]
        listed = probe(first, versions.get(first, ""))
        if listed:
            outcome.missing_data = [f"{name} {versions.get(name, '')}" for name in not_found]
        else:
            outcome.skipped += [f"{name}: {NOT_FOUND}" for name in not_found]
    return outcome


def _audit_report(lines: list[str], args: argparse.Namespace) -> dict[str, Any] | None:
    """pip-audit's JSON report over ``lines``, retried while the service does not answer;
    None (having said why) when it never does."""
    with tempfile.TemporaryDirectory(prefix="audit-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text("\n".join(lines) + "\n")
        output = Path(scratch) / "report.json"
        delay = args.retry_delay
        for attempt in range(1, args.attempts + 1):
            output.unlink(missing_ok=True)
            result = run_pip_audit(requirements, output, args)
            if output.exists():
                report: dict[str, Any] = json.loads(output.read_text())
                return report
            error = (result.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"audit: attempt {attempt} of {args.attempts}: the vulnerability service failed: {error}")
            if attempt < args.attempts:
                time.sleep(delay)
                delay *= 2
    print(
        f"AUDIT FAILED: the vulnerability service ({args.service}) did not answer after "
        f"{args.attempts} attempts; nothing was audited.\n{result.stderr.strip()[-2000:]}",
        file=sys.stderr,
    )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lock", type=Path, action="append", help="a lock file (repeatable; default: both)")
    parser.add_argument("--service", choices=["pypi", "osv"], default="pypi", help="pip-audit's vulnerability service")
    parser.add_argument("--osv-url", help="another OSV query endpoint (with --service osv)")
    parser.add_argument("--cache-dir", type=Path, help="pip-audit's HTTP cache")
    parser.add_argument("--timeout", type=int, default=30, help="seconds per request")
    parser.add_argument("--attempts", type=int, default=3, help="tries when the service does not answer")
    parser.add_argument("--retry-delay", type=float, default=10.0, help="seconds before the 2nd try; doubles after")
    parser.add_argument("--allow-missing-data", action="store_true", help="exit 0 when the registry has no data")
    args = parser.parse_args(argv)

    locks = tuple(args.lock or LOCKS)
    lines, notes = audit_requirements(locks)
    versions = {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in lines}
    for note in notes:
        print(f"audit: {note}")

    report = _audit_report(lines, args)
    if report is None:
        return 1

    def probe(name: str, version: str) -> bool | None:
        for attempt in range(1, args.attempts + 1):
            try:
                return registry_has_release(name, version, timeout=args.timeout)
            except requests.RequestException as exc:
                print(f"audit: attempt {attempt}: the registry's project page for {name} failed: {exc}")
                if attempt < args.attempts:
                    time.sleep(args.retry_delay)
        raise SystemExit(f"AUDIT FAILED: the registry did not answer for {name} after {args.attempts} attempts")

    outcome = judge(report, versions=versions, probe=probe)
    for line in outcome.ignored:
        print(f"audit: {line}")
    if outcome.vulnerable or outcome.skipped:
        for line in outcome.vulnerable:
            print(f"VULNERABLE {line}", file=sys.stderr)
        for line in outcome.skipped:
            print(f"NOT AUDITED {line}", file=sys.stderr)
        print(
            f"AUDIT FAILED: {len(outcome.vulnerable)} known vulnerabilities, {len(outcome.skipped)} packages "
            "not audited. Upgrade the pin (make lock), or record a reviewed reason in IGNORED in "
            "tools/audit_deps.py.",
            file=sys.stderr,
        )
        return 1
    if outcome.missing_data:
        print(
            f"AUDIT INCOMPLETE: the registry lists these releases but serves no vulnerability data for "
            f"them, so {len(outcome.missing_data)} of {len(versions)} packages were not audited "
            f"(first: {outcome.missing_data[0]}). The per-release JSON pages "
            f"({PYPI_JSON}/NAME/VERSION/json) are missing on this network; the CI job on GitHub "
            "reaches them.",
            file=sys.stderr,
        )
        return 0 if args.allow_missing_data else 2
    print(f"audit: {outcome.audited} packages audited against {args.service}: no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
