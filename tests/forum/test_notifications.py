"""Subscriptions, the bell, email notifications (after commit, per-member settings,
one-click unsubscribe) and that nothing hidden leaks through them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from apps.forum import services
from apps.forum.models import Notification, NotificationKind, NotificationSettings, SubscriptionLevel
from apps.forum.services.notifications import unsubscribe_token

from .factories import first_post, make_thread

pytestmark = pytest.mark.django_db


def _kinds(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


@pytest.mark.embedded
def test_a_reply_notifies_the_thread_author_in_site_and_by_email_after_commit(
    developer, other_developer, thread, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reply = services.post_create(author=other_developer, thread=thread, body="Check your header")
    assert mail.outbox == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    notification = Notification.objects.get(recipient=developer)
    assert notification.kind == NotificationKind.REPLY and notification.post == reply
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [developer.email]
    assert message.subject == "helper replied in “Getting a 401 from the API”"
    assert "Check your header" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/forum/unsubscribe/" in message.extra_headers["List-Unsubscribe"]
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_sending_twice_emails_once(developer, other_developer, thread, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.post_create(author=other_developer, thread=thread, body="Hello")
    ids = [str(n.pk) for n in Notification.objects.all()]
    assert services.notification_emails_send(notification_ids=ids) == 0
    assert len(mail.outbox) == 1


def test_watchers_muters_and_mentions(developer, other_developer, third_developer, thread, general):
    services.subscription_set(user=third_developer, thread=thread, level=SubscriptionLevel.WATCHING)
    services.subscription_set(user=developer, thread=thread, level=SubscriptionLevel.MUTED)
    services.post_create(author=other_developer, thread=thread, body="A reply")
    assert _kinds(third_developer) == ["reply"]
    assert _kinds(developer) == []  # muted
    services.post_create(author=other_developer, thread=thread, body="But @dev, look at this")
    assert _kinds(developer) == ["mention"]  # a mention gets through a mute
    services.subscription_set(user=third_developer, category=general, level=SubscriptionLevel.WATCHING)
    new = services.thread_create(author=other_developer, category=general, title="Brand new thread", body="Hi")
    assert Notification.objects.filter(recipient=third_developer, kind="new_thread", thread=new).exists()


def test_one_notification_per_member_per_post_with_the_strongest_reason(developer, other_developer, thread):
    # Mentioned and replied to: one notification, the mention.
    services.post_create(
        author=other_developer, thread=thread, body="@dev replying to you", reply_to=first_post(thread)
    )
    assert _kinds(developer) == ["mention"]


def test_the_bell_counts_unread_and_opening_one_marks_it_read(client, developer, other_developer, thread):
    services.post_create(author=other_developer, thread=thread, body="One")
    services.post_create(author=other_developer, thread=thread, body="Two")
    client.force_login(developer)
    assert client.get("/forum/notifications/count/").json() == {"unread": 2}
    page = client.get("/forum/").content.decode()
    assert '<span class="count-badge" data-bell-count>2</span>' in page
    assert 'aria-label="Notifications, 2 unread"' in page
    notification = Notification.objects.filter(recipient=developer).first()
    response = client.get(f"/forum/notifications/{notification.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/forum/p/{notification.post_id}/"
    assert client.get("/forum/notifications/count/").json() == {"unread": 1}
    client.post("/forum/notifications/")
    assert client.get("/forum/notifications/count/").json() == {"unread": 0}


def test_others_notifications_are_not_found(client, developer, other_developer, thread):
    services.post_create(author=other_developer, thread=thread, body="One")
    notification = Notification.objects.get(recipient=developer)
    client.force_login(other_developer)
    assert client.get(f"/forum/notifications/{notification.pk}/").status_code == 404
    assert Notification.objects.get(pk=notification.pk).read_at is None


@pytest.mark.embedded
def test_a_notification_about_a_post_that_was_hidden_disappears_and_is_not_emailed(
    client, developer, other_developer, forum_moderator, thread, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reply = services.post_create(author=other_developer, thread=thread, body="Spam spam spam")
        services.post_hide(post=reply, moderator=forum_moderator, reason="Spam")
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [[other_developer.email]]  # only the moderation notice
    client.force_login(developer)
    assert client.get("/forum/notifications/count/").json() == {"unread": 0}
    assert "Spam spam" not in client.get("/forum/notifications/").content.decode()


def test_nobody_hears_of_a_thread_in_a_category_they_cannot_read(developer, forum_moderator, moderator, staff_lounge):
    services.thread_create(
        author=forum_moderator, category=staff_lounge, title="About @dev and @moderator", body="@dev @moderator"
    )
    assert _kinds(developer) == []
    assert _kinds(moderator) == ["mention"]


def test_email_settings_turn_off_one_kind(
    client, developer, other_developer, thread, django_capture_on_commit_callbacks
):
    client.force_login(developer)
    response = client.post(
        "/forum/settings/",
        {"email_mentions": "on", "email_watching": "on", "email_solutions": "on", "email_moderation": "on"},
    )
    assert response.status_code == 302
    assert NotificationSettings.objects.get(user=developer).email_replies is False
    with django_capture_on_commit_callbacks(execute=True):
        services.post_create(author=other_developer, thread=thread, body="A reply")
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=developer).count() == 1  # still in the bell


@pytest.mark.embedded
def test_one_click_unsubscribe_asks_on_get_and_unsubscribes_on_post_without_a_session(client, developer):
    token = unsubscribe_token(user=developer, setting="email_replies")
    page = client.get(f"/forum/unsubscribe/{token}/")
    assert page.status_code == 200 and "Stop these emails?" in page.content.decode()
    assert NotificationSettings.objects.filter(user=developer).count() == 0  # GET changes nothing
    csrf_client = client.__class__(enforce_csrf_checks=True)
    response = csrf_client.post(f"/forum/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert NotificationSettings.objects.get(user=developer).email_replies is False


def test_a_forged_unsubscribe_token_is_refused(client, developer):
    token = unsubscribe_token(user=developer, setting="email_replies")
    response = client.post(f"/forum/unsubscribe/{token[:-2]}xx/")
    assert response.status_code == 400
    assert not NotificationSettings.objects.filter(user=developer).exists()


def test_the_settings_page_lists_watched_threads_but_not_ones_the_member_can_no_longer_see(
    client, developer, forum_moderator, general
):
    visible = make_thread(category=general, author=developer, title="My visible thread")
    gone = make_thread(category=general, title="A thread that got deleted")
    services.subscription_set(user=developer, thread=gone, level=SubscriptionLevel.WATCHING)
    services.post_delete(post=first_post(gone), moderator=forum_moderator, reason="Spam")
    client.force_login(developer)
    page = client.get("/forum/settings/").content.decode()
    assert visible.title in page and gone.title not in page


def test_a_mention_added_by_an_edit_notifies_the_new_member_only(developer, other_developer, third_developer, thread):
    post = services.post_create(author=developer, thread=thread, body="Hi @helper")
    services.post_edit(post=post, editor=developer, body="Hi @helper and @third")
    assert _kinds(other_developer) == ["mention"]
    assert _kinds(third_developer) == ["mention"]


def test_likes_and_solutions_notify_the_author(developer, other_developer, question):
    answer = services.post_create(author=other_developer, thread=question, body="Answer")
    services.post_like(post=answer, user=developer)
    services.thread_solution_mark(thread=question, post=answer, actor=developer)
    assert _kinds(other_developer) == ["like", "solution"]


def test_the_periodic_sweep_sends_what_the_after_commit_task_missed(developer, other_developer, thread):
    services.post_create(author=other_developer, thread=thread, body="Missed")  # on_commit never ran
    assert mail.outbox == []
    Notification.objects.update(created_at=Notification.objects.get().created_at - timedelta(minutes=5))
    assert services.notification_emails_sweep() == 1
    assert len(mail.outbox) == 1
