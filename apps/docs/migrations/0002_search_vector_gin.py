"""A GIN index on the pages' search vector, on PostgreSQL only (SQLite has no tsvector and
searches with its fallback)."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS docs_page_search_gin ON docs_page USING gin (search_vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS docs_page_search_gin")


class Migration(migrations.Migration):
    dependencies = [("docs", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
