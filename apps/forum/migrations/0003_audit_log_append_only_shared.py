"""The audit log's trigger, now built by the one helper that also guards the key events.

Same effect as migration 0002 (PostgreSQL refuses UPDATE and DELETE, SQLite refuses
UPDATE); only the names of the trigger and its function change.
"""

import importlib

from django.db import migrations

from apps.core.models import append_only_trigger_sql

_0002 = importlib.import_module("apps.forum.migrations.0002_audit_log_append_only")


def _statements(apps, schema_editor):
    model = apps.get_model("forum", "AuditLogEntry")
    columns = [field.column for field in model._meta.local_concrete_fields]
    return append_only_trigger_sql(vendor=schema_editor.connection.vendor, table=model._meta.db_table, columns=columns)


def forward(apps, schema_editor):
    _0002.reverse(apps, schema_editor)
    for statement in _statements(apps, schema_editor)[0]:
        schema_editor.execute(statement)


def reverse(apps, schema_editor):
    for statement in _statements(apps, schema_editor)[1]:
        schema_editor.execute(statement)
    _0002.forward(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("forum", "0002_audit_log_append_only")]

    operations = [migrations.RunPython(forward, reverse)]
