"""The contract of ``thread_search`` (site search) and the home page selectors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.forum import services
from apps.forum.selectors import home_announcements, home_threads, thread_search

from .factories import first_post, make_thread

pytestmark = pytest.mark.django_db


@pytest.mark.embedded
def test_search_finds_threads_by_title_and_body_with_marked_snippets(general, developer, other_developer):
    by_title = make_thread(category=general, title="Rate limit headers explained", body="See the docs.")
    by_body = make_thread(category=general, title="Something else", body="What does the rate limit reset mean?")
    make_thread(category=general, title="Unrelated", body="Nothing to see")
    results = thread_search(query="rate limit", viewer=AnonymousUser())
    assert [r["title"] for r in results] == [by_title.title, by_body.title]  # title matches first
    assert set(results[0]) == {"kind", "title", "url", "snippet", "language"}
    assert results[0]["kind"] == "forum" and results[0]["url"] == by_title.get_absolute_url()
    assert results[1]["snippet"] == "What does the <mark>rate</mark> <mark>limit</mark> reset mean?"
    assert results[0]["language"] == "en"


def test_a_match_in_a_reply_links_to_the_reply(general, developer, other_developer, thread):
    reply = services.post_create(author=other_developer, thread=thread, body="Use an idempotency key")
    [result] = thread_search(query="idempotency", viewer=developer)
    assert result["url"] == f"/forum/p/{reply.pk}/"
    assert "<mark>idempotency</mark>" in result["snippet"]


def test_search_escapes_the_snippet(general):
    make_thread(category=general, title="Escaping", body="Is `<b>bold</b>` & safe?")
    [result] = thread_search(query="bold", viewer=None)
    assert result["snippet"] == "Is &lt;b&gt;<mark>bold</mark>&lt;/b&gt; &amp; safe?"


@pytest.mark.embedded
def test_search_never_returns_what_the_viewer_may_not_see(
    general, staff_lounge, developer, other_developer, forum_moderator
):
    hidden_thread = make_thread(category=general, title="zebra hidden thread")
    services.post_hide(post=first_post(hidden_thread), moderator=forum_moderator, reason="Spam")
    deleted_thread = make_thread(category=general, title="zebra deleted thread")
    services.post_delete(post=first_post(deleted_thread), moderator=forum_moderator, reason="Spam")
    staff_thread = make_thread(category=staff_lounge, author=forum_moderator, title="zebra staff notes")
    visible = make_thread(category=general, title="A visible thread")
    reply = services.post_create(author=other_developer, thread=visible, body="zebra in a hidden reply")
    services.post_hide(post=reply, moderator=forum_moderator, reason="Spam")

    for viewer in (None, AnonymousUser(), developer):
        assert thread_search(query="zebra", viewer=viewer) == []
    staff_titles = {r["title"] for r in thread_search(query="zebra", viewer=forum_moderator)}
    assert staff_thread.title in staff_titles and deleted_thread.title not in staff_titles


def test_search_respects_the_limit_and_ignores_tiny_queries(general):
    for n in range(5):
        make_thread(category=general, title=f"Webhook question {n}")
    assert len(thread_search(query="webhook", viewer=None, limit=3)) == 3
    assert thread_search(query="w", viewer=None) == []
    assert thread_search(query="   ", viewer=None) == []


def test_search_finds_chinese_text(general):
    thread = make_thread(category=general, title="如何调用分类接口", body="请问需要安装什么库")
    [result] = thread_search(query="分类", viewer=None)
    assert (result["title"], result["language"]) == (thread.title, "zh-hans")
    assert "<mark>分类</mark>" in result["snippet"] or result["snippet"].startswith("请问")


def test_home_selectors_return_latest_threads_and_announcements(
    general, announcements, staff_lounge, forum_moderator, developer
):
    talk = make_thread(category=general, title="Community talk", replies=2)
    news = make_thread(category=announcements, author=forum_moderator, title="Big news")
    services.thread_pin(thread=news, moderator=forum_moderator)
    make_thread(category=staff_lounge, author=forum_moderator, title="Staff only")
    threads = home_threads(viewer=developer, limit=5)
    assert [t.title for t in threads] == ["Community talk"]
    assert threads[0].reply_count == 2 and threads[0].get_absolute_url() == talk.get_absolute_url()
    assert [t.title for t in home_announcements(viewer=AnonymousUser(), limit=3)] == ["Big news"]
