"""The deployment files are valid and keep the promises deploy/README.md makes.

These tests read files and run docker-compose and hadolint; none touches the database.
Without those binaries the tests that need them skip, except in CI, where they fail.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCKERFILES = sorted(DEPLOY.glob("Dockerfile.*"))

# docker-compose 1.29 says this when ${NAME} has no value anywhere.
UNSET_VARIABLE = re.compile(r"The (\w+) variable is not set")


def require_binary(name: str) -> str:
    """Return the path of `name` (on PATH or beside this Python), or skip; in CI, fail."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found:
        return found
    message = f"{name} is not installed"
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI must run every deployment check")
    pytest.skip(message)


def env_example_names() -> set[str]:
    """Variable names in .env.example, including optional ones left commented out."""
    pattern = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
    return set(pattern.findall(ENV_EXAMPLE.read_text()))


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` run on a copy of deploy/, with .env.example as its .env.

    The copy keeps the checkout free of a deploy/.env. Only PATH and HOME reach
    docker-compose, so no variable from the caller's shell hides a gap in .env.example.
    The `cpu` profile is on, so the CPU inference worker is in the output too.
    """
    docker_compose = require_binary("docker-compose")
    deploy = tmp_path_factory.mktemp("compose") / "deploy"
    deploy.mkdir()
    for name in ("docker-compose.yml", "nginx.conf"):
        shutil.copy(DEPLOY / name, deploy / name)
    shutil.copy(ENV_EXAMPLE, deploy / ".env")
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [docker_compose, "-f", str(deploy / "docker-compose.yml"), "--profile", "cpu", "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def services(compose_config: subprocess.CompletedProcess[str]) -> dict:
    assert compose_config.returncode == 0, compose_config.stderr
    return yaml.safe_load(compose_config.stdout)["services"]


def test_compose_file_validates_with_docker_compose_config(tmp_path: Path) -> None:
    docker_compose = require_binary("docker-compose")
    deploy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, deploy, ignore=shutil.ignore_patterns(".env"))
    shutil.copy(ENV_EXAMPLE, deploy / ".env")

    result = subprocess.run(
        [docker_compose, "-f", str(deploy / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_compose_file_needs_no_variable_missing_from_env_example(
    compose_config: subprocess.CompletedProcess[str],
) -> None:
    assert compose_config.returncode == 0, compose_config.stderr
    assert UNSET_VARIABLE.findall(compose_config.stderr) == []


def test_env_example_lists_every_variable_the_compose_file_references() -> None:
    text = COMPOSE_FILE.read_text().replace("$$", "")  # "$$" is a literal dollar sign
    referenced = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))

    assert referenced, "the compose file should take its settings from deploy/.env"
    assert referenced - env_example_names() == set()


def test_inference_worker_reserves_one_nvidia_gpu(services: dict) -> None:
    devices = services["inference-worker"]["deploy"]["resources"]["reservations"]["devices"]

    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


@pytest.mark.parametrize("name", ["inference-worker", "inference-worker-cpu"])
def test_inference_workers_get_no_database_url(services: dict, name: str) -> None:
    worker = services[name]

    assert "DATABASE_URL" not in worker.get("environment", {})
    assert "REDIS_URL" in worker["environment"]
    assert "CELERY_RESULT_BACKEND" in worker["environment"]
    # The other Django containers do get it, so the check above is not vacuous.
    assert "DATABASE_URL" in services["web"]["environment"]


def test_gpu_worker_image_sets_no_database_url() -> None:
    assert "DATABASE_URL" not in (DEPLOY / "Dockerfile.worker").read_text()


def test_inference_worker_consumes_only_the_inference_queue_one_process_at_a_time() -> None:
    cmd = (DEPLOY / "Dockerfile.worker").read_text().split("\nCMD ")[-1]

    assert '"-Q", "inference"' in cmd
    assert '"--pool", "solo"' in cmd  # one process: the model loads once, batches run in it
    assert '"--prefetch-multiplier", "64"' in cmd  # the prefetch caps the batch size


def test_trained_artifacts_are_shared_from_the_training_worker_to_the_inference_workers(services: dict) -> None:
    assert "model-artifacts:/app/var/models:rw" in services["default-worker"]["volumes"]
    assert "model-artifacts:/app/var/models:ro" in services["inference-worker"]["volumes"]


def test_redis_runs_with_noeviction_and_append_only(services: dict) -> None:
    command = services["redis"]["command"]
    if isinstance(command, str):
        command = command.split()
    options = dict(zip(command[1::2], command[2::2], strict=False))

    assert command[0] == "redis-server"
    assert options["--maxmemory-policy"] == "noeviction"
    assert options["--appendonly"] == "yes"


def test_web_waits_for_healthy_backing_services_and_finished_migrations(services: dict) -> None:
    depends_on = services["web"]["depends_on"]

    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in services["web"], "web replicas are reached through nginx only"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_every_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = require_binary("hadolint")

    result = subprocess.run(
        [hadolint, "--no-color", "--config", str(DEPLOY / ".hadolint.yaml"), str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_ignored_hadolint_rule_says_why() -> None:
    lines = (DEPLOY / ".hadolint.yaml").read_text().splitlines()
    rules = [i for i, line in enumerate(lines) if re.match(r"\s*-\s*(DL|SC)\d+", line)]

    assert rules, "no rule is ignored: drop this test together with the ignore list"
    for i in rules:
        assert lines[i - 1].strip().startswith("#"), f"{lines[i].strip()} has no reason above it"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_every_image_runs_as_a_numeric_non_root_user(dockerfile: Path) -> None:
    users = re.findall(r"^USER\s+(\S+)", dockerfile.read_text(), re.MULTILINE)

    assert users, "the image would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_nginx_waits_longer_than_gunicorn_and_the_longest_api_wait() -> None:
    nginx = (DEPLOY / "nginx.conf").read_text()
    read_timeout = int(re.search(r"proxy_read_timeout\s+(\d+)s;", nginx).group(1))
    gunicorn_timeout = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["timeout"]
    longest_api_wait = 30

    assert gunicorn_timeout > longest_api_wait
    assert read_timeout > gunicorn_timeout
    assert re.search(r"client_max_body_size\s+2m;", nginx)


def test_gunicorn_takes_its_worker_count_from_web_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["workers"] == 3

    monkeypatch.delenv("WEB_CONCURRENCY")
    default = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["workers"]
    assert 1 <= default <= 8
