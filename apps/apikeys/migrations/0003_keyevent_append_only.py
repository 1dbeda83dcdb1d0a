"""The database refuses to change or remove key events, as the forum's audit log does.

Deleting a key or an account still clears ``key_id`` and ``actor_id`` (``on_delete=SET_NULL``).
"""

from django.db import migrations

from apps.core.models import append_only_trigger_sql

CLEARABLE = ("key_id", "actor_id")


def _statements(apps, schema_editor):
    model = apps.get_model("apikeys", "KeyEvent")
    columns = [field.column for field in model._meta.local_concrete_fields]
    return append_only_trigger_sql(
        vendor=schema_editor.connection.vendor, table=model._meta.db_table, columns=columns, clearable=CLEARABLE
    )


def forward(apps, schema_editor):
    for statement in _statements(apps, schema_editor)[0]:
        schema_editor.execute(statement)


def reverse(apps, schema_editor):
    for statement in _statements(apps, schema_editor)[1]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("apikeys", "0002_plans")]

    operations = [migrations.RunPython(forward, reverse)]
