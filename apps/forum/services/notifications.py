"""In-site notifications, their emails, subscriptions and per-member settings.

Notifications are rows written in the action's transaction; emails go out after the
transaction commits, through the ``forum.send_notification_emails`` task (default queue),
and only for what the recipient still may see at sending time. Each email carries a signed
one-click unsubscribe link (RFC 8058 ``List-Unsubscribe-Post``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.models import User

from ..conf import forum_setting
from ..models import (
    Category,
    Notification,
    NotificationKind,
    NotificationSettings,
    Post,
    Subscription,
    SubscriptionLevel,
    Thread,
)
from ..permissions import can_view_post, can_view_thread
from ..rendering import mentioned_usernames, plain_text

if TYPE_CHECKING:
    from django.core.mail.backends.base import BaseEmailBackend
    from django.db.models import Field

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "forum.unsubscribe"
# Priority when one member has several reasons to hear about the same post.
_PRIORITY: list[str] = [NotificationKind.MENTION, NotificationKind.REPLY, NotificationKind.NEW_THREAD]


# ---------------------------------------------------------------------------------------
# Creating notifications
# ---------------------------------------------------------------------------------------
def notifications_create(
    *,
    recipients: dict[Any, str],
    actor: User | None,
    thread: Thread | None = None,
    post: Post | None = None,
    message: str = "",
) -> list[Notification]:
    """One notification per recipient id (value: its kind); emails after commit."""
    actor_id = getattr(actor, "pk", None)
    rows = [
        Notification(
            recipient_id=user_id, kind=kind, actor_id=actor_id, thread=thread, post=post, message=message[:1000]
        )
        for user_id, kind in recipients.items()
        if user_id is not None and (user_id != actor_id or kind == NotificationKind.MODERATION)
    ]
    created = Notification.objects.bulk_create(rows)
    ids = [str(n.pk) for n in created if n.kind in NotificationSettings.EMAIL_FIELD_BY_KIND]
    if ids:
        from apps.core.sites import site_base_url

        # The worker has no request: its links use the site as this one reached it.
        base_url = site_base_url()
        transaction.on_commit(lambda: _enqueue_emails(ids, base_url=base_url))
    return created


def notify_moderation(
    *, user: User | None, actor: User | None, message: str, thread: Thread | None = None, post: Post | None = None
) -> None:
    """Tell ``user`` about a decision on their content or account, with the reason."""
    if user is None:
        return
    notifications_create(
        recipients={user.pk: NotificationKind.MODERATION}, actor=actor, thread=thread, post=post, message=message
    )


def _want(wanted: dict[Any, str], user_id: Any, kind: str) -> None:
    current = wanted.get(user_id)
    if current is None or _PRIORITY.index(kind) < _PRIORITY.index(current):
        wanted[user_id] = kind


def _watchers_wanted(post: Post) -> dict[Any, str]:
    """Who hears of ``post`` through subscriptions and replies, before mentions: watchers
    of the thread, watchers of the category for a new thread, the author replied to."""
    thread = post.thread
    wanted: dict[Any, str] = {}
    thread_levels = dict(Subscription.objects.filter(thread=thread).values_list("user_id", "level"))
    category_levels = dict(Subscription.objects.filter(category=thread.category).values_list("user_id", "level"))
    muted_thread = {u for u, level in thread_levels.items() if level == SubscriptionLevel.MUTED}
    muted_category = {u for u, level in category_levels.items() if level == SubscriptionLevel.MUTED}

    for user_id, level in thread_levels.items():
        if level == SubscriptionLevel.WATCHING:
            _want(wanted, user_id, NotificationKind.REPLY)
    if post.number == 1:
        for user_id, level in category_levels.items():
            if level == SubscriptionLevel.WATCHING:
                _want(wanted, user_id, NotificationKind.NEW_THREAD)
    if post.reply_to is not None and post.reply_to.author_id:
        _want(wanted, post.reply_to.author_id, NotificationKind.REPLY)
    # Muting silences everything but mentions: a muted thread, or a muted category
    # unless the member watches this thread.
    for user_id in list(wanted):
        if user_id in muted_thread or (
            user_id in muted_category and thread_levels.get(user_id) != SubscriptionLevel.WATCHING
        ):
            del wanted[user_id]
    return wanted


def notifications_for_published_post(*, post: Post) -> list[Notification]:
    """Notify everyone who should hear of ``post`` now that anyone may see it: mentioned
    members, the author of the post it replies to, watchers of the thread and, for a new
    thread, watchers of its category. Muting a thread or category silences all but
    mentions. Nobody hears of a thread they may not read."""
    from ..selectors.viewer import staff_user_ids

    thread = post.thread
    category = thread.category
    wanted = _watchers_wanted(post)
    names = mentioned_usernames(post.body)
    if names:
        for user_id in User.objects.filter(username__in=names, is_active=True).values_list("pk", flat=True):
            _want(wanted, user_id, NotificationKind.MENTION)
    wanted.pop(post.author_id, None)
    if category.is_staff_only and wanted:
        staff = staff_user_ids(list(wanted))
        wanted = {k: v for k, v in wanted.items() if k in staff}
    return notifications_create(recipients=wanted, actor=post.author, thread=thread, post=post)


def _enqueue_emails(ids: list[str], *, base_url: str) -> None:
    from ..tasks import send_notification_emails

    try:
        send_notification_emails.delay(ids, base_url=base_url)
    except Exception:  # the broker is down: the periodic sweep sends them later
        logger.warning("could not queue %d notification emails; the sweep will send them", len(ids), exc_info=True)


# ---------------------------------------------------------------------------------------
# Reading and settings
# ---------------------------------------------------------------------------------------
def notification_mark_read(*, notification: Notification, user: User) -> None:
    Notification.objects.filter(pk=notification.pk, recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_settings_get(*, user: User) -> NotificationSettings:
    found, _created = NotificationSettings.objects.get_or_create(user=user)
    return found


def notification_settings_update(*, user: User, **values: bool) -> NotificationSettings:
    """Set the email switches named in ``values`` (fields of ``NotificationSettings``)."""
    allowed = set(NotificationSettings.EMAIL_FIELD_BY_KIND.values())
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown notification settings: {sorted(unknown)}")
    current = notification_settings_get(user=user)
    for name, value in values.items():
        setattr(current, name, bool(value))
    current.save()
    return current


def subscription_set(
    *, user: User, level: str | None, thread: Thread | None = None, category: Category | None = None
) -> Subscription | None:
    """Watch or mute a thread or a category; ``level`` None returns to the default."""
    if (thread is None) == (category is None):
        raise ValueError("give exactly one of thread and category")
    target = {"thread": thread} if thread is not None else {"category": category}
    if level is None:
        Subscription.objects.filter(user=user, **target).delete()
        return None
    if level not in SubscriptionLevel.values:
        raise ValueError(f"unknown subscription level {level!r}")
    subscription, _created = Subscription.objects.update_or_create(user=user, **target, defaults={"level": level})
    return subscription


def subscription_watch_default(*, user: User, thread: Thread) -> None:
    """Authors and repliers watch the thread unless they chose otherwise."""
    Subscription.objects.get_or_create(user=user, thread=thread, defaults={"level": SubscriptionLevel.WATCHING})


# ---------------------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------------------
def unsubscribe_token(*, user: User, setting: str) -> str:
    return signing.dumps({"u": user.pk, "s": setting}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[User, str] | None:
    """The member and setting a token names, or None if forged, expired or unknown."""
    max_age = forum_setting("UNSUBSCRIBE_MAX_AGE_DAYS") * 86400
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    setting = data.get("s")
    if setting not in NotificationSettings.EMAIL_FIELD_BY_KIND.values():
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    return (user, setting) if user else None


def email_unsubscribe(*, token: str) -> tuple[User, str] | None:
    """One click: turn off the emails the token names. Idempotent."""
    found = unsubscribe_token_read(token)
    if found is None:
        return None
    user, setting = found
    notification_settings_update(user=user, **{setting: False})
    return found


def _subject(notification: Notification) -> str:
    title = notification.thread.title if notification.thread else ""
    actor = notification.actor.get_username() if notification.actor else ""
    subjects: dict[str, str] = {
        NotificationKind.REPLY: _("%(actor)s replied in “%(title)s”"),
        NotificationKind.MENTION: _("%(actor)s mentioned you in “%(title)s”"),
        NotificationKind.NEW_THREAD: _("New thread: “%(title)s”"),
        NotificationKind.SOLUTION: _("Your answer in “%(title)s” was marked as the solution"),
        NotificationKind.MODERATION: _("A moderation decision about your forum activity"),
    }
    return subjects.get(notification.kind, _("Forum notification")) % {"actor": actor, "title": title}


def notification_emails_send(*, notification_ids: Iterable[str], base_url: str | None = None) -> int:
    """Email each of the notifications that is not emailed yet, if its recipient wants
    that kind by email and may still see what it is about. Returns how many were sent.
    Links start with ``base_url`` (the site as the triggering request reached it), or
    else with ``SITE_URL``.

    Idempotent: a notification is claimed (``emailed_at`` set) before sending and
    released again if sending fails, so a retried or duplicated task sends each once.
    """
    from ..selectors.viewer import forum_viewer

    sent = 0
    pending = (
        Notification.objects.filter(pk__in=list(notification_ids), emailed_at__isnull=True)
        .select_related("recipient", "actor", "thread__category", "post__thread__category", "post__author")
        .order_by("created_at")
    )
    connection = get_connection()
    for notification in pending:
        field = NotificationSettings.EMAIL_FIELD_BY_KIND.get(notification.kind)
        recipient = notification.recipient
        if field is None or not recipient.is_active or not recipient.email:
            continue
        preferences = NotificationSettings.objects.filter(user=recipient).first()
        if preferences is not None and not getattr(preferences, field):
            continue
        if notification.kind != NotificationKind.MODERATION:
            viewer = forum_viewer(recipient)
            if notification.post is not None and not can_view_post(viewer, notification.post):
                continue
            if notification.thread is not None and not can_view_thread(viewer, notification.thread):
                continue
        claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            continue
        try:
            _email(notification, field=field, connection=connection, base_url=base_url)
        except Exception:
            Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
            raise
        sent += 1
    return sent


def _email(notification: Notification, *, field: str, connection: BaseEmailBackend, base_url: str | None) -> None:
    from apps.core.sites import site_absolute

    def _absolute(path: str) -> str:
        return site_absolute(path, base_url=base_url)

    with translation.override(settings.LANGUAGE_CODE):
        recipient = notification.recipient
        token = unsubscribe_token(user=recipient, setting=field)
        unsubscribe_url = _absolute(reverse("forum:unsubscribe", kwargs={"token": token}))
        target = notification.post or notification.thread
        context = {
            "notification": notification,
            "recipient": recipient,
            "url": _absolute(target.get_absolute_url()) if target is not None else "",
            "excerpt": _excerpt(notification.post),
            "settings_url": _absolute(reverse("forum:notification_settings")),
            "unsubscribe_url": unsubscribe_url,
            # every EMAIL_FIELD_BY_KIND value names a concrete BooleanField
            "setting_label": cast("Field[Any, Any]", NotificationSettings._meta.get_field(field)).verbose_name,
        }
        body = render_to_string("forum/email/notification.txt", context)
        message = EmailMultiAlternatives(
            subject=_subject(notification),
            body=body,
            to=[recipient.email],
            connection=connection,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "Auto-Submitted": "auto-generated",
            },
        )
        message.send()


def _excerpt(post: Post | None) -> str:
    if post is None:
        return ""
    text = plain_text(post.html)
    return text if len(text) <= 400 else text[:400].rsplit(" ", 1)[0] + "…"


def notification_emails_sweep(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Send emails the after-commit task missed (broker down, worker lost)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    horizon = timezone.now() - timedelta(days=2)
    ids = list(
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__lt=cutoff,
            created_at__gte=horizon,
            kind__in=list(NotificationSettings.EMAIL_FIELD_BY_KIND),
        ).values_list("pk", flat=True)[:limit]
    )
    return notification_emails_send(notification_ids=[str(i) for i in ids]) if ids else 0
