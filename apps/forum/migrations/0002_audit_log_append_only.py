"""The database refuses to change or remove audit log rows.

PostgreSQL: a trigger rejects UPDATE and DELETE (TRUNCATE, a table-owner operation used by
test teardown, is left alone). SQLite (the embedded development default): a trigger
rejects UPDATE; DELETE stays possible there because Django's ``flush`` empties tables with
DELETE, and the model and admin already refuse it.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION forum_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the forum audit log is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER forum_auditlogentry_append_only
    BEFORE UPDATE OR DELETE ON forum_auditlogentry
    FOR EACH ROW EXECUTE FUNCTION forum_audit_log_append_only();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS forum_auditlogentry_append_only ON forum_auditlogentry;
DROP FUNCTION IF EXISTS forum_audit_log_append_only();
"""
SQLITE_FORWARD = """
CREATE TRIGGER forum_auditlogentry_no_update BEFORE UPDATE ON forum_auditlogentry
BEGIN
    SELECT RAISE(ABORT, 'the forum audit log is append-only: UPDATE refused');
END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS forum_auditlogentry_no_update;"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("forum", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
