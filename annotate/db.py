"""The one owner of SQL that differs by database (docs/architecture.md).

Everything that asks ``connection.vendor`` lives here: bulk inserts (COPY on
PostgreSQL), the next-item statements and their PL/pgSQL function, and the
queries that read answers fast. Other modules call these functions and never
branch on the database themselves; a grep in .ci/run keeps it so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import connection, models


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def batches(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def insert_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert many rows the fastest way the database offers: COPY on PostgreSQL, executemany on SQLite.

    ``bulk_create`` spends most of 100,000 rows building model instances and
    SQL; an import of that size must take seconds. The caller names the
    columns it fills; every other column gets its field's default, prepared
    once, so a field added later with a default does not break the import.
    Values go through the backend's adapters for dates; JSON arrives as text.
    """
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    given = set(columns)
    defaults = [
        (field.column, field.get_db_prep_save(field.get_default(), connection))
        for field in fields
        if field.attname not in given
    ]
    names = [model._meta.get_field(name).column for name in columns] + [column for column, _ in defaults]
    extra = tuple(value for _, value in defaults)
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(name) for name in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row + extra)
            return
        adapt = connection.ops.adapt_datetimefield_value
        placeholders = ", ".join(["%s"] * len(names))
        sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"
        for batch in batches(list(rows), 20_000):
            cursor.executemany(
                sql,
                [
                    tuple(adapt(value) if isinstance(value, datetime) else value for value in row) + extra
                    for row in batch
                ],
            )


def analyze(model_classes: Iterable[type[models.Model]]) -> None:
    """Refresh the planner's statistics of these tables on PostgreSQL; SQLite has no planner statistics to refresh.

    Until the statistics know about freshly bulk-loaded rows, PostgreSQL's
    planner takes a large new table for a few hundred rows and picks
    sequential scans (docs/benchmarks.md). Autovacuum would fix this later, or
    never where it is turned off; the bulk-loading advice of the PostgreSQL
    manual is to run ANALYZE at once. It samples a fixed number of rows, so
    its cost does not grow with the table.
    """
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in model_classes)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def check_deferred_constraints() -> None:
    """Run the deferred foreign-key checks of the current transaction now instead of at commit (PostgreSQL).

    A bulk write leaves one deferred check per row; running them early lets
    the caller overlap them with other work. A violation raises here and the
    transaction rolls back, as it would at commit. SQLite checks its foreign
    keys as rows are written, so there is nothing left to run early.
    """
    if connection.vendor == "postgresql":
        connection.check_constraints()
