"""Moderators' actions, flags and the review queue, sanctions, and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.forum import services
from apps.forum.errors import ForumError, InvalidInput
from apps.forum.models import (
    AuditLogEntry,
    AuditLogImmutable,
    Flag,
    FlagStatus,
    Notification,
    NotificationKind,
    PinScope,
    Post,
    Sanction,
    Thread,
)

from .factories import first_post, make_thread

pytestmark = pytest.mark.django_db


def _entry(action):
    return AuditLogEntry.objects.get(action=action)


@pytest.mark.embedded
def test_hiding_a_post_removes_it_for_others_tells_the_author_and_is_audited(
    client, developer, other_developer, forum_moderator, thread
):
    reply = services.post_create(author=other_developer, thread=thread, body="Buy followers at spam.example")
    services.post_hide(post=reply, moderator=forum_moderator, reason="Spam link")
    thread.refresh_from_db()
    assert thread.reply_count == 0
    assert "spam.example" not in client.get(thread.get_absolute_url()).content.decode()
    client.force_login(other_developer)
    own = client.get(thread.get_absolute_url()).content.decode()
    assert "spam.example" in own and "Hidden by a moderator. Reason: Spam link" in own
    notice = Notification.objects.get(recipient=other_developer, kind=NotificationKind.MODERATION)
    assert "Spam link" in notice.message
    entry = _entry("post.hide")
    assert (entry.actor, entry.reason, entry.target_type) == (forum_moderator, "Spam link", "post")
    assert entry.before["hidden_at"] is None and entry.after["hidden_at"] is not None
    services.post_unhide(post=reply, moderator=forum_moderator)
    thread.refresh_from_db()
    assert thread.reply_count == 1


def test_hiding_or_deleting_needs_a_reason(forum_moderator, thread):
    with pytest.raises(InvalidInput, match="reason"):
        services.post_hide(post=first_post(thread), moderator=forum_moderator, reason=" ")
    with pytest.raises(InvalidInput):
        services.post_delete(post=first_post(thread), moderator=forum_moderator, reason="")
    assert not AuditLogEntry.objects.exists()


def test_deleting_the_first_post_deletes_the_thread_softly_and_restore_brings_it_back(client, forum_moderator, thread):
    services.post_delete(post=first_post(thread), moderator=forum_moderator, reason="Duplicate thread")
    thread.refresh_from_db()
    assert thread.deleted_at is not None
    assert Post.objects.filter(thread=thread).exists()  # soft
    assert client.get(thread.get_absolute_url()).status_code == 404
    assert thread.title not in client.get("/forum/").content.decode()
    client.force_login(forum_moderator)
    assert "Deleted" in client.get(thread.get_absolute_url()).content.decode()
    services.post_restore(post=first_post(thread), moderator=forum_moderator, reason="Not a duplicate")
    thread.refresh_from_db()
    assert thread.deleted_at is None
    assert [e.action for e in AuditLogEntry.objects.order_by("created_at")] == ["post.delete", "post.restore"]


def test_deleting_the_accepted_answer_clears_the_solution(developer, other_developer, forum_moderator, question):
    answer = services.post_create(author=other_developer, thread=question, body="Answer")
    services.thread_solution_mark(thread=question, post=answer, actor=developer)
    services.post_delete(post=answer, moderator=forum_moderator, reason="Wrong and rude")
    question.refresh_from_db()
    assert question.solution is None


@pytest.mark.embedded
def test_lock_close_pin_and_slow_mode_are_audited_with_before_and_after(forum_moderator, thread):
    services.thread_lock(thread=thread, moderator=forum_moderator, reason="Heated")
    services.thread_close(thread=thread, moderator=forum_moderator)
    services.thread_pin(thread=thread, moderator=forum_moderator, scope=PinScope.GLOBAL)
    services.thread_slow_mode_set(thread=thread, seconds=900, moderator=forum_moderator)
    thread.refresh_from_db()
    assert (thread.is_locked, thread.is_closed, thread.pin, thread.slow_mode_seconds) == (True, True, "global", 900)
    assert _entry("thread.lock").before == {"is_locked": False}
    assert _entry("thread.lock").after == {"is_locked": True}
    assert _entry("thread.slow_mode").after == {"slow_mode_seconds": 900}
    services.thread_unlock(thread=thread, moderator=forum_moderator)
    services.thread_reopen(thread=thread, moderator=forum_moderator)
    services.thread_unpin(thread=thread, moderator=forum_moderator)
    thread.refresh_from_db()
    assert (thread.is_locked, thread.is_closed, thread.pin, thread.pinned_at) == (False, False, "", None)
    # Doing what is already done writes nothing.
    count = AuditLogEntry.objects.count()
    services.thread_unlock(thread=thread, moderator=forum_moderator)
    assert AuditLogEntry.objects.count() == count


def test_a_globally_pinned_thread_tops_the_latest_list(client, forum_moderator, general, thread):
    newer = make_thread(category=general, title="A newer thread")
    services.thread_pin(thread=thread, moderator=forum_moderator, scope=PinScope.GLOBAL)
    page = client.get("/forum/").content.decode()
    assert page.index(thread.title) < page.index(newer.title)


def test_moving_a_thread_needs_a_reason_and_changes_its_category(forum_moderator, thread, qa):
    with pytest.raises(InvalidInput):
        services.thread_move(thread=thread, category=qa, moderator=forum_moderator, reason="")
    services.thread_move(thread=thread, category=qa, moderator=forum_moderator, reason="It is a question")
    thread.refresh_from_db()
    assert thread.category == qa
    entry = _entry("thread.move")
    assert entry.after == {"category": str(qa.pk)} and entry.before != entry.after


def test_splitting_moves_replies_in_order_into_a_new_thread(developer, other_developer, forum_moderator, thread):
    keep = services.post_create(author=other_developer, thread=thread, body="On topic")
    a = services.post_create(author=other_developer, thread=thread, body="Tangent one")
    b = services.post_create(author=developer, thread=thread, body="Tangent two")
    services.post_like(post=a, user=developer)
    new = services.thread_split(
        thread=thread, posts=[b, a], title="The tangent, on its own", moderator=forum_moderator, reason="Off topic"
    )
    assert [(p.number, p.body) for p in new.posts.order_by("number")] == [(1, "Tangent one"), (2, "Tangent two")]
    assert new.author == other_developer and new.reply_count == 1 and new.like_count == 1
    thread.refresh_from_db()
    assert thread.reply_count == 1 and list(thread.posts.values_list("pk", flat=True).order_by("number"))[-1] == keep.pk
    assert _entry("thread.split").after["new_thread"] == str(new.pk)
    with pytest.raises(InvalidInput):
        services.thread_split(
            thread=thread, posts=[first_post(thread)], title="Not allowed", moderator=forum_moderator, reason="x"
        )


def test_a_developer_cannot_use_any_moderator_action(developer, thread, qa):
    post = first_post(thread)
    for call in (
        lambda: services.post_hide(post=post, moderator=developer, reason="x"),
        lambda: services.post_delete(post=post, moderator=developer, reason="x"),
        lambda: services.thread_lock(thread=thread, moderator=developer),
        lambda: services.thread_pin(thread=thread, moderator=developer),
        lambda: services.thread_move(thread=thread, category=qa, moderator=developer, reason="x"),
        lambda: services.thread_close(thread=thread, moderator=developer),
        lambda: services.thread_slow_mode_set(thread=thread, seconds=60, moderator=developer),
        lambda: services.review_decide(post=post, moderator=developer, decision="keep"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert not AuditLogEntry.objects.exists()


# ---------------------------------------------------------------------------------------
# Flags and the review queue
# ---------------------------------------------------------------------------------------
def test_a_flag_needs_a_reason_and_text_for_something_else_and_counts_once(developer, other_developer, thread):
    post = first_post(thread)
    with pytest.raises(InvalidInput):
        services.flag_create(post=post, flagger=other_developer, reason="other", text="")
    services.flag_create(post=post, flagger=other_developer, reason="off_topic")
    with pytest.raises(ForumError, match="already flagged"):
        services.flag_create(post=post, flagger=other_developer, reason="spam")
    with pytest.raises(PermissionDenied):
        services.flag_create(post=post, flagger=developer, reason="spam")  # own post


@pytest.mark.embedded
def test_enough_flags_hide_a_post_until_a_moderator_reviews_it(client, developer, general, settings):
    settings.FORUM_FLAGS_TO_HIDE = 3
    from .conftest import _established

    thread = make_thread(category=general, author=developer, title="Totally legit offer")
    post = first_post(thread)
    flaggers = [_established(f"flagger{n}") for n in range(3)]
    services.flag_create(post=post, flagger=flaggers[0], reason="spam")
    services.flag_create(post=post, flagger=flaggers[1], reason="spam")
    post.refresh_from_db()
    assert post.hidden_at is None
    services.flag_create(post=post, flagger=flaggers[2], reason="abusive")
    post.refresh_from_db()
    assert post.hidden_reason == "flagged"
    assert Thread.objects.get(pk=thread.pk).hidden_at is not None
    assert client.get(thread.get_absolute_url()).status_code == 404
    assert _entry("post.auto_hide").actor_label == "system"
    assert "several members flagged it" in Notification.objects.get(recipient=developer).message


def test_the_review_queue_shows_the_post_its_flags_and_the_authors_history(
    client, developer, other_developer, third_developer, forum_moderator, thread
):
    reply = services.post_create(author=other_developer, thread=thread, body="You are all idiots")
    services.flag_create(post=reply, flagger=developer, reason="abusive", text="Insults everyone")
    services.flag_create(post=reply, flagger=third_developer, reason="spam")
    old = services.post_create(author=other_developer, thread=thread, body="Earlier rude post")
    services.post_hide(post=old, moderator=forum_moderator, reason="Rude")
    client.force_login(forum_moderator)
    page = client.get("/forum/review/").content.decode()
    assert "You are all idiots" in page
    assert "Insults everyone" in page and "@dev" in page and "@third" in page
    assert "2 flags" in page
    assert "2 posts" in page and "1 hidden, 0 deleted" in page
    assert '<option value="7" selected>1 week</option>' in page


def test_keep_marks_the_flags_disagreed_and_unhides_a_post_hidden_by_flags(
    forum_moderator, developer, other_developer, thread, settings
):
    settings.FORUM_FLAGS_TO_HIDE = 1
    reply = services.post_create(author=other_developer, thread=thread, body="Edgy but fine")
    services.flag_create(post=reply, flagger=developer, reason="off_topic")
    reply.refresh_from_db()
    assert reply.hidden_at is not None
    services.review_decide(post=reply, moderator=forum_moderator, decision="keep")
    reply.refresh_from_db()
    assert reply.hidden_at is None
    assert Flag.objects.get().status == FlagStatus.DISAGREED
    assert _entry("review.keep").reason == "Flagged: Off-topic (1)"


@pytest.mark.embedded
def test_a_moderator_hides_a_flagged_post_from_the_queue_with_one_click(
    client, developer, other_developer, forum_moderator, thread
):
    reply = services.post_create(author=other_developer, thread=thread, body="Spammy spam")
    services.flag_create(post=reply, flagger=developer, reason="spam")
    client.force_login(forum_moderator)
    response = client.post(f"/forum/review/{reply.pk}/", {"decision": "hide", "reason": "", "duration": "7"})
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.hidden_reason == "moderator"
    assert Flag.objects.get().status == FlagStatus.AGREED
    assert "Nothing is waiting for review" in client.get("/forum/review/").content.decode()


def test_silence_from_the_queue_hides_the_post_and_silences_the_author_for_the_chosen_days(
    forum_moderator, developer, other_developer, thread
):
    reply = services.post_create(author=other_developer, thread=thread, body="More spam")
    services.flag_create(post=reply, flagger=developer, reason="spam")
    services.review_decide(post=reply, moderator=forum_moderator, decision="silence", reason="Spam", days=3)
    sanction = Sanction.objects.get(user=other_developer)
    assert sanction.kind == "silence" and sanction.reason == "Spam"
    assert timedelta(days=2, hours=23) < sanction.ends_at - timezone.now() <= timedelta(days=3)
    reply.refresh_from_db()
    assert reply.hidden_at is not None
    assert {e.action for e in AuditLogEntry.objects.all()} == {"post.hide", "user.silence"}


def test_delete_from_the_queue(forum_moderator, developer, other_developer, thread):
    reply = services.post_create(author=other_developer, thread=thread, body="Delete me")
    services.flag_create(post=reply, flagger=developer, reason="spam")
    services.review_decide(post=reply, moderator=forum_moderator, decision="delete", reason="Spam")
    reply.refresh_from_db()
    assert reply.deleted_at is not None


# ---------------------------------------------------------------------------------------
# Sanctions
# ---------------------------------------------------------------------------------------
def test_a_suspended_member_is_told_why_and_until_when_by_notification_and_email(
    developer, forum_moderator, django_capture_on_commit_callbacks, mailoutbox
):
    until = timezone.now() + timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        services.user_suspend(user=developer, moderator=forum_moderator, reason="Harassment", until=until)
    notice = Notification.objects.get(recipient=developer)
    assert "suspended until" in notice.message and "Harassment" in notice.message
    assert len(mailoutbox) == 1 and "Harassment" in mailoutbox[0].body


def test_moderators_cannot_sanction_staff_and_only_admins_lift_sanctions(
    developer, forum_moderator, forum_admin, moderator
):
    with pytest.raises(PermissionDenied):
        services.user_silence(user=moderator, moderator=forum_moderator, reason="x", until=None)
    with pytest.raises(PermissionDenied):
        services.user_silence(user=forum_admin, moderator=forum_moderator, reason="x", until=None)
    sanction = services.user_silence(user=developer, moderator=forum_moderator, reason="Spam", until=None)
    with pytest.raises(PermissionDenied):
        services.sanction_lift(sanction=sanction, admin=forum_moderator, reason="Appeal")
    with pytest.raises(InvalidInput):
        services.sanction_lift(sanction=sanction, admin=forum_admin, reason="")
    services.sanction_lift(sanction=sanction, admin=forum_admin, reason="Appeal accepted")
    sanction.refresh_from_db()
    assert not sanction.is_active and sanction.lifted_by == forum_admin
    assert _entry("sanction.lift").reason == "Appeal accepted"
    assert services.user_silence(user=moderator, moderator=forum_admin, reason="Abuse of tools", until=None)


def test_a_sanction_must_end_in_the_future(developer, forum_moderator):
    with pytest.raises(InvalidInput):
        services.user_silence(
            user=developer, moderator=forum_moderator, reason="x", until=timezone.now() - timedelta(hours=1)
        )


# ---------------------------------------------------------------------------------------
# The audit log
# ---------------------------------------------------------------------------------------
def test_moderators_filter_the_audit_log_by_actor_action_and_target(client, forum_moderator, forum_admin, thread):
    services.thread_lock(thread=thread, moderator=forum_moderator, reason="a")
    services.thread_close(thread=thread, moderator=forum_admin, reason="b")
    client.force_login(forum_moderator)
    lock, close = "<code>thread.lock</code>", "<code>thread.close</code>"
    page = client.get("/forum/audit/", {"actor": "boss"}).content.decode()
    assert close in page and lock not in page
    page = client.get("/forum/audit/", {"action": "thread.lock"}).content.decode()
    assert lock in page and close not in page
    page = client.get("/forum/audit/", {"target_type": "thread", "target_id": str(thread.pk)}).content.decode()
    assert lock in page and close in page
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert "No entries match" in client.get("/forum/audit/", {"since": tomorrow}).content.decode()


@pytest.mark.embedded
def test_the_audit_log_cannot_be_changed_or_removed_through_the_orm(forum_moderator, thread):
    services.thread_lock(thread=thread, moderator=forum_moderator, reason="x")
    entry = _entry("thread.lock")
    entry.reason = "rewritten"
    with pytest.raises(AuditLogImmutable):
        entry.save()
    with pytest.raises(AuditLogImmutable):
        entry.delete()
    with pytest.raises(AuditLogImmutable):
        AuditLogEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AuditLogImmutable):
        AuditLogEntry.objects.all().delete()
    assert _entry("thread.lock").reason == "x"


@pytest.mark.embedded
def test_the_database_refuses_to_update_an_audit_entry(forum_moderator, thread):
    services.thread_lock(thread=thread, moderator=forum_moderator, reason="x")
    table = AuditLogEntry._meta.db_table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET reason = 'rewritten'")  # noqa: S608  (fixed table name)
    assert _entry("thread.lock").reason == "x"


def test_on_postgresql_the_database_also_refuses_to_delete_an_audit_entry(forum_moderator, thread):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE possible for Django's flush (see migration 0002)")
    services.thread_lock(thread=thread, moderator=forum_moderator, reason="x")
    table = AuditLogEntry._meta.db_table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608  (fixed table name)
    assert AuditLogEntry.objects.count() == 1


def test_the_admin_shows_the_audit_log_read_only(client, admin_user, forum_moderator, thread):
    services.thread_lock(thread=thread, moderator=forum_moderator, reason="x")
    entry = _entry("thread.lock")
    client.force_login(admin_user)
    assert client.get("/admin/forum/auditlogentry/").status_code == 200
    assert client.get(f"/admin/forum/auditlogentry/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/forum/auditlogentry/{entry.pk}/change/", {"reason": "y"}).status_code == 403
    assert client.get(f"/admin/forum/auditlogentry/{entry.pk}/delete/").status_code == 403
    assert client.get("/admin/forum/auditlogentry/add/").status_code == 403
    assert _entry("thread.lock").reason == "x"


def test_deleting_a_members_account_keeps_the_audit_entries_about_their_actions(forum_moderator, thread):
    services.thread_lock(thread=thread, moderator=forum_moderator, reason="x")
    moderator_id = forum_moderator.pk
    forum_moderator.delete()
    entry = _entry("thread.lock")
    assert entry.actor_id == moderator_id and entry.actor_label == "mod"


def test_a_moderation_message_is_in_the_moderators_language(client, forum_moderator, thread):
    client.force_login(forum_moderator)
    response = client.post(f"/zh-hans/forum/t/{thread.pk}/mod/lock/", {"reason": "离题"}, follow=True)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["主题已锁定。"]
