"""Which version of a model answers requests: the rule every page and queue asks for."""

import pytest

from apps.mlmodels.models import ModelVersion, VersionStatus
from apps.mlmodels.selectors import version_serving_pick

pytestmark = pytest.mark.embedded


def _versions(*statuses):
    """Versions newest first: the first status is the highest version number."""
    return [ModelVersion(version=len(statuses) - i, status=s) for i, s in enumerate(statuses)]


def test_the_newest_published_version_serves_even_when_a_newer_one_is_deprecated_or_a_draft():
    draft, deprecated, published = VersionStatus.DRAFT, VersionStatus.DEPRECATED, VersionStatus.PUBLISHED
    versions = _versions(draft, deprecated, published, published)
    assert version_serving_pick(versions).version == 2


def test_without_a_published_version_the_newest_deprecated_one_serves():
    versions = _versions(VersionStatus.RETIRED, VersionStatus.DEPRECATED, VersionStatus.DEPRECATED)
    assert version_serving_pick(versions).version == 2


def test_drafts_and_retired_versions_never_serve():
    assert version_serving_pick(_versions(VersionStatus.DRAFT, VersionStatus.RETIRED)) is None
    assert version_serving_pick([]) is None
