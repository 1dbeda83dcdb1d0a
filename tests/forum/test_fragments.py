"""Cached fragments (apps/forum/fragments.py): a thread's posts and a list's rows are
rendered once, then served from the cache for as long as nothing they show has changed,
and never with another member's CSRF token."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import translation
from django.utils.timesince import timesince
from django.utils.translation import gettext

from apps.forum import services
from apps.forum.fragments import CSRF_SLOT, RecentFragments, ago

from .factories import first_post, make_thread

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _templates(response) -> list[str]:
    return [t.name for t in response.templates]


@pytest.mark.embedded
def test_a_second_view_of_a_thread_renders_no_post_again(client, general, developer, other_developer):
    thread = make_thread(category=general, author=developer, title="Rendered once, served twice", replies=3)
    client.force_login(other_developer)
    first = client.get(thread.get_absolute_url())
    assert _templates(first).count("forum/_post.html") == 4
    second = client.get(thread.get_absolute_url())
    assert "forum/_post.html" not in _templates(second)
    assert second.content.count(b'data-post tabindex="-1"') == 4


@pytest.mark.embedded
def test_a_like_rerenders_only_the_liked_post_and_shows_the_new_count(client, general, developer, other_developer):
    thread = make_thread(category=general, author=developer, title="Likes change one fragment", replies=2)
    client.force_login(other_developer)
    client.get(thread.get_absolute_url())
    services.post_like(post=first_post(thread), user=other_developer)
    page = client.get(thread.get_absolute_url())
    assert _templates(page).count("forum/_post.html") == 1
    post_one = page.content.decode().split('id="post-1"')[1].split("</article>")[0]
    assert 'aria-pressed="true"' in post_one and "data-like-count>1</span>" in post_one


@pytest.mark.embedded
def test_an_edit_and_a_moderation_action_show_at_once(client, general, developer, forum_moderator):
    thread = make_thread(category=general, author=developer, title="Edited while cached", replies=1)
    reply = thread.posts.get(number=2)
    client.force_login(developer)
    assert "Reply number 2" in client.get(thread.get_absolute_url()).content.decode()
    services.post_edit(post=reply, editor=developer, body="A corrected reply", reason="")
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "A corrected reply" in page and "Reply number 2" not in page
    services.post_hide(post=reply, moderator=forum_moderator, reason="Off topic")
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "Hidden by a moderator. Reason: Off topic" in page


@pytest.mark.embedded
def test_members_who_may_do_the_same_share_fragments_but_each_gets_their_own_csrf_token(
    general, developer, other_developer, third_developer
):
    thread = make_thread(category=general, author=developer, title="Two readers, one set of fragments", replies=2)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(other_developer)
    second.force_login(third_developer)
    first.get(thread.get_absolute_url())
    page = second.get(thread.get_absolute_url())
    assert "forum/_post.html" not in _templates(page)  # the first reader's fragments
    html = page.content.decode()
    assert CSRF_SLOT not in html
    token = TOKEN.search(html.split('id="post-1"')[1]).group(1)  # from a cached fragment
    like = second.post(f"/forum/p/{first_post(thread).pk}/like/", {"csrfmiddlewaretoken": token})
    assert like.status_code == 302
    assert first_post(thread).like_count == 1


def test_a_post_cannot_write_the_csrf_placeholder(client, general, developer, other_developer):
    thread = make_thread(category=general, author=developer, body=f"Sneaky {CSRF_SLOT} and `{CSRF_SLOT}` here")
    client.force_login(other_developer)
    html = client.get(thread.get_absolute_url()).content.decode()
    body = html.split('class="prose post-body"')[1].split("</div>")[0]
    assert "Sneaky" in body and not TOKEN.search(body)
    token = TOKEN.search(html).group(1)
    assert token not in body


@pytest.mark.embedded
def test_each_language_gets_its_own_fragments(client, general, developer, other_developer):
    thread = make_thread(category=general, author=developer, title="Read in two languages", replies=1)
    url = thread.get_absolute_url()
    client.force_login(other_developer)
    assert ">Quote</a>" in client.get(url).content.decode()
    assert ">引用</a>" in client.get(f"/zh-hans{url}").content.decode()
    assert ">Quote</a>" in client.get(url).content.decode()


def test_staff_and_members_get_different_fragments_of_the_same_post(client, general, developer, forum_moderator):
    thread = make_thread(category=general, author=developer, title="Seen by a member and a moderator")
    client.force_login(developer)
    assert "/mod/hide/" not in client.get(thread.get_absolute_url()).content.decode()
    client.force_login(forum_moderator)
    assert "/mod/hide/" in client.get(thread.get_absolute_url()).content.decode()


def test_thread_rows_are_cached_and_show_new_replies(client, general, developer, other_developer):
    thread = make_thread(category=general, author=developer, title="A row in the list", replies=1)
    client.force_login(other_developer)
    client.get("/forum/c/general/")
    page = client.get("/forum/c/general/")
    assert "forum/_thread_row.html" not in _templates(page)
    services.post_create(author=other_developer, thread=thread, body="One more reply")
    page = client.get("/forum/c/general/")
    assert _templates(page).count("forum/_thread_row.html") == 1
    assert "<dt>Replies</dt><dd>2</dd>" in page.content.decode()


def test_the_page_is_served_when_the_fragment_cache_is_down(client, general, developer, other_developer, settings):
    thread = make_thread(category=general, author=developer, title="Cache down, page up", replies=2)
    settings.CACHES = {
        **settings.CACHES,
        "fragments": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"},
    }
    client.force_login(other_developer)
    response = client.get(thread.get_absolute_url())
    assert response.status_code == 200
    assert response.content.count(b'data-post tabindex="-1"') == 3


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_ago_says_what_timesince_says(language):
    rng = random.Random(13)  # noqa: S311 (reproducible test dates, not secrets)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    with translation.override(language):
        for _ in range(3000):
            now = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
            value = now - timedelta(
                seconds=rng.choice([rng.randrange(86400), rng.randrange(120 * 86400), rng.randrange(1500 * 86400)])
            )
            expected = (
                gettext("just now")
                if now - value < timedelta(minutes=1)
                else gettext("%(time)s ago") % {"time": timesince(value, now, depth=1)}
            )
            assert ago(value, now) == expected, (value, now)
        # Month ends and leap days, where calendar months differ from 30 days.
        for value, now in [
            (datetime(2024, 1, 31, 12, tzinfo=UTC), datetime(2024, 2, 29, 12, tzinfo=UTC)),
            (datetime(2024, 2, 29, 12, tzinfo=UTC), datetime(2025, 2, 28, 12, tzinfo=UTC)),
            (datetime(2024, 3, 31, 23, 59, tzinfo=UTC), datetime(2024, 4, 30, 23, 58, tzinfo=UTC)),
        ]:
            assert ago(value, now) == gettext("%(time)s ago") % {"time": timesince(value, now, depth=1)}


def test_the_memory_of_recent_fragments_is_bounded_and_drops_the_least_recently_used():
    recent = RecentFragments(max_chars=10)
    recent.set_many({"a": "aaaa", "b": "bbbb"})
    assert recent.get_many(["a"]) == {"a": "aaaa"}  # "b" is now the least recently used
    recent.set_many({"c": "cccc"})
    assert recent.get_many(["a", "b", "c"]) == {"a": "aaaa", "c": "cccc"}
    recent.set_many({"a": "a" * 10})
    assert recent.get_many(["a", "b", "c"]) == {"a": "a" * 10}
