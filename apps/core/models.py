from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from django.db import models


class BaseModel(models.Model):
    """Creation and update times for every table of the portal."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyError(RuntimeError):
    """Code tried to change or remove a row of an append-only table (a bug, never retried)."""


def _refuse(model: type[models.Model]) -> NoReturn:
    raise AppendOnlyError(f"{model._meta.label} is append-only: rows are never changed or removed")


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        _refuse(self.model)

    def delete(self) -> NoReturn:
        _refuse(self.model)


class AppendOnlyModel(models.Model):
    """An audit table: rows are inserted, then never changed or removed.

    Refused twice. Here, in Python: ``save()`` of a stored row, ``delete()``, and
    ``update()``/``delete()`` on ``objects`` raise ``AppendOnlyError``. In the database: a
    trigger from ``append_only_trigger_sql``, installed by the table's migration, refuses
    raw UPDATE and DELETE. Deleting a row that a foreign key points to still works when that
    key is listed as ``clearable`` in the trigger (``on_delete=SET_NULL``): Django's
    collector clears it through ``_base_manager``, which is not guarded here.
    """

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            _refuse(type(self))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(type(self))


def append_only_trigger_sql(
    *, vendor: str, table: str, columns: Sequence[str], clearable: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """The statements that make ``table`` append-only in the database, and those that undo it.

    Returns ``(forward, reverse)`` for ``vendor`` ("postgresql" or "sqlite"; empty lists for
    any other). An UPDATE is refused unless it only sets ``clearable`` columns to NULL (what
    ``on_delete=SET_NULL`` does); ``columns`` are all the table's columns, which SQLite's
    trigger compares one by one (a migration passes those of its historical model, so a
    column added later needs a migration that installs the trigger again).

    PostgreSQL refuses DELETE as well; TRUNCATE, a table-owner operation that Django's
    ``flush`` uses, is left alone. SQLite keeps DELETE possible, because ``flush`` empties
    tables there with DELETE and a trigger cannot tell that from removing one row; the model
    refuses it. The error message contains "append-only" on both.
    """
    if vendor == "postgresql":
        allowed = ""
        if clearable:
            names = ", ".join(f"'{column}'" for column in clearable)
            cleared = " AND ".join(f"(NEW.{c} IS NULL OR NEW.{c} IS NOT DISTINCT FROM OLD.{c})" for c in clearable)
            allowed = (
                f"    IF TG_OP = 'UPDATE' AND {cleared}\n"
                f"       AND to_jsonb(NEW) - ARRAY[{names}]::text[] = to_jsonb(OLD) - ARRAY[{names}]::text[] THEN\n"
                "        RETURN NEW;\n"
                "    END IF;\n"
            )
        forward = [
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$\n"
            "BEGIN\n"
            f"{allowed}"
            "    RAISE EXCEPTION USING\n"
            f"        MESSAGE = '{table} is append-only: ' || TG_OP || ' refused',\n"
            "        ERRCODE = 'insufficient_privilege';\n"
            "END;\n"
            "$$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}\n"
            f"    FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        ]
        reverse = [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_append_only()",
        ]
        return forward, reverse
    if vendor == "sqlite":
        when = ""
        if clearable:
            unchanged = [f"NEW.{c} IS OLD.{c}" for c in columns if c not in clearable]
            nulled = [f"(NEW.{c} IS NULL OR NEW.{c} IS OLD.{c})" for c in clearable]
            when = "\nWHEN NOT (" + " AND ".join(unchanged + nulled) + ")"
        forward = [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table}{when}\n"
            "BEGIN\n"
            f"    SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused');\n"
            "END"
        ]
        return forward, [f"DROP TRIGGER IF EXISTS {table}_append_only"]
    return [], []
