"""What a member sees around the posts: where a flag leads, the "New thread" button, the
page title and the notification bell."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.forum import services

from .conftest import _established
from .factories import first_post, make_thread

pytestmark = pytest.mark.django_db


def _flag_as(client, user, post):
    client.force_login(user)
    return client.post(f"/forum/p/{post.pk}/flag/", {"reason": "spam", "text": ""})


def test_the_flagger_whose_flag_hides_a_reply_lands_on_the_thread_and_is_told_why(
    client, developer, other_developer, thread, settings
):
    settings.FORUM_FLAGS_TO_HIDE = 3
    reply = services.post_create(author=other_developer, thread=thread, body="Cheap API keys at spam.example")
    flaggers = [_established(f"flagger{n}") for n in range(3)]
    for flagger in flaggers[:2]:
        response = _flag_as(client, flagger, reply)
        assert response.status_code == 302 and response["Location"] == f"/forum/p/{reply.pk}/"

    response = _flag_as(client, flaggers[2], reply)

    reply.refresh_from_db()
    assert reply.hidden_reason == "flagged"
    assert response.status_code == 302 and response["Location"] == thread.get_absolute_url()
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "The post is now hidden until a moderator reviews it." in page.content.decode()
    assert "Cheap API keys" not in page.content.decode()


def test_the_flagger_whose_flag_hides_a_whole_thread_lands_on_its_category(client, developer, general, settings):
    settings.FORUM_FLAGS_TO_HIDE = 3
    thread = make_thread(category=general, author=developer, title="Totally legit offer")
    flaggers = [_established(f"flagger{n}") for n in range(3)]
    for flagger in flaggers:
        response = _flag_as(client, flagger, first_post(thread))

    assert response.status_code == 302 and response["Location"] == general.get_absolute_url()
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "The post is now hidden until a moderator reviews it." in page.content.decode()
    assert client.get(thread.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("sanction", ["silence", "suspend"])
def test_a_silenced_or_suspended_member_is_not_offered_new_thread_and_is_refused_anyway(
    client, developer, forum_moderator, general, thread, sanction
):
    client.force_login(developer)
    assert "New thread" in client.get("/forum/").content.decode()
    until = timezone.now() + timedelta(days=3)
    getattr(services, f"user_{sanction}")(user=developer, moderator=forum_moderator, reason="Spam", until=until)

    for path in ("/forum/", "/forum/categories/", general.get_absolute_url(), thread.get_absolute_url()):
        assert "New thread" not in client.get(path).content.decode(), path
    client.post("/forum/new/", {"category": general.pk, "title": "Let me post", "body": "Please"})
    assert not general.threads.filter(title="Let me post").exists()


def test_visitors_are_still_offered_new_thread(client, general):
    assert "New thread" in client.get("/forum/").content.decode()


def test_the_forum_index_names_the_forum_once_in_its_title(client, general):
    page = client.get("/forum/").content.decode()
    assert re.search(r"<title>\s*Forum · Developer Portal\s*</title>", page)
    assert "<title>Top · Forum · Developer Portal</title>" in client.get("/forum/top/").content.decode()


def test_a_forum_page_has_one_notification_bell_with_the_unread_count(client, developer, other_developer, thread):
    services.post_create(author=other_developer, thread=thread, body="One")
    client.force_login(developer)
    for path in ("/forum/", thread.get_absolute_url(), "/forum/notifications/"):
        page = client.get(path).content.decode()
        assert len(re.findall(r'class="bell"', page)) == 1, path
        assert '<span class="count-badge" data-bell-count>1</span>' in page
        assert 'aria-label="Notifications, 1 unread"' in page, path
