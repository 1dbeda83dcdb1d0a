"""The key-leak guard when revoking goes wrong, and when a held post gets another key."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from apps.apikeys.models import APIKey
from apps.apikeys.services import apikey_create
from apps.forum import services
from apps.forum.models import AuditLogEntry, Notification, NotificationKind

pytestmark = pytest.mark.django_db


def _issue(owner, name):
    return apikey_create(owner=owner, name=name, scopes=["models:read"])


def _refuse_changes_to(key: APIKey) -> None:
    """Make the database refuse every change to ``key``'s row, as a failing database
    would; the trigger goes away with the test's transaction."""
    table, key_id = APIKey._meta.db_table, key.key_id
    assert key_id.isalnum()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION forum_test_refuse_change() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RAISE EXCEPTION 'key rows are read-only'; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER forum_test_refuse_change BEFORE UPDATE ON {table} FOR EACH ROW"
                f" WHEN (OLD.key_id = '{key_id}') EXECUTE FUNCTION forum_test_refuse_change()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER forum_test_refuse_change BEFORE UPDATE ON {table}"
                f" WHEN OLD.key_id = '{key_id}' BEGIN SELECT RAISE(ABORT, 'key rows are read-only'); END"
            )


def test_a_key_that_cannot_be_revoked_is_logged_and_the_post_is_held_all_the_same(
    developer, other_developer, thread, caplog
):
    stuck, stuck_raw = _issue(developer, "CI")
    other, other_raw = _issue(developer, "laptop")
    _refuse_changes_to(stuck)

    with caplog.at_level(logging.ERROR, logger="apps.forum.services.keyleak"):
        post = services.post_create(author=other_developer, thread=thread, body=f"Keys: {stuck_raw} {other_raw}")

    post.refresh_from_db()
    assert post.held_at is not None
    assert stuck_raw not in post.body and other_raw not in post.body
    stuck.refresh_from_db()
    other.refresh_from_db()
    assert stuck.revoked_at is None and other.revoked_at is not None  # one failure does not stop the others
    entry = AuditLogEntry.objects.get(action="post.hold")
    assert entry.after["key_ids"] == [stuck.key_id, other.key_id] and entry.after["revoked"] == [other.key_id]
    assert [r.getMessage() for r in caplog.records if r.name == "apps.forum.services.keyleak"] == [
        f"revoking leaked API key {stuck.key_id} (source forum:post:{post.pk}) failed"
    ]
    assert Notification.objects.filter(recipient=other_developer, kind=NotificationKind.MODERATION).count() == 1


def test_another_key_edited_into_a_held_post_is_revoked_without_telling_the_author_twice(
    developer, other_developer, thread
):
    first, first_raw = _issue(developer, "CI")
    second, second_raw = _issue(developer, "laptop")
    post = services.post_create(author=other_developer, thread=thread, body=f"This fails: {first_raw}")
    post.refresh_from_db()
    assert post.held_at is not None

    services.post_edit(post=post, editor=other_developer, body=f"{post.body}\nand this one: {second_raw}")

    post.refresh_from_db()
    assert post.held_at is not None and second_raw not in post.body
    assert f"pk_{second.key_id}_[REDACTED]" in post.body
    second.refresh_from_db()
    assert second.revoked_at is not None
    holds = AuditLogEntry.objects.filter(action="post.hold").order_by("created_at")
    assert [entry.after["revoked"] for entry in holds] == [[first.key_id], [second.key_id]]
    notices = Notification.objects.filter(recipient=other_developer, kind=NotificationKind.MODERATION)
    assert notices.count() == 1 and f"pk_{first.key_id}" in notices.get().message
