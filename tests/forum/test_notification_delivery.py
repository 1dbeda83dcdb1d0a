"""Who is told about what, and how the notification emails survive a broker or mail
outage, a duplicated task and a recipient who changed their mind."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail, signing
from django.core.mail.backends import locmem

from apps.accounts.models import User
from apps.accounts.services import user_delete
from apps.apikeys import keyformat
from apps.forum import services
from apps.forum.models import (
    AuditLogEntry,
    Notification,
    NotificationKind,
    NotificationSettings,
    Subscription,
    SubscriptionLevel,
)
from apps.forum.services.notifications import UNSUBSCRIBE_SALT, unsubscribe_token
from apps.forum.tasks import send_notification_emails, sweep_notification_emails

from .factories import first_post

pytestmark = pytest.mark.django_db


def _kinds(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def _ids(user):
    return [
        str(pk)
        for pk in Notification.objects.filter(recipient=user).order_by("created_at").values_list("pk", flat=True)
    ]


# --- who is told ----------------------------------------------------------------------
def test_hiding_the_post_of_a_member_who_deleted_their_account_tells_nobody(
    developer, other_developer, forum_moderator, thread
):
    reply = services.post_create(author=other_developer, thread=thread, body="Buy cheap followers")
    user_delete(user=other_developer)
    reply.refresh_from_db()
    assert reply.author is None
    services.post_hide(post=reply, moderator=forum_moderator, reason="Spam")
    reply.refresh_from_db()
    assert reply.hidden_at is not None
    assert AuditLogEntry.objects.filter(action="post.hide", target_id=str(reply.pk)).exists()
    assert not Notification.objects.filter(kind=NotificationKind.MODERATION).exists()


def test_a_watcher_who_muted_a_held_thread_is_not_told_when_it_is_published(
    developer, other_developer, third_developer, forum_moderator, forum_admin, general
):
    services.subscription_set(user=third_developer, category=general, level=SubscriptionLevel.WATCHING)
    services.subscription_set(user=forum_moderator, category=general, level=SubscriptionLevel.WATCHING)
    services.subscription_set(user=other_developer, category=general, level=SubscriptionLevel.MUTED)
    thread = services.thread_create(
        author=developer, category=general, title="My key stopped working", body=keyformat.generate().raw
    )
    assert thread.held_at is not None
    services.subscription_set(user=forum_moderator, thread=thread, level=SubscriptionLevel.MUTED)

    services.post_release(post=first_post(thread), moderator=forum_admin, reason="Key redacted")

    assert Notification.objects.filter(recipient=third_developer, kind=NotificationKind.NEW_THREAD).exists()
    assert _kinds(forum_moderator) == [] and _kinds(other_developer) == []


def test_replying_to_a_member_who_muted_the_thread_does_not_tell_them(developer, other_developer, thread):
    services.subscription_set(user=developer, thread=thread, level=SubscriptionLevel.MUTED)
    services.post_create(author=other_developer, thread=thread, body="Try a new key", reply_to=first_post(thread))
    assert _kinds(developer) == []


def test_a_muted_category_silences_replies_except_in_threads_the_member_watches(
    developer, other_developer, third_developer, thread, general
):
    mine = services.post_create(author=third_developer, thread=thread, body="Same here")  # now watching
    services.subscription_set(user=third_developer, category=general, level=SubscriptionLevel.MUTED)
    services.post_create(author=other_developer, thread=thread, body="Regenerate it", reply_to=mine)
    assert _kinds(third_developer) == ["reply"]

    assert services.subscription_set(user=third_developer, thread=thread, level=None) is None
    assert not Subscription.objects.filter(user=third_developer, thread=thread).exists()
    services.post_create(author=other_developer, thread=thread, body="Did that help?", reply_to=mine)
    assert _kinds(third_developer) == ["reply"]


def test_subscriptions_and_email_settings_refuse_what_they_do_not_know(developer, thread, general):
    with pytest.raises(ValueError, match="exactly one"):
        services.subscription_set(user=developer, level=SubscriptionLevel.WATCHING)
    with pytest.raises(ValueError, match="exactly one"):
        services.subscription_set(user=developer, level=SubscriptionLevel.WATCHING, thread=thread, category=general)
    with pytest.raises(ValueError, match="unknown subscription level 'loud'"):
        services.subscription_set(user=developer, level="loud", category=general)
    assert not Subscription.objects.filter(user=developer, category=general).exists()
    with pytest.raises(ValueError, match="email_likes"):
        services.notification_settings_update(user=developer, email_replies=False, email_likes=False)
    assert not NotificationSettings.objects.filter(user=developer).exists()


# --- unsubscribe links ----------------------------------------------------------------
def test_an_unsubscribe_link_naming_a_setting_that_no_longer_exists_is_refused(client, developer):
    token = signing.dumps({"u": developer.pk, "s": "email_digest"}, salt=UNSUBSCRIBE_SALT, compress=True)
    assert client.post(f"/forum/unsubscribe/{token}/").status_code == 400
    assert services.email_unsubscribe(token=token) is None
    assert not NotificationSettings.objects.filter(user=developer).exists()


def test_unsubscribing_refuses_a_forged_token_by_itself(developer):
    token = unsubscribe_token(user=developer, setting="email_replies")
    assert services.email_unsubscribe(token=token[:-2] + "xx") is None
    assert not NotificationSettings.objects.filter(user=developer).exists()
    assert services.email_unsubscribe(token=token) == (developer, "email_replies")
    assert NotificationSettings.objects.get(user=developer).email_replies is False


# --- sending --------------------------------------------------------------------------
def test_a_member_deactivated_before_the_email_goes_out_is_not_emailed(developer, other_developer, thread):
    services.post_create(author=other_developer, thread=thread, body="A reply")
    User.objects.filter(pk=developer.pk).update(is_active=False)
    assert services.notification_emails_send(notification_ids=_ids(developer)) == 0
    assert mail.outbox == []


class DuplicateTaskBackend(locmem.EmailBackend):
    """Delivers like locmem; while the first message goes out, a second copy of the
    sending task runs over the same notifications, as a redelivered message would."""

    duplicate_ids: list[str] = []

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        ids, DuplicateTaskBackend.duplicate_ids = DuplicateTaskBackend.duplicate_ids, []
        if ids:
            assert services.notification_emails_send(notification_ids=ids) == 1
        return sent


def test_a_duplicate_task_running_at_the_same_time_sends_each_email_once(developer, other_developer, thread, settings):
    services.post_create(author=other_developer, thread=thread, body="First reply")
    services.post_create(author=other_developer, thread=thread, body="Second reply")
    ids = _ids(developer)
    assert len(ids) == 2
    settings.EMAIL_BACKEND = f"{__name__}.DuplicateTaskBackend"
    DuplicateTaskBackend.duplicate_ids = ids

    assert services.notification_emails_send(notification_ids=ids) == 1  # the duplicate sent the other

    assert sorted("First reply" in m.body for m in mail.outbox) == [False, True]
    assert not Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).exists()


def test_a_mail_server_outage_leaves_the_notification_for_the_retry(developer, other_developer, thread, settings):
    services.post_create(author=other_developer, thread=thread, body="A reply")
    ids = _ids(developer)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    with pytest.raises(OSError, match="refused") as refused:
        services.notification_emails_send(notification_ids=ids)

    assert isinstance(refused.value, send_notification_emails.autoretry_for)  # the task retries it
    assert Notification.objects.get(pk=ids[0]).emailed_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.notification_emails_send(notification_ids=ids) == 1
    assert [m.to for m in mail.outbox] == [[developer.email]]


def test_when_the_broker_is_down_the_periodic_sweep_sends_the_email_later(
    developer, other_developer, thread, caplog, django_capture_on_commit_callbacks
):
    from portal.celery import app

    # A real publish (not the suite's eager mode) to a broker that refuses connections.
    # Set and put back by hand, pools included, as tests/core/test_health.py does: undoing
    # these keys with monkeypatch left later tests publishing nowhere.
    eager = app.conf.task_always_eager
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.broker_write_url = "redis://127.0.0.1:9/0"
    app._pool = app.amqp._producer_pool = None  # built again for the refusing broker
    try:
        with (
            caplog.at_level(logging.WARNING, logger="apps.forum.services.notifications"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            services.post_create(author=other_developer, thread=thread, body="A reply")
    finally:
        app.conf.broker_write_url = None  # back to following broker_url
        app.conf.CELERY_TASK_ALWAYS_EAGER = eager
        app._pool = app.amqp._producer_pool = None  # built again for the real broker
    assert [r.getMessage() for r in caplog.records if r.name == "apps.forum.services.notifications"] == [
        "could not queue 1 notification emails; the sweep will send them"
    ]
    assert mail.outbox == []

    # The sweep runs as beat would start it (``apply`` runs it here, whatever the broker).
    schedule = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert sweep_notification_emails.name in schedule
    assert sweep_notification_emails.apply().get() == 0  # not yet: the after-commit task may still come
    Notification.objects.update(created_at=Notification.objects.get().created_at - timedelta(minutes=5))
    assert sweep_notification_emails.apply().get() == 1
    assert [m.to for m in mail.outbox] == [[developer.email]]
    assert sweep_notification_emails.apply().get() == 0
