from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from apps.inference.models import InferenceJob
from apps.mlmodels.models import ModelVersion

from ..models import EXPECTED, LABELS, build_fixed_head_artifact, make_version

__all__ = ["EXPECTED", "LABELS", "build_fixed_head_artifact", "make_version", "wait_rows"]


@pytest.fixture
def published(db: Any, fixed_head_artifact: Path) -> ModelVersion:
    return make_version(fixed_head_artifact)


def wait_rows(ids: list[Any], predicate: Any, timeout: float) -> list[InferenceJob]:
    """The job rows of ``ids`` once ``predicate(rows)`` holds; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = list(InferenceJob.objects.filter(id__in=ids))
        if predicate(jobs):
            return jobs
        time.sleep(0.25)
    raise AssertionError(f"timed out; statuses: {[j.status for j in InferenceJob.objects.filter(id__in=ids)]}")
