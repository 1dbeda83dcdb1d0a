"""Search: PostgreSQL full-text in the services configuration, the simpler fallback on the
embedded default (SQLite), and the parts both share."""

import pytest
from django.db import connection

from apps.docs.search import SearchFilters, _fallback_pages, highlight, site_search
from apps.docs.selectors import pages_visible
from apps.forum.models import Access

from ..forum.factories import CategoryFactory, make_thread
from ..services import service_missing
from .conftest import write

BODY_PAGE = """
---
title: Limits
section: api
order: 1
---
## Windows

Requests are counted per minute. When you rotate credentials the counter stays. Lorem ipsum
dolor sit amet, many words that make this page long and unlike a title, so that only the body
mentions the word rotation once more: rotate.
"""
TITLE_PAGE = """
---
title: Rotate credentials
section: api
order: 9
---
## Steps

Create a new one, deploy it, let the old one lapse.
"""
CHINESE_PAGE = """
---
title: 密钥轮换
section: api
order: 1
source_hash: x
---
## 步骤

先创建新的密钥，部署之后再让旧密钥过期。
"""


@pytest.fixture
def corpus(tree, sync):
    write(tree, "en/docs/limits.md", BODY_PAGE)
    write(tree, "en/docs/rotate.md", TITLE_PAGE)
    write(tree, "zh-hans/docs/rotate.md", CHINESE_PAGE)
    sync(tree)


def _titles(results):
    return [r["title"] for r in results if r["kind"] in ("doc", "tutorial")]


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL full-text search needs the services configuration (PORTAL_TEST_CONFIG=services)")


# --- PostgreSQL -------------------------------------------------------------------------


def test_postgres_ranks_a_title_match_above_a_body_match(postgres, corpus):
    results = site_search(query="rotate", viewer=None, filters=SearchFilters(language="en"))
    assert _titles(results)[:2] == ["Rotate credentials", "Limits"]


def test_postgres_stems_english_words(postgres, corpus):
    assert "Rotate credentials" in _titles(site_search(query="rotating", viewer=None, filters=SearchFilters()))


def test_postgres_finds_a_chinese_page_from_a_chinese_query(postgres, corpus):
    results = site_search(query="旧密钥", viewer=None, filters=SearchFilters(language="zh-hans"))
    assert _titles(results) == ["密钥轮换"]
    assert "<mark>密钥</mark>" in results[0]["snippet"]
    # Words, not characters: 钥轮 spans two words and matches nothing.
    assert _titles(site_search(query="钥轮", viewer=None, filters=SearchFilters(language="zh-hans"))) == []


def test_postgres_search_of_the_real_docs_finds_the_page_about_keys(postgres, synced):
    english = site_search(query="api key rotation", viewer=None, filters=SearchFilters(language="en"))
    assert _titles(english)[0] == "Authentication and API keys"
    chinese = site_search(query="轮换密钥", viewer=None, filters=SearchFilters(language="zh-hans"))
    assert _titles(chinese)[0] == "身份验证与 API 密钥"


# --- the SQLite fallback (and the parts shared by both) ---------------------------------


@pytest.mark.embedded
def test_the_fallback_ranks_a_title_match_above_a_body_match(corpus):
    pages = pages_visible(viewer=None).filter(language="en")
    assert [p.title for p in _fallback_pages(pages, ["rotate"], 10)][:2] == ["Rotate credentials", "Limits"]


@pytest.mark.embedded
def test_the_fallback_finds_a_chinese_page_from_a_chinese_query(corpus):
    pages = pages_visible(viewer=None).filter(language="zh-hans")
    assert [p.title for p in _fallback_pages(pages, ["旧", "密钥"], 10)] == ["密钥轮换"]


@pytest.mark.embedded
def test_search_works_on_whichever_database_is_configured(corpus, client):
    html = client.get("/search/", {"q": "rotate"}).content.decode()
    assert html.index("Rotate credentials") < html.index(">Limits<")
    html = client.get("/zh-hans/search/", {"q": "密钥"}).content.decode()
    assert "密钥轮换" in html and "<mark>密钥</mark>" in html


@pytest.mark.embedded
def test_filters_narrow_by_section_version_and_language(corpus, client):
    everything = client.get("/search/", {"q": "rotate", "language": "all"}).content.decode()
    assert "Rotate credentials" in everything
    assert "Rotate credentials" not in client.get("/search/", {"q": "rotate", "section": "community"}).content.decode()
    assert "Rotate credentials" not in client.get("/search/", {"q": "rotate", "section": "tutorials"}).content.decode()
    assert "Rotate credentials" in client.get("/search/", {"q": "rotate", "version": "v1"}).content.decode()
    chinese = client.get("/search/", {"q": "密钥", "language": "zh-hans"}).content.decode()
    assert "密钥轮换" in chinese and "Rotate credentials" not in chinese


@pytest.mark.embedded
def test_a_forum_thread_about_the_query_shows_up_in_site_search(corpus, client):
    general = CategoryFactory(slug="general")
    thread = make_thread(
        category=general, title="How do I rotate my key?", body="I want to rotate it every month, safely."
    )
    html = client.get("/search/", {"q": "rotate"}).content.decode()
    assert f'<a href="{thread.get_absolute_url()}">How do I rotate my key?</a>' in html
    assert "I want to <mark>rotate</mark> it every month" in html
    only_forum = client.get("/search/", {"q": "rotate", "section": "forum"}).content.decode()
    assert "How do I rotate my key?" in only_forum and "Rotate credentials" not in only_forum
    assert "How do I rotate my key?" not in client.get("/search/", {"q": "rotate", "section": "api"}).content.decode()


@pytest.mark.embedded
def test_site_search_never_shows_a_thread_the_visitor_may_not_read(corpus, client):
    staff_only = CategoryFactory(slug="staff", read_access=Access.STAFF, post_access=Access.STAFF)
    make_thread(category=staff_only, title="Rotate the signing secret tonight", body="Internal rotation plan.")
    html = client.get("/search/", {"q": "rotate"}).content.decode()
    assert "Rotate credentials" in html and "signing secret" not in html


@pytest.mark.embedded
def test_published_models_are_found_by_name(db, client):
    from apps.mlmodels.models import MLModel, ModelVersion, VersionStatus

    model = MLModel.objects.create(slug="topic-agnews", name="Topic (AG News)", labels=["World", "Sports"])
    ModelVersion.objects.create(
        model=model, version=1, status=VersionStatus.PUBLISHED, artifact_dir="x", base_encoder="b"
    )
    draft = MLModel.objects.create(slug="topic-secret", name="Topic (secret)", labels=["a", "b"])
    ModelVersion.objects.create(model=draft, version=1, status=VersionStatus.DRAFT, artifact_dir="x", base_encoder="b")
    html = client.get("/search/", {"q": "topic"}).content.decode()
    assert f'<a href="{model.get_absolute_url()}">Topic (AG News) (topic-agnews)</a>' in html
    assert "topic-secret" not in html
    assert client.get(model.get_absolute_url()).status_code == 200


@pytest.mark.embedded
def test_snippets_escape_the_text_and_mark_the_matches():
    snippet = highlight("Use <b>keys</b> wisely: a key per program.", ["key"])
    assert str(snippet) == "Use &lt;b&gt;<mark>keys</mark>&lt;/b&gt; wisely: a <mark>key</mark> per program."


@pytest.mark.embedded
def test_an_empty_query_shows_the_form_without_results(db, client):
    html = client.get("/search/", {"q": "  "}).content.decode()
    assert 'id="search-q"' in html and "result" not in html.split("</form>")[-1]
