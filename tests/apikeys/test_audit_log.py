"""Both audit tables (key events, the forum's audit log) are append-only, down to the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from apps.accounts.services import user_delete
from apps.apikeys.models import KeyEvent
from apps.core.models import AppendOnlyError
from apps.forum.models import AuditLogEntry
from apps.forum.services.audit import audit_record

from .conftest import make_key


@pytest.fixture
def audited(owner: Any, moderator: Any) -> dict[str, Any]:
    """One row in each audit table."""
    key, _ = make_key(owner)
    audit_record(actor=moderator, action="user.warn", target=owner, reason="x")
    return {"key": key, "tables": [KeyEvent._meta.db_table, AuditLogEntry._meta.db_table]}


def _refused(sql: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.embedded
@pytest.mark.parametrize("table", [KeyEvent._meta.db_table, AuditLogEntry._meta.db_table])
def test_the_database_refuses_to_update_an_audit_row(audited, table):
    _refused(f"UPDATE {table} SET action = 'forged'")  # noqa: S608  (fixed table name)
    assert KeyEvent.objects.get().action == "created"
    assert AuditLogEntry.objects.get().action == "user.warn"


@pytest.mark.embedded
def test_clearing_the_key_does_not_open_a_way_to_rewrite_a_key_event(audited):
    table = KeyEvent._meta.db_table
    _refused(f"UPDATE {table} SET key_id = NULL, action = 'forged'")  # noqa: S608  (fixed table name)
    _refused(f"UPDATE {table} SET actor_id = NULL, ip = '10.0.0.1'")  # noqa: S608  (fixed table name)
    event = KeyEvent.objects.get()
    assert (event.key_id, event.action, event.ip) == (audited["key"].pk, "created", None)


@pytest.mark.parametrize("table", [KeyEvent._meta.db_table, AuditLogEntry._meta.db_table])
def test_on_postgresql_the_database_refuses_to_delete_an_audit_row(audited, table):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE possible for Django's flush (see append_only_trigger_sql)")
    _refused(f"DELETE FROM {table}")  # noqa: S608  (fixed table name)
    assert KeyEvent.objects.count() == 1
    assert AuditLogEntry.objects.count() == 1


@pytest.mark.embedded
def test_deleting_an_account_keeps_its_key_events_without_key_or_actor(audited, owner):
    user_delete(user=owner)
    event = KeyEvent.objects.get()
    assert (event.key_id, event.actor_id, event.action) == (None, None, "created")
    assert event.key_prefix == audited["key"].prefix


@pytest.mark.embedded
def test_the_key_events_refuse_bulk_updates_and_deletes(audited):
    with pytest.raises(AppendOnlyError):
        KeyEvent.objects.filter(action="created").update(action="forged")
    with pytest.raises(AppendOnlyError):
        KeyEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        KeyEvent.objects.get().save(update_fields=["action"])
    assert KeyEvent.objects.get().action == "created"
