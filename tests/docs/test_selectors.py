"""Reads of the docs app that the views build on."""

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.docs.selectors import doc_version_switcher, doc_versions

from .conftest import write

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_one_api_version_has_no_version_switcher(tree, sync):
    sync(tree)
    assert doc_versions() == ["v1"]
    assert doc_version_switcher(viewer=AnonymousUser(), slug="guide", versions=doc_versions()) == []


def test_the_switcher_lists_versions_newest_first_linking_the_page_where_it_exists(tree, sync):
    write(tree, "en/docs/v2/guide.md", "---\ntitle: Guide v2\nsection: api\nversion: v2\n---\nNew.\n")
    write(tree, "en/docs/legacy.md", "---\ntitle: Legacy auth\nsection: api\n---\nOld.\n")
    sync(tree)
    versions = doc_versions()
    assert versions == ["v1", "v2"]
    assert doc_version_switcher(viewer=AnonymousUser(), slug="guide", versions=versions) == [
        {"version": "v2", "slug": "guide", "latest": True},
        {"version": "v1", "slug": "guide", "latest": False},
    ]
    # A page of v1 only: v2's entry leads to that version's index.
    assert doc_version_switcher(viewer=AnonymousUser(), slug="legacy", versions=versions) == [
        {"version": "v2", "slug": "", "latest": True},
        {"version": "v1", "slug": "legacy", "latest": False},
    ]


def test_the_switcher_links_a_draft_for_staff_only(tree, sync, owner, admin_user):
    write(tree, "en/docs/v2/guide.md", "---\ntitle: Guide v2\nsection: api\nversion: v2\n---\nNew.\n")
    write(tree, "en/docs/v2/secret.md", "---\ntitle: Soon\nsection: api\nversion: v2\ndraft: true\n---\nSoon.\n")
    write(tree, "en/docs/secret.md", "---\ntitle: Old secret\nsection: api\n---\nPublished in v1.\n")
    sync(tree)
    for viewer, draft_slug in ((AnonymousUser(), ""), (owner, ""), (admin_user, "secret")):
        switcher = doc_version_switcher(viewer=viewer, slug="secret", versions=["v1", "v2"])
        assert [(entry["version"], entry["slug"]) for entry in switcher] == [("v2", draft_slug), ("v1", "secret")]
