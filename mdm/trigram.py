"""Trigram indexes for contains-search on PostgreSQL (a no-op on SQLite).

Django's ``icontains`` (admin search, API ``?search=``) compiles to ``UPPER(col::text) LIKE UPPER('%x%')``
on PostgreSQL: a sequential scan at 100k rows. A GIN trigram index over that exact expression lets
the planner answer it from the index. ``pg_trgm`` is a trusted extension (PostgreSQL 13+), so the
database owner can create it without superuser rights.
"""

from django.db import migrations


def trigram_indexes(table: str, columns: list[str]) -> migrations.RunPython:
    names = [f"{table}_{column}_trgm"[:63] for column in columns]

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in zip(names, columns, strict=True):
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in names:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')

    return migrations.RunPython(forwards, backwards)
