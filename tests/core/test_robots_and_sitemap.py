"""/robots.txt and /sitemap.xml as a crawler fetches them: private paths closed in every
language, and every public page listed in each language it exists in, and nothing else."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from apps.docs.services import content_sync
from apps.forum.models import Access
from apps.forum.services import post_delete, post_hide

from ..docs.conftest import english_hash, write
from ..forum.factories import CategoryFactory, first_post, make_thread

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

SITE = "http://testserver"
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9", "xhtml": "http://www.w3.org/1999/xhtml"}


def test_robots_txt_closes_private_paths_in_both_languages_and_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    disallowed = {line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow: ")}
    for path in (
        "/api/",
        "/admin/",
        "/accounts/",
        "/account/",
        "/zh-hans/admin/",
        "/zh-hans/accounts/",
        "/zh-hans/account/",
        "/forum/notifications/",
        "/forum/settings/",
        "/zh-hans/forum/settings/",
    ):
        assert path in disallowed, path  # fmt: skip
    assert not disallowed & {"/", "/docs/", "/forum/", "/tutorials/", "/zh-hans/"}
    assert f"Sitemap: {SITE}/sitemap.xml" in lines


def test_robots_txt_names_the_sitemap_at_the_host_the_crawler_asked(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    response = client.get("/robots.txt", HTTP_HOST="portal.example.com", secure=True)
    assert "Sitemap: https://portal.example.com/sitemap.xml" in response.content.decode().splitlines()


@pytest.fixture
def docs(tmp_path: Path, settings) -> None:
    """A docs page in both languages, one only in English, a draft, and a course with a
    translated lesson, synced as ``sync_content`` does."""
    root = tmp_path / "content"
    write(root, "en/docs/index.md", "---\ntitle: Overview\nsection: get-started\norder: 1\n---\nHello.\n")
    write(root, "en/docs/guide.md", "---\ntitle: Guide\nsection: api\norder: 2\n---\nThe guide.\n")
    write(root, "en/docs/english-only.md", "---\ntitle: English only\nsection: api\norder: 3\n---\nText.\n")
    write(root, "en/docs/coming-soon.md", "---\ntitle: Soon\nsection: api\norder: 4\ndraft: true\n---\nSoon.\n")
    write(
        root,
        "en/tutorials/first-steps/index.md",
        "---\ntitle: First steps\nsummary: A course.\norder: 1\nlevel: beginner\nduration: 10\n---\nStart.\n",
    )
    write(root, "en/tutorials/first-steps/call-the-api.md", "---\ntitle: Call it\norder: 1\nduration: 5\n---\nCall.\n")
    for rel, title in (("docs/index.md", "概览"), ("docs/guide.md", "指南"), ("tutorials/first-steps/index.md", "入门"),
                       ("tutorials/first-steps/call-the-api.md", "调用")):  # fmt: skip
        extra = "order: 1\nlevel: beginner\nduration: 10\n" if rel.endswith("first-steps/index.md") else "order: 1\n"
        section = "section: api\n" if rel.startswith("docs/") else ""
        write(
            root,
            f"zh-hans/{rel}",
            f"---\ntitle: {title}\n{section}{extra}source_hash: {english_hash(root, rel)}\n---\n正文。\n",
        )
    settings.DOCS_CONTENT_DIR = root
    content_sync(root=root)


def _sitemap(client) -> tuple[set[str], dict[str, set[tuple[str, str]]]]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314  (our own sitemap: raises unless well-formed XML)
    assert root.tag == f"{{{NS['sm']}}}urlset"
    locations: set[str] = set()
    alternates: dict[str, set[tuple[str, str]]] = {}
    for url in root.findall("sm:url", NS):
        loc = url.findtext("sm:loc", namespaces=NS)
        assert loc is not None
        locations.add(loc)
        alternates[loc] = {(link.get("hreflang", ""), link.get("href", "")) for link in url.findall("xhtml:link", NS)}
    return locations, alternates


def test_the_sitemap_lists_public_pages_in_both_languages_and_never_a_hidden_thread(
    client, docs, owner, moderator, django_assert_max_num_queries
):
    general = CategoryFactory(slug="general")
    staff_room = CategoryFactory(slug="staff-room", read_access=Access.STAFF, post_access=Access.STAFF)
    public = make_thread(category=general, author=owner, title="Batching many inputs at once")
    hidden = make_thread(category=general, author=owner, title="Hidden by a moderator")
    post_hide(post=first_post(hidden), moderator=moderator, reason="Off-topic")
    deleted = make_thread(category=general, author=owner, title="Deleted by a moderator")
    post_delete(post=first_post(deleted), moderator=moderator, reason="Spam")
    staff_only = make_thread(category=staff_room, author=moderator, title="Only staff read this")

    with django_assert_max_num_queries(8):  # one query per kind of page, whatever their number
        locations, alternates = _sitemap(client)

    for path in (
        "/",
        "/docs/",
        "/docs/guide/",
        "/tutorials/",
        "/tutorials/first-steps/",
        "/tutorials/first-steps/call-the-api/",
        "/forum/",
        "/forum/c/general/",
    ):
        assert f"{SITE}{path}" in locations, path
        assert f"{SITE}/zh-hans{path}" in locations, path  # fmt: skip
    thread_path = f"/forum/t/{public.slug}/{public.pk}/"
    assert f"{SITE}{thread_path}" in locations
    assert f"{SITE}/zh-hans{thread_path}" in locations
    assert alternates[f"{SITE}/docs/guide/"] == {
        ("en", f"{SITE}/docs/guide/"),
        ("zh-hans", f"{SITE}/zh-hans/docs/guide/"),
        ("x-default", f"{SITE}/docs/guide/"),
    }

    # A page not translated is listed once, in English; a draft not at all.
    assert f"{SITE}/docs/english-only/" in locations
    assert f"{SITE}/zh-hans/docs/english-only/" not in locations
    assert not [loc for loc in locations if "coming-soon" in loc]
    # Hidden, deleted and staff-only threads, and the staff-only category, are not listed.
    for thread in (hidden, deleted, staff_only):
        assert not [loc for loc in locations if str(thread.pk) in loc], thread.title
    assert not [loc for loc in locations if "staff-room" in loc]
    # Nothing robots.txt closes is listed.
    assert not [loc for loc in locations if "/admin/" in loc or "/account" in loc or "/api/" in loc]
