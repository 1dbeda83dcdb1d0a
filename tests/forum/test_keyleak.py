"""The key-leak guard: a post with one of the portal's API keys is held, the key is
redacted and revoked, and the author is told why."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command

from apps.apikeys import keyformat
from apps.forum import services
from apps.forum.models import AuditLogEntry, Notification, NotificationKind, Post, PostRevision, Thread

from .factories import first_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def key():
    return keyformat.generate()


@pytest.mark.embedded
def test_a_reply_with_an_api_key_is_held_redacted_and_its_author_told(
    client, developer, other_developer, thread, key, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post = services.post_create(author=other_developer, thread=thread, body=f"My key is {key.raw}, why 401?")
    post.refresh_from_db()
    assert post.held_at is not None and post.held_reason == "api_key"
    assert key.raw not in post.body and key.raw not in post.html
    assert f"pk_{key.key_id}_[REDACTED]" in post.body
    assert not Post.objects.filter(body__contains=key.raw).exists()

    notice = Notification.objects.get(recipient=other_developer, kind=NotificationKind.MODERATION)
    assert f"pk_{key.key_id}" in notice.message and "revoked" in notice.message
    assert [m.to for m in mail.outbox] == [[other_developer.email]]
    assert key.raw not in mail.outbox[0].body

    # Nobody else hears of it or sees it; the author sees it with the reason.
    assert not Notification.objects.filter(recipient=developer).exists()
    assert "why 401" not in client.get(thread.get_absolute_url()).content.decode()
    client.force_login(other_developer)
    assert "Held for review" in client.get(thread.get_absolute_url()).content.decode()

    entry = AuditLogEntry.objects.get(action="post.hold")
    assert entry.actor_label == "system" and entry.after["key_ids"] == [key.key_id]


def test_a_thread_whose_first_post_has_a_key_is_held_with_it(client, developer, general, key):
    thread = services.thread_create(author=developer, category=general, title="Auth trouble", body=f"key {key.raw}")
    thread.refresh_from_db()
    assert thread.held_at is not None
    assert "Auth trouble" not in client.get("/forum/").content.decode()


def test_a_look_alike_with_a_wrong_checksum_is_published(developer, thread, key):
    fake = key.raw[:-6] + ("000000" if not key.raw.endswith("000000") else "111111")
    post = services.post_create(author=developer, thread=thread, body=f"Format is like {fake}")
    assert post.held_at is None
    assert fake in post.body


def test_editing_a_key_into_a_post_holds_it_and_the_history_never_stores_the_key(developer, thread, key):
    post = first_post(thread)
    services.post_edit(post=post, editor=developer, body=f"Here: {key.raw}")
    post.refresh_from_db()
    assert post.held_at is not None
    thread.refresh_from_db()
    assert thread.held_at is not None
    assert not PostRevision.objects.filter(body__contains=key.raw).exists()


def test_a_moderator_publishes_the_redacted_post_from_the_review_queue(
    client, developer, other_developer, forum_moderator, thread, key
):
    post = services.post_create(author=other_developer, thread=thread, body=f"Key {key.raw} fails")
    client.force_login(forum_moderator)
    queue = client.get("/forum/review/?show=held").content.decode()
    assert "Held: API key" in queue and f"pk_{key.key_id}_[REDACTED]" in queue
    client.post(f"/forum/review/{post.pk}/", {"decision": "keep", "reason": ""})
    post.refresh_from_db()
    assert post.held_at is None
    assert Notification.objects.filter(recipient=developer, kind=NotificationKind.REPLY, post=post).exists()
    assert Thread.objects.get(pk=thread.pk).reply_count == 1


def test_a_leaked_key_is_revoked_and_stops_working(client, developer, general, capsys):
    call_command("issue_key", "--email", developer.email, "--scopes", "models:read")
    raw = keyformat.find_keys(capsys.readouterr().out)[0]
    assert client.get("/api/v1/models", HTTP_AUTHORIZATION=f"Bearer {raw.raw}").status_code == 200
    services.thread_create(author=developer, category=general, title="My key leaked here", body=raw.raw)
    assert AuditLogEntry.objects.get(action="post.hold").after["revoked"] == [raw.key_id]
    assert client.get("/api/v1/models", HTTP_AUTHORIZATION=f"Bearer {raw.raw}").status_code == 401


def test_a_key_posted_by_someone_else_is_revoked_and_its_owner_is_emailed(
    client, developer, other_developer, thread, capsys, django_capture_on_commit_callbacks
):
    call_command("issue_key", "--email", developer.email, "--scopes", "models:read")
    raw = keyformat.find_keys(capsys.readouterr().out)[0]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post = services.post_create(author=other_developer, thread=thread, body=f"Found this key: {raw.raw}")
    post.refresh_from_db()
    assert post.held_at is not None
    assert client.get("/api/v1/models", HTTP_AUTHORIZATION=f"Bearer {raw.raw}").status_code == 401
    to_owner = [m for m in mail.outbox if m.to == [developer.email]]
    assert len(to_owner) == 1 and "was revoked" in to_owner[0].subject
    assert f"forum:post:{post.pk}" in to_owner[0].body and raw.raw not in to_owner[0].body
    assert AuditLogEntry.objects.get(action="post.hold").after["revoked"] == [raw.key_id]


def test_a_key_this_portal_never_issued_is_held_but_not_recorded_as_revoked(developer, thread, key):
    post = services.post_create(author=developer, thread=thread, body=f"oops {key.raw}")
    assert post.held_at is not None
    entry = AuditLogEntry.objects.get(action="post.hold")
    assert entry.after["key_ids"] == [key.key_id] and entry.after["revoked"] == []
