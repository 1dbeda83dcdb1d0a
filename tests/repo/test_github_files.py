"""The files under .github/ are valid for GitHub, and CODEOWNERS covers the code as laid out.

Workflows, issue forms and the Dependabot file are validated with check-jsonschema's
vendored schemas (`--builtin-schema`), so no network is needed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..services import ROOT

GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ISSUE_FORMS = sorted(p for p in (GITHUB / "ISSUE_TEMPLATE").glob("*.yml") if p.name != "config.yml")
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")


def validate(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    command = [CHECK_JSONSCHEMA, "--builtin-schema", schema, *map(str, files)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_repository_has_the_workflows_and_forms_it_documents():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml"}
    assert {p.name for p in ISSUE_FORMS} == {"bug_report.yml", "feature_request.yml", "docs.yml", "model_quality.yml"}


def test_every_workflow_validates_against_the_github_workflow_schema():
    result = validate("vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_issue_form_and_the_chooser_config_validate():
    forms = validate("vendor.github-issue-forms", *ISSUE_FORMS)
    assert forms.returncode == 0, forms.stdout + forms.stderr
    config = validate("vendor.github-issue-config", GITHUB / "ISSUE_TEMPLATE" / "config.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_the_dependabot_file_validates_and_covers_pip_actions_and_docker():
    result = validate("vendor.dependabot", GITHUB / "dependabot.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    updates = yaml.safe_load((GITHUB / "dependabot.yml").read_text())["updates"]
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in updates}
    assert {("pip", "/requirements"), ("github-actions", "/"), ("docker", "/deploy")} <= ecosystems


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda w: w["jobs"]["test"].pop("runs-on"), "runs-on"),
        (lambda w: w["jobs"]["test"].update(steps="make test"), "steps"),
        (lambda w: w["jobs"]["test"].update(timeout="60"), "timeout"),
    ],
    ids=["job-without-runner", "steps-not-a-list", "misspelt-key"],
)
def test_a_broken_workflow_fails_validation(tmp_path, breakage, expected):
    workflow = yaml.safe_load((GITHUB / "workflows" / "ci.yml").read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as true
    intact = tmp_path / "intact.yml"
    intact.write_text(yaml.safe_dump(workflow, sort_keys=False))
    assert validate("vendor.github-workflows", intact).returncode == 0
    breakage(workflow)
    broken = tmp_path / "ci.yml"
    broken.write_text(yaml.safe_dump(workflow, sort_keys=False))
    result = validate("vendor.github-workflows", broken)
    assert result.returncode == 1
    assert "ci.yml" in result.stdout + result.stderr
    assert expected in result.stdout + result.stderr


def test_an_issue_form_dropdown_without_options_fails_validation(tmp_path):
    broken = tmp_path / "bug_report.yml"
    shutil.copy(GITHUB / "ISSUE_TEMPLATE" / "bug_report.yml", broken)
    form = yaml.safe_load(broken.read_text())
    assert validate("vendor.github-issue-forms", broken).returncode == 0
    next(item for item in form["body"] if item["type"] == "dropdown")["attributes"].pop("options")
    broken.write_text(yaml.safe_dump(form, sort_keys=False))
    result = validate("vendor.github-issue-forms", broken)
    assert result.returncode == 1


def test_the_pre_commit_configuration_is_valid():
    pre_commit = str(Path(sys.executable).parent / "pre-commit")
    result = subprocess.run(
        [pre_commit, "validate-config", ".pre-commit-config.yaml"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def codeowners() -> list[tuple[str, list[str]]]:
    rules = []
    for line in (GITHUB / "CODEOWNERS").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    return rules


def owners_of(path: str) -> list[str]:
    """The owners GitHub would request for `path` (last matching rule wins)."""
    found: list[str] = []
    for pattern, owners in codeowners():
        if pattern == "*" or path.startswith(pattern.lstrip("/")):
            found = owners
    return found


def test_every_codeowners_line_names_teams_and_an_existing_path():
    for pattern, owners in codeowners():
        assert owners, f"{pattern} has no owner"
        assert all(re.fullmatch(r"@developer-portal/[a-z-]+", owner) for owner in owners), (pattern, owners)
        if pattern != "*":
            assert (ROOT / pattern.strip("/")).exists(), f"CODEOWNERS names {pattern}, which does not exist"


@pytest.mark.parametrize("app", sorted(p.name for p in (ROOT / "apps").iterdir() if (p / "apps.py").exists()))
def test_every_app_and_its_tests_have_an_owner_of_their_own(app):
    owners = owners_of(f"apps/{app}/models.py")
    assert owners and owners != ["@developer-portal/maintainers"], f"apps/{app}/ falls through to the default owner"
    if (ROOT / "tests" / app).exists():
        assert owners_of(f"tests/{app}/test_x.py") == owners


def test_translations_need_a_translator_and_the_apps_owner():
    for catalogue in sorted(ROOT.glob("apps/*/locale")):
        app = catalogue.parent.name
        owners = owners_of(f"apps/{app}/locale/zh_Hans/LC_MESSAGES/django.po")
        assert "@developer-portal/translators" in owners
        assert set(owners_of(f"apps/{app}/views.py")) <= set(owners)
