"""New-member limits, posting rate limits, duplicate detection, slow mode and sanctions:
each refused post says which limit and when the member can post again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.forum import services
from apps.forum.errors import PostingLimited
from apps.forum.models import Post, Sanction, SanctionKind, Thread

from .factories import age, make_thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits_on(settings):
    settings.FORUM_MIN_SECONDS_BETWEEN_POSTS = 15
    settings.FORUM_DUPLICATE_HOURS = 24
    settings.FORUM_MAX_POSTS_PER_HOUR = 30
    settings.FORUM_MAX_THREADS_PER_DAY = 20


@pytest.mark.embedded
def test_a_new_member_starts_three_threads_on_their_first_day_and_is_told_when_more_are_possible(new_user, general):
    for n in range(3):
        services.thread_create(author=new_user, category=general, title=f"My question number {n}", body=f"Body {n}")
    with pytest.raises(PostingLimited, match="3 threads on their first day") as caught:
        services.thread_create(author=new_user, category=general, title="A fourth question", body="Body 4")
    assert "You can start more in 23" in caught.value.message
    assert Thread.objects.count() == 3


def test_a_new_member_posts_ten_replies_on_their_first_day(new_user, thread):
    for n in range(10):
        services.post_create(author=new_user, thread=thread, body=f"Reply {n}")
    with pytest.raises(PostingLimited, match="10 replies on their first day"):
        services.post_create(author=new_user, thread=thread, body="Reply 11")


def test_after_the_first_day_the_new_member_limits_are_gone(new_user, thread):
    new_user.date_joined = timezone.now() - timedelta(days=2)
    new_user.save()
    for n in range(12):
        services.post_create(author=new_user, thread=thread, body=f"Reply {n}")
    assert thread.posts.count() == 13


def test_a_new_member_cannot_post_images_or_many_links(new_user, developer, general):
    with pytest.raises(PostingLimited, match="cannot post images"):
        services.thread_create(author=new_user, category=general, title="Look at this", body="![x](/static/x.png)")
    links = "\n".join(f"https://example.com/{n}" for n in range(3))
    with pytest.raises(PostingLimited, match="at most 2 links in a post during their first day; this post has 3"):
        services.thread_create(author=new_user, category=general, title="Some useful links", body=links)
    services.thread_create(author=developer, category=general, title="Look at this", body=f"![x](/x.png)\n{links}")


def test_the_new_member_limit_message_reaches_the_page(client, new_user, general):
    client.force_login(new_user)
    response = client.post(
        "/forum/new/", {"category": general.pk, "title": "Screenshot of my error", "body": "![x](/x.png)"}
    )
    assert response.status_code == 400
    assert "New members cannot post images during their first day" in response.content.decode()


def test_posting_too_quickly_is_refused_with_the_wait(other_developer, thread, limits_on):
    services.post_create(author=other_developer, thread=thread, body="First")
    with pytest.raises(PostingLimited, match=r"posting too quickly. Please wait 1\d seconds") as caught:
        services.post_create(author=other_developer, thread=thread, body="Second")
    assert 1 <= caught.value.retry_after <= 16


def test_the_hourly_cap_counts_posts_in_the_last_hour(other_developer, thread, settings):
    settings.FORUM_MAX_POSTS_PER_HOUR = 3
    for n in range(3):
        services.post_create(author=other_developer, thread=thread, body=f"Reply {n}")
    with pytest.raises(PostingLimited, match=r"3 times an hour. You can post again in 59\sminutes"):
        services.post_create(author=other_developer, thread=thread, body="One more")
    for post in Post.objects.filter(author=other_developer):
        age(post, minutes=61)
    services.post_create(author=other_developer, thread=thread, body="An hour later")


def test_posting_the_same_text_twice_is_a_duplicate_even_with_other_spacing(
    other_developer, general, thread, limits_on
):
    services.post_create(author=other_developer, thread=thread, body="Buy cheap keys at example.com")
    other = make_thread(category=general, title="A different thread")
    for post in Post.objects.filter(author=other_developer):
        age(post, minutes=1)
    with pytest.raises(PostingLimited, match="already posted this text"):
        services.post_create(author=other_developer, thread=other, body="  buy CHEAP keys   at example.com ")
    services.post_create(author=other_developer, thread=other, body="Something new to say")


@pytest.mark.embedded
def test_slow_mode_allows_one_post_per_interval_per_member_and_staff_are_exempt(
    third_developer, other_developer, forum_moderator, thread
):
    services.thread_slow_mode_set(thread=thread, seconds=600, moderator=forum_moderator)
    services.post_create(author=other_developer, thread=thread, body="My first take")
    with pytest.raises(PostingLimited, match="slow mode: one post every 10") as caught:
        services.post_create(author=other_developer, thread=thread, body="And another thing")
    assert "You can post again in 9" in caught.value.message or "You can post again in 10" in caught.value.message
    services.post_create(author=third_developer, thread=thread, body="A different member may post")
    services.post_create(author=forum_moderator, thread=thread, body="Staff one")
    services.post_create(author=forum_moderator, thread=thread, body="Staff two")
    for post in Post.objects.filter(author=other_developer):
        age(post, minutes=11)
    services.post_create(author=other_developer, thread=thread, body="Ten minutes later")


@pytest.mark.embedded
def test_a_silenced_member_cannot_post_and_is_told_why_and_until_when(
    client, developer, forum_moderator, general, thread
):
    until = timezone.now() + timedelta(days=3)
    services.user_silence(user=developer, moderator=forum_moderator, reason="Repeated spam", until=until)
    with pytest.raises(PermissionDenied, match=r"silenced until .* Reason: Repeated spam"):
        services.post_create(author=developer, thread=thread, body="Let me in")
    with pytest.raises(PermissionDenied, match="silenced"):
        services.thread_create(author=developer, category=general, title="New thread please", body="Body")
    client.force_login(developer)
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "You are silenced until" in page and "Repeated spam" in page
    assert 'action="/forum/t/' + str(thread.pk) + '/reply/"' not in page


def test_a_suspended_member_cannot_like_or_flag_either(developer, other_developer, forum_moderator, thread):
    services.user_suspend(user=other_developer, moderator=forum_moderator, reason="Abuse", until=None)
    post = thread.posts.get(number=1)
    with pytest.raises(PermissionDenied, match="suspended until a moderator lifts it"):
        services.post_like(post=post, user=other_developer)
    with pytest.raises(PermissionDenied):
        services.flag_create(post=post, flagger=other_developer, reason="spam")


def test_an_expired_sanction_no_longer_applies(developer, thread):
    Sanction.objects.create(
        user=developer,
        kind=SanctionKind.SILENCE,
        reason="cool down",
        starts_at=timezone.now() - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=1),
    )
    assert services.post_create(author=developer, thread=thread, body="Back again").number == 2
