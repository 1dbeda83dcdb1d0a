"""Settings come from the environment: checked in fresh interpreters, as a deployment would."""

import json
import os
import subprocess
import sys

import pytest

from ..services import ROOT

PROBE = (
    "import django, json; django.setup(); from django.conf import settings; from portal.celery import app; "
    "print(json.dumps({'db': settings.DATABASES['default']['ENGINE'], 'db_name': settings.DATABASES['default']['NAME'],"
    " 'cache': settings.CACHES['default']['BACKEND'], 'broker': app.conf.broker_url,"
    " 'result': app.conf.result_backend, 'debug': settings.DEBUG, 'email': settings.EMAIL_BACKEND}))"
)
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_ENV")
STRONG_SECRET = "x7Gq2pV9sL4mN8rT1wZ6yB3cF5hJ0kD-aE_uI9oP2lK7jH4gS1fR8eW3qA6zX0cV"


def _env(tmp_path, **values):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and not k.startswith("DJANGO_")}
    return {**env, "DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": str(tmp_path), **values}


def _probe(tmp_path, **values):
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=_env(tmp_path, **values),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_with_nothing_set_the_portal_uses_its_embedded_defaults_under_var(tmp_path):
    seen = _probe(tmp_path)
    assert seen["db"] == "django.db.backends.sqlite3"
    assert seen["db_name"] == str(tmp_path / "db.sqlite3")
    assert seen["cache"].endswith("FileBasedCache")
    assert seen["broker"].startswith("filesystem://")
    assert seen["result"] == f"apps.core.embedded.results:FilesystemBackend+file://{tmp_path / 'celery' / 'results'}"
    assert seen["debug"] is True
    assert seen["email"].endswith("console.EmailBackend")
    secret = (tmp_path / "secret_key").read_text()
    assert len(secret) >= 50
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    # The generated key is kept: a second start reads the same one.
    _probe(tmp_path)
    assert (tmp_path / "secret_key").read_text() == secret


def test_service_urls_switch_to_postgresql_and_redis(tmp_path):
    seen = _probe(
        tmp_path,
        DATABASE_URL="postgres://portal@db.internal:5432/portal",
        REDIS_URL="redis://cache.internal:6379/0",
        CELERY_BROKER_URL="redis://cache.internal:6379/1",
    )
    assert seen["db"] == "django.db.backends.postgresql"
    assert seen["db_name"] == "portal"
    assert seen["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert seen["broker"] == "redis://cache.internal:6379/1"
    assert seen["result"] == "redis://cache.internal:6379/1"


def test_production_settings_pass_check_deploy_with_no_warnings(tmp_path):
    env = _env(
        tmp_path,
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=STRONG_SECRET,
        DJANGO_ALLOWED_HOSTS="portal.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_secret_key_or_hosts(tmp_path, missing):
    values = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": STRONG_SECRET, "DJANGO_ALLOWED_HOSTS": "a.example"}
    del values[missing]
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_env(tmp_path, **values), capture_output=True, text=True
    )
    assert result.returncode != 0
    assert missing in result.stderr


def test_github_login_turns_on_by_configuration_alone(tmp_path):
    probe = (
        "import django, json; django.setup(); from django.conf import settings;"
        "print(json.dumps({'apps': [a for a in settings.INSTALLED_APPS if 'github' in a],"
        " 'providers': {k: v['APPS'][0]['client_id'] for k, v in settings.SOCIALACCOUNT_PROVIDERS.items()}}))"
    )

    def run(**values):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env=_env(tmp_path, **values),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert run() == {"apps": [], "providers": {}}
    on = run(GITHUB_CLIENT_ID="abc", GITHUB_CLIENT_SECRET="shh")
    assert on["apps"] == ["allauth.socialaccount.providers.github"]
    assert on["providers"] == {"github": "abc"}
    assert run(GITHUB_CLIENT_ID="abc") == {"apps": [], "providers": {}}  # both or nothing
