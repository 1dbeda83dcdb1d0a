"""Query budgets: every forum page costs a fixed number of queries, whatever its size.
The two the issue names: a thread page showing 200 posts and a category list of a category
with 1,000 threads, each in at most 12 queries (session, user and profile included)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.forum import services
from apps.forum.models import Flag, Like, Notification, Post, Sanction, Tag, Thread
from apps.forum.rendering import render_post, thread_slug

from .factories import make_thread

pytestmark = pytest.mark.django_db
BUDGET = 12


def bulk_thread_with_posts(*, category, authors, count):
    """A thread with ``count`` posts (authors in turn), in a handful of queries."""
    now = timezone.now()
    thread = Thread.objects.create(
        category=category, title="A very long discussion", slug="a-very-long-discussion", author=authors[0],
        bumped_at=now, post_number_seq=count,
    )  # fmt: skip
    html = render_post("Here is `code` and a [link](https://example.com).").html
    Post.objects.bulk_create(
        Post(
            thread=thread, number=n, author=authors[n % len(authors)], body=f"Post {n}",
            html=html.replace("code", f"code{n}"), body_hash=str(n), reply_to=None,
        )
        for n in range(1, count + 1)
    )  # fmt: skip
    posts = list(Post.objects.filter(thread=thread, number__lte=20))
    Like.objects.bulk_create(Like(user=authors[1], post=p) for p in posts if p.author_id != authors[1].pk)
    services.common.thread_refresh_stats(thread=thread)
    return thread


def bulk_threads(*, category, author, count, tags):
    now = timezone.now()
    threads = Thread.objects.bulk_create(
        Thread(
            category=category, title=f"Thread number {n}", slug=thread_slug(f"Thread number {n}"), author=author,
            bumped_at=now - timedelta(minutes=n), post_number_seq=1, last_post_number=1, reply_count=n % 7,
            last_poster=author,
        )
        for n in range(count)
    )  # fmt: skip
    Thread.tags.through.objects.bulk_create(
        Thread.tags.through(thread_id=t.pk, tag_id=tags[i % len(tags)].pk) for i, t in enumerate(threads)
    )
    return threads


@pytest.fixture
def viewers(developer, forum_moderator):
    return {"anonymous": None, "developer": developer, "moderator": forum_moderator}


@pytest.mark.embedded
@pytest.mark.parametrize("who", ["anonymous", "developer", "moderator"])
def test_a_thread_page_with_200_posts_renders_in_12_queries(
    client, django_assert_max_num_queries, settings, general, developer, other_developer, forum_moderator, viewers, who
):
    settings.FORUM_POSTS_PER_PAGE = 200
    thread = bulk_thread_with_posts(category=general, authors=[developer, other_developer, forum_moderator], count=200)
    if viewers[who]:
        client.force_login(viewers[who])
    with django_assert_max_num_queries(BUDGET):
        response = client.get(thread.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('data-post tabindex="-1"') == 200
    assert "code200" in page and "code1<" in page


def test_a_page_of_a_long_thread_stays_in_budget_too(
    client, django_assert_max_num_queries, general, developer, other_developer
):
    thread = bulk_thread_with_posts(category=general, authors=[developer, other_developer], count=200)
    client.force_login(developer)
    with django_assert_max_num_queries(BUDGET):
        page = client.get(thread.get_absolute_url() + "?page=3").content.decode()
    assert page.count('data-post tabindex="-1"') == 50


@pytest.mark.embedded
@pytest.mark.parametrize("who", ["anonymous", "developer", "moderator"])
def test_a_category_with_1000_threads_lists_in_12_queries(
    client, django_assert_max_num_queries, general, developer, viewers, who
):
    tags = [Tag.objects.create(slug=f"tag{n}") for n in range(5)]
    bulk_threads(category=general, author=developer, count=1000, tags=tags)
    if viewers[who]:
        client.force_login(viewers[who])
    with django_assert_max_num_queries(BUDGET):
        response = client.get("/forum/c/general/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="topic') >= 30 and "Page 1 of 34" in page


@pytest.mark.parametrize(
    "url",
    [
        "/forum/", "/forum/?page=2", "/forum/top/?period=all", "/forum/unanswered/", "/forum/solved/",
        "/forum/categories/", "/forum/tag/tag1/", "/forum/u/dev/", "/forum/u/dev/?tab=replies",
        "/forum/u/dev/?tab=likes", "/forum/feed/rss/", "/forum/c/general/feed/atom/",
    ],
)  # fmt: skip
def test_every_list_page_stays_in_budget(client, django_assert_max_num_queries, general, qa, developer, url):
    tags = [Tag.objects.create(slug=f"tag{n}") for n in range(3)]
    bulk_threads(category=general, author=developer, count=300, tags=tags)
    for n in range(5):
        make_thread(category=qa, author=developer, title=f"Question {n}", replies=2)
    client.force_login(developer)
    with django_assert_max_num_queries(BUDGET):
        assert client.get(url).status_code == 200


def test_the_review_queue_stays_in_budget(
    client, django_assert_max_num_queries, general, developer, other_developer, third_developer, forum_moderator
):
    for n in range(25):
        thread = make_thread(category=general, author=other_developer if n % 2 else third_developer, title=f"Spam {n}")
        post = thread.posts.get(number=1)
        Flag.objects.create(post=post, flagger=developer, reason="spam")
        Flag.objects.create(post=post, flagger=forum_moderator, reason="other", text="Looks like spam")
    Sanction.objects.create(
        user=other_developer, kind="silence", reason="earlier", starts_at=timezone.now() - timedelta(days=9),
        ends_at=timezone.now() - timedelta(days=2),
    )  # fmt: skip
    client.force_login(forum_moderator)
    with django_assert_max_num_queries(BUDGET):
        page = client.get("/forum/review/").content.decode()
    assert page.count('class="card review-item"') == 20


def test_the_audit_log_notifications_and_sanctions_stay_in_budget(
    client, django_assert_max_num_queries, general, developer, other_developer, forum_moderator
):
    thread = make_thread(category=general, author=developer, title="Busy thread")
    quiet = make_thread(category=general, author=developer, title="Moderated thread")
    for n in range(30):
        services.thread_slow_mode_set(thread=quiet, seconds=n + 1, moderator=forum_moderator)
        services.post_create(author=other_developer, thread=thread, body=f"Reply {n}")
    services.user_silence(user=other_developer, moderator=forum_moderator, reason="x", until=None)
    client.force_login(forum_moderator)
    for url in ("/forum/audit/", "/forum/audit/?action=thread.slow_mode", "/forum/sanctions/?all=1"):
        with django_assert_max_num_queries(BUDGET):
            assert client.get(url).status_code == 200
    client.force_login(developer)
    assert Notification.objects.filter(recipient=developer).count() == 30
    with django_assert_max_num_queries(BUDGET):
        page = client.get("/forum/notifications/").content.decode()
    assert page.count('class="notification is-unread"') == 30


def test_search_costs_at_most_three_queries(django_assert_max_num_queries, general, developer):
    tags = [Tag.objects.create(slug="t")]
    bulk_threads(category=general, author=developer, count=200, tags=tags)
    for n in range(10):
        make_thread(category=general, title=f"Webhooks {n}", body="webhook retries")
    from apps.forum.selectors import forum_viewer, thread_search

    viewer = forum_viewer(developer)
    with django_assert_max_num_queries(3):
        assert len(thread_search(query="webhook", viewer=viewer)) == 10
