from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.mlmodels.models import ModelVersion

from ..models import EXPECTED, LABELS, build_fixed_head_artifact, make_version

__all__ = ["EXPECTED", "LABELS", "build_fixed_head_artifact", "make_version"]


@pytest.fixture
def published(db: Any, fixed_head_artifact: Path) -> ModelVersion:
    return make_version(fixed_head_artifact)
