"""What the thread and category pages read: one query for a page of posts with its count,
the last page for a page number past it, and the member's own setting for a category."""

from __future__ import annotations

import pytest

from apps.forum import services
from apps.forum.models import SubscriptionLevel
from apps.forum.selectors import category_get, forum_viewer, post_page, thread_get

from .factories import make_thread

pytestmark = pytest.mark.django_db


@pytest.mark.embedded
def test_a_page_of_posts_and_its_count_take_one_query(django_assert_num_queries, general, developer):
    thread = make_thread(category=general, author=developer, title="Five posts in three pages", replies=4)
    viewer = forum_viewer(developer)
    thread = thread_get(viewer=viewer, pk=thread.pk)
    with django_assert_num_queries(1):
        page = post_page(viewer=viewer, thread=thread, page=2, per_page=2)
    assert [p.number for p in page.posts] == [3, 4]
    assert (page.number, page.num_pages, page.count) == (2, 3, 5)


@pytest.mark.embedded
@pytest.mark.parametrize("asked", [3, 4, 99])
def test_a_page_number_past_the_end_shows_the_last_page(general, developer, asked):
    thread = make_thread(category=general, author=developer, title="Five posts in three pages", replies=4)
    page = post_page(viewer=developer, thread=thread_get(viewer=developer, pk=thread.pk), page=asked, per_page=2)
    assert [p.number for p in page.posts] == [5]
    assert (page.number, page.num_pages, page.count) == (3, 3, 5)


def test_the_count_is_what_the_viewer_may_see(general, developer, other_developer, forum_moderator):
    thread = make_thread(category=general, author=developer, title="One reply hidden from members", replies=2)
    services.post_hide(post=thread.posts.get(number=3), moderator=forum_moderator, reason="Spam")
    for viewer, count in ((other_developer, 2), (forum_moderator, 3)):
        page = post_page(viewer=viewer, thread=thread_get(viewer=viewer, pk=thread.pk), per_page=2)
        assert (page.count, page.num_pages) == (count, (count + 1) // 2)


def test_the_category_page_shows_the_members_own_notification_setting(client, general, developer, other_developer):
    services.subscription_set(user=developer, category=general, level=SubscriptionLevel.WATCHING)
    assert category_get(viewer=developer, slug="general").subscription_level == SubscriptionLevel.WATCHING
    assert category_get(viewer=other_developer, slug="general").subscription_level is None
    client.force_login(developer)
    page = client.get("/forum/c/general/").content.decode()
    assert f'<option value="{SubscriptionLevel.WATCHING}" selected>' in page
    client.force_login(other_developer)
    page = client.get("/forum/c/general/").content.decode()
    assert '<option value="" selected>' in page and f'value="{SubscriptionLevel.WATCHING}" selected' not in page
