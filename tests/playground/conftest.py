from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from apps.mlmodels.models import ModelVersion

from ..models import make_version

DEMO = "sentiment-demo"
GAMMA_BIASES = [0.0, -1.0, 3.0]  # every prediction is "gamma"


def build_gamma_head_artifact(source: Path, path: Path) -> Path:
    """The fixed-head artifact with other biases: it always answers "gamma", where the
    fixed head answers "beta", so a comparison of the two differs on every input."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if (path / "config.json").exists():
        return path
    model = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=True)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor(GAMMA_BIASES))
    tmp = path.with_name(path.name + ".tmp")
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(tmp)
    tmp.rename(path)
    return path


@pytest.fixture(scope="session")
def gamma_head_artifact(fixed_head_artifact: Path) -> Path:
    return build_gamma_head_artifact(fixed_head_artifact, Path(settings.MODEL_ARTIFACTS_DIR) / "tests" / "gamma-head")


@pytest.fixture
def demo(db: Any, fixed_head_artifact: Path) -> ModelVersion:
    """The published demo model (the fixed head under the demo's id), with examples."""
    version = make_version(fixed_head_artifact, slug=DEMO)
    version.model.example_inputs = ["The docs are great.", "Support never answered."]
    version.model.description = "Positive or negative? A small demo model."
    version.model.save()
    return version


@pytest.fixture
def no_workers(worker_pair: Any) -> None:
    """Stop the suite's shared workers if an earlier test started them: this test needs a
    queue that nobody consumes (and no heartbeat)."""
    worker_pair.stop()


class Visitor:
    """A browser without an account: it loaded the playground (so it holds the CSRF cookie)
    and sends the token back in X-CSRFToken, as playground.js does."""

    def __init__(self, client: Client, ip: str = "203.0.113.7") -> None:
        self.client = client
        self.ip = ip
        page = client.get("/playground/", REMOTE_ADDR=ip)
        assert page.status_code == 200
        self.token = client.cookies[settings.CSRF_COOKIE_NAME].value

    def classify(self, body: dict[str, Any]) -> Any:
        return self.client.post(
            "/api/v1/classify", json.dumps(body), content_type="application/json",
            HTTP_X_CSRFTOKEN=self.token, REMOTE_ADDR=self.ip,
        )  # fmt: skip

    def job(self, job_id: str) -> Any:
        return self.client.get(f"/api/v1/jobs/{job_id}", REMOTE_ADDR=self.ip)


@pytest.fixture
def visitor() -> Visitor:
    return Visitor(Client(enforce_csrf_checks=True))


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def classify(client: Client, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/classify", json.dumps(body), content_type="application/json")


def config_of(response: Any) -> dict[str, Any]:
    """The JSON block the playground page hands to its script."""
    import re

    match = re.search(r'<script id="playground-config" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)  # fmt: skip
    assert match, "no playground-config block"
    return json.loads(match.group(1))
