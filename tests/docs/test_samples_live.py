"""The API samples of the docs, run for real: a live server, a real Celery worker, published
models under the ids the docs use, and a key issued by ``issue_key`` (as an admin would).

The models are fixed-head classifiers on the bundled encoder (cheap to build, no training):
what is checked here is that each documented request is accepted by the API and answers
in the documented shape, not the quality of a model. Shell samples run in bash with curl;
Python samples run in a fresh interpreter after the samples before them on the same page,
as a reader following the page would run them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.apikeys import keyformat
from apps.apikeys.models import ALL_SCOPES
from apps.docs.content import SourceFile
from apps.mlmodels.models import MLModel, ModelVersion, VersionStatus

from ..factories import UserFactory
from .test_samples import FILES, MODELS, SAMPLES, SHAPES

pytestmark = [pytest.mark.worker]

# The one sample that asks for a job by a made-up id: the documented answer is 404.
UNKNOWN_JOB_SAMPLES = {"jobs-poll-curl"}


def _artifact(labels: list[str]) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from apps.mlmodels.runtime import base_encoder_path

    path = Path(settings.MODEL_ARTIFACTS_DIR) / "tests" / f"docs-{len(labels)}-labels"
    if (path / "config.json").exists():
        return path
    base = base_encoder_path()
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        local_files_only=True,
    )
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.linspace(-1, 1, len(labels)))
    staging = path.with_name(path.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(staging)
    staging.rename(path)
    return path


@pytest.fixture
def portal(transactional_db: Any, live_server: Any) -> dict[str, str]:
    from apps.inference.services import serving_manifest_publish

    for slug, labels in MODELS.items():
        model = MLModel.objects.create(slug=slug, name=slug, labels=labels, description=f"{slug} for the docs tests")
        ModelVersion.objects.create(
            model=model,
            version=1,
            status=VersionStatus.PUBLISHED,
            artifact_dir=str(_artifact(labels)),
            base_encoder="all-MiniLM-L6-v2",
            max_length=64,
        )
    serving_manifest_publish()
    user = UserFactory(username="docs-reader")
    portal = {"PORTAL_URL": live_server.url, "PORTAL_API_KEY": _issue_key(user.email, ALL_SCOPES)}
    # A tutorial's samples run with exactly the scopes the course tells the reader to pick.
    for source in FILES:
        if source.kind == "course":
            portal[f"course:{source.language}:{source.course}"] = _issue_key(user.email, source.meta["scopes"])
    return portal


def _issue_key(email: str, scopes: list[str]) -> str:
    out = StringIO()
    call_command("issue_key", email=email, scopes=",".join(scopes), stdout=out)
    keys = keyformat.find_keys(out.getvalue())
    assert len(keys) == 1, out.getvalue()
    return keys[0].raw


def _env(portal: dict[str, str], source: SourceFile) -> dict[str, str]:
    """A docs page's samples get a key with every scope; a tutorial's, its course's key."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PORTAL_URL": portal["PORTAL_URL"],
        "PORTAL_API_KEY": portal.get(f"course:{source.language}:{source.course}", portal["PORTAL_API_KEY"]),
    }


def _check_answer(sample_id: str, stdout: str) -> None:
    body = json.loads(stdout)
    if sample_id in UNKNOWN_JOB_SAMPLES:
        SHAPES["problem"](body)
        assert body["type"] == "not_found"
        return
    assert not ({"type", "status"} <= set(body) and body["status"] >= 400), body
    if "results" in body and "timing" in body:
        SHAPES["classify-200"](body)
    elif body.get("status") in ("queued", "running"):
        SHAPES["classify-202"](body)


def test_every_api_sample_runs_against_the_live_api(portal, worker, tmp_path):
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the docs' curl samples")
    seen: set[tuple[str, str]] = set()
    ran = 0
    for source, sample in SAMPLES:
        if sample.check != "api" or (sample.id, sample.code) in seen:
            continue
        seen.add((sample.id, sample.code))
        where = f"{source.display_path}:{sample.line} ({sample.id})"
        if sample.lang == "sh":
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", sample.code],
                env=_env(portal, source), capture_output=True, text=True, timeout=90,
            )  # fmt: skip
            assert result.returncode == 0, f"{where}: {result.stderr}"
            _check_answer(sample.id, result.stdout)
        else:
            before = [
                s.code for s in source.samples[: sample.index] if s.lang == "python" and s.check in ("run", "api")
            ]
            script = "\n\n".join([*before, sample.code])
            result = subprocess.run(
                [sys.executable, "-c", script],
                cwd=tmp_path,
                env=_env(portal, source),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, f"{where}:\n{result.stderr[-3000:]}"
        ran += 1
    assert ran >= 20
