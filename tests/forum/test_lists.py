"""Thread lists (latest, top, unanswered, solved, category, tag), pagination, unread
markers, member pages and feeds; and that hidden, held, deleted and staff-only content
never leaks into any of them."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from apps.forum import services
from apps.forum.models import Tag, Thread

from .factories import age, first_post, make_thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def leaky(general, staff_lounge, forum_moderator, developer):
    """One thread of each kind nobody but staff (or its author) may see."""
    hidden = make_thread(category=general, author=developer, title="SECRET hidden thread")
    services.post_hide(post=first_post(hidden), moderator=forum_moderator, reason="Spam")
    deleted = make_thread(category=general, title="SECRET deleted thread")
    services.post_delete(post=first_post(deleted), moderator=forum_moderator, reason="Spam")
    held = make_thread(category=general, title="SECRET held thread", held_at=timezone.now())
    first_post(held).__class__.objects.filter(thread=held).update(held_at=timezone.now(), held_reason="api_key")
    staff = make_thread(category=staff_lounge, author=forum_moderator, title="SECRET staff thread")
    return {"hidden": hidden, "deleted": deleted, "held": held, "staff": staff}


LISTS = ["/forum/", "/forum/top/?period=all", "/forum/unanswered/", "/forum/c/general/", "/forum/categories/"]


@pytest.mark.embedded
@pytest.mark.parametrize("url", LISTS)
def test_no_list_shows_hidden_deleted_held_or_staff_only_threads_to_members(client, other_developer, leaky, url):
    for user in (None, other_developer):
        if user:
            client.force_login(user)
        assert "SECRET" not in client.get(url).content.decode()


def test_staff_see_hidden_and_staff_only_threads_in_lists_but_not_deleted_ones(client, forum_moderator, leaky):
    client.force_login(forum_moderator)
    page = client.get("/forum/").content.decode()
    assert "SECRET hidden thread" in page and "SECRET staff thread" in page and "SECRET held thread" in page
    assert "SECRET deleted thread" not in page


def test_authors_see_their_own_hidden_thread_marked_as_hidden(client, developer, leaky):
    client.force_login(developer)
    page = client.get("/forum/").content.decode()
    assert "SECRET hidden thread" in page and "Hidden" in page


def test_feeds_never_show_hidden_or_staff_only_threads_and_a_staff_category_has_no_feed(
    client, general, leaky, forum_moderator
):
    make_thread(category=general, title="A public thread", body="Public **body**")
    client.force_login(forum_moderator)  # feeds are public: being staff changes nothing
    for url in ("/forum/feed/rss/", "/forum/feed/atom/", "/forum/c/general/feed/rss/", "/forum/c/general/feed/atom/"):
        body = client.get(url).content.decode()
        assert "A public thread" in body and "SECRET" not in body
        ElementTree.fromstring(body)  # noqa: S314  (our own feed: checks it is well-formed XML)
    rss = client.get("/forum/c/general/feed/rss/").content.decode()
    assert "&lt;strong&gt;body&lt;/strong&gt;" in rss
    assert client.get("/forum/c/staff/feed/rss/").status_code == 404


@pytest.mark.embedded
def test_latest_puts_the_most_recent_activity_first(client, developer, general):
    old = make_thread(category=general, title="An older thread")
    new = make_thread(category=general, title="A newer thread")
    services.post_create(author=developer, thread=old, body="Bump")
    page = client.get("/forum/").content.decode()
    assert page.index("An older thread") < page.index("A newer thread")
    assert new.pk


def test_top_ranks_by_likes_and_replies_in_the_period(client, general, developer, other_developer):
    quiet = make_thread(category=general, title="A quiet thread")
    popular = make_thread(category=general, title="A popular thread", replies=3)
    ancient = make_thread(category=general, title="An ancient hit", replies=9)
    age(ancient, days=400)
    services.post_like(post=first_post(popular), user=developer)
    page = client.get("/forum/top/?period=month").content.decode()
    assert page.index("A popular thread") < page.index("A quiet thread")
    assert "An ancient hit" not in page
    assert "An ancient hit" in client.get("/forum/top/?period=all").content.decode()
    assert quiet.pk


def test_unanswered_lists_threads_without_replies_and_solved_lists_solved_ones(
    client, developer, other_developer, general, question
):
    answered = make_thread(category=general, title="Answered already", replies=1)
    unanswered = client.get("/forum/unanswered/").content.decode()
    assert question.title in unanswered and answered.title not in unanswered
    answer = services.post_create(author=other_developer, thread=question, body="Answer")
    services.thread_solution_mark(thread=question, post=answer, actor=developer)
    solved = client.get("/forum/solved/").content.decode()
    assert question.title in solved and answered.title not in solved


def test_tag_pages_list_the_tagged_threads(client, general):
    tagged = make_thread(category=general, title="About rate limits")
    tagged.tags.add(Tag.objects.create(slug="rate-limits"))
    make_thread(category=general, title="About something else")
    page = client.get("/forum/tag/rate-limits/").content.decode()
    assert "About rate limits" in page and "About something else" not in page
    assert client.get("/forum/tag/nope/").status_code == 404


def test_lists_are_paginated(client, general, settings):
    settings.FORUM_THREADS_PER_PAGE = 2
    for n in range(5):
        make_thread(category=general, title=f"Paged thread {n}")
    first = client.get("/forum/c/general/").content.decode()
    third = client.get("/forum/c/general/?page=3").content.decode()
    assert "Page 1 of 3" in first and "Paged thread 4" in first and "Paged thread 0" not in first
    assert "Paged thread 0" in third


@pytest.mark.embedded
def test_unread_markers_show_new_threads_and_new_posts_for_members(client, developer, other_developer, general):
    thread = make_thread(category=general, author=other_developer, title="Fresh discussion")
    client.force_login(developer)
    assert "New</span>" in client.get("/forum/").content.decode()
    client.get(thread.get_absolute_url())
    page = client.get("/forum/").content.decode()
    assert "New</span>" not in page and "new post" not in page
    services.post_create(author=other_developer, thread=thread, body="Another reply")
    services.post_create(author=other_developer, thread=thread, body="And another")
    assert "2 new posts" in client.get("/forum/").content.decode()
    client.get(thread.get_absolute_url())
    assert "new posts" not in client.get("/forum/").content.decode()


def test_old_threads_are_not_new_to_a_member_who_joined_later(client, developer, general):
    thread = make_thread(category=general, title="Ancient history")
    age(thread, days=60)
    client.force_login(developer)
    assert "New</span>" not in client.get("/forum/").content.decode()


def test_a_member_page_shows_threads_replies_solutions_and_likes_received(
    client, developer, other_developer, question, general
):
    answer = services.post_create(author=other_developer, thread=question, body="The answer is 42")
    services.post_like(post=answer, user=developer)
    services.thread_solution_mark(thread=question, post=answer, actor=developer)
    make_thread(category=general, author=other_developer, title="Helper's own thread")
    page = client.get("/forum/u/helper/").content.decode()
    assert "Helper&#x27;s own thread" in page
    stats = page[page.index("member-stats") :]
    assert "<dt>Threads</dt><dd>1</dd>" in stats
    assert "<dt>Replies</dt><dd>1</dd>" in stats
    assert "<dt>Solutions</dt><dd>1</dd>" in stats
    assert "<dt>Likes received</dt><dd>1</dd>" in stats
    assert "The answer is 42" in client.get("/forum/u/helper/?tab=solutions").content.decode()
    assert "The answer is 42" in client.get("/forum/u/helper/?tab=likes").content.decode()
    assert client.get("/forum/u/ghost/").status_code == 404


def test_a_member_page_does_not_count_hidden_posts_for_others(client, other_developer, forum_moderator, thread):
    reply = services.post_create(author=other_developer, thread=thread, body="Hidden later")
    services.post_hide(post=reply, moderator=forum_moderator, reason="Spam")
    page = client.get("/forum/u/helper/?tab=replies").content.decode()
    assert "Hidden later" not in page
    assert "<dt>Replies</dt><dd>0</dd>" in page


def test_the_staff_only_category_is_not_found_for_members(client, developer, staff_lounge, leaky):
    client.force_login(developer)
    assert client.get("/forum/c/staff/").status_code == 404
    assert client.get(leaky["staff"].get_absolute_url()).status_code == 404
    assert "Staff lounge" not in client.get("/forum/categories/").content.decode()


def test_the_chinese_forum_is_in_chinese(client, general, thread):
    url = thread.get_absolute_url()
    page = client.get("/zh-hans/forum/").content.decode()
    assert "最新" in page and "论坛" in page
    assert "Latest" not in page
    thread_page = client.get(f"/zh-hans{url}")
    assert "登录后回复" in thread_page.content.decode()
    # List titles are translated per request, not once when the module loads.
    top = client.get("/zh-hans/forum/top/").content.decode()
    assert "<h1" in top and "热门" in top.split("<h1", 1)[1].split("</h1>", 1)[0]


def test_the_latest_list_is_ordered_by_bump_time_even_when_created_earlier(general):
    a = make_thread(category=general, title="Thread A")
    make_thread(category=general, title="Thread B")
    Thread.objects.filter(pk=a.pk).update(bumped_at=timezone.now() + timedelta(minutes=1))
    from apps.forum.selectors import thread_list

    assert thread_list(viewer=None, category=general).first() == a
