"""The one owner of SQL that differs by database (docs/architecture.md).

Everything that asks ``connection.vendor`` lives here: bulk inserts (COPY on
PostgreSQL), the next-item statements and their PL/pgSQL function, and the
queries that read answers fast. Other modules call these functions and never
branch on the database themselves; a grep in .ci/run keeps it so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import OperationalError, connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


# Item text search (docs/agreement.md, "The item browser"). PostgreSQL
# matches words through a GIN index on this expression (migration 0014):
# the "simple" configuration lowercases words and neither stems nor drops
# any, so it reads every language alike. SQLite has no such index here and
# finds the typed text inside the item's, as a case-insensitive contains.
TEXT_SEARCH_CONFIG = "simple"
TEXT_SEARCH_INDEX = "item_text_search_idx"


def text_search_vector() -> SearchVector:
    return SearchVector("text", config=TEXT_SEARCH_CONFIG)


def search_text(items: models.QuerySet[Any], query: str) -> models.QuerySet[Any]:
    """``items`` whose text matches ``query``: full-text search on PostgreSQL, a contains on SQLite.

    On PostgreSQL the query reads as in a web search engine: every word must
    appear, "a quoted phrase" in that order, ``or`` between alternatives and
    ``-word`` for a word that must not. A query without a single letter or
    digit has no words to look up, and is found inside the text instead.
    """
    if not is_postgresql() or not any(char.isalnum() for char in query):
        return items.filter(text__icontains=query)
    words = SearchQuery(query, config=TEXT_SEARCH_CONFIG, search_type="websearch")
    matched: models.QuerySet[Any] = items.annotate(text_words=text_search_vector()).filter(text_words=words)
    return matched


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
    columns_of = {field.attname: str(field.column) for field in fields} | {
        field.name: str(field.column) for field in fields
    }
    given = set(columns)
    defaults = [
        (str(field.column), field.get_db_prep_save(field.get_default(), connection))
        for field in fields
        if field.attname not in given
    ]
    names = [columns_of[name] for name in columns] + [column for column, _ in defaults]
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
    if not is_postgresql():
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
    if is_postgresql():
        connection.check_constraints()


# ---------------------------------------------------------------------------
# Reading answers fast
# ---------------------------------------------------------------------------


def judgment_rows(*, annotation_ids: npt.NDArray[np.int64], label_ids: list[int]) -> npt.NDArray[np.float64]:
    """(annotation id, label id, value, confidence) rows, fetched without building model objects.

    A project can hold millions of judgments; a plain cursor is several times
    faster than the ORM's row objects here.
    """
    from annotate.models import Judgment

    placeholders = ", ".join(["%s"] * len(label_ids))
    # An id range rather than an IN list of annotation ids, which would be as
    # long as the project; the rows of other projects in the range are
    # dropped below.
    sql = (
        f"SELECT annotation_id, label_id, value, confidence FROM {Judgment._meta.db_table} "
        f"WHERE annotation_id BETWEEN %s AND %s AND label_id IN ({placeholders})"
    )
    params = [int(annotation_ids.min()), int(annotation_ids.max()), *label_ids]
    with connection.cursor() as cursor:
        if is_postgresql():
            fetched = _packed_rows(cursor.cursor, sql, params, annotation_ids)
        else:
            cursor.execute(sql, params)
            fetched = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 4)
    return fetched[np.isin(fetched[:, 0].astype(np.int64), annotation_ids)]


# A judgment packed by PostgreSQL's own send functions: big-endian bigint
# annotation id, bigint label id, smallint value, double confidence.
_PACKED_ROW = np.dtype([("annotation", ">i8"), ("label", ">i8"), ("value", ">i2"), ("confidence", ">f8")])
# Annotations per packed query: at most 100k x labels rows, far below
# PostgreSQL's 1 GB limit on one bytea value.
_PACKED_ANNOTATIONS = 100_000


def _packed_rows(
    cursor: Any, sql: str, params: list[int], annotation_ids: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Let PostgreSQL pack the rows into one bytea per chunk, and read it with numpy.

    On a project with millions of judgments, building a Python tuple per row
    costs more than the query itself (docs/benchmarks.md, "Agreement").
    """
    ids = np.sort(annotation_ids)
    parts = []
    for start in range(0, len(ids), _PACKED_ANNOTATIONS):
        chunk = ids[start : start + _PACKED_ANNOTATIONS]
        cursor.execute(
            "SELECT string_agg(int8send(annotation_id::bigint) || int8send(label_id::bigint)"
            " || int2send(value::smallint) || float8send(confidence::double precision), ''::bytea)"
            f" FROM ({sql}) AS rows",
            [int(chunk[0]), int(chunk[-1]), *params[2:]],
        )
        data = cursor.fetchone()[0]
        if data:
            rows = np.frombuffer(data, dtype=_PACKED_ROW)
            parts.append(np.column_stack([rows["annotation"], rows["label"], rows["value"], rows["confidence"]]))
    return np.vstack(parts).astype(np.float64) if parts else np.empty((0, 4))


def rows_with_cheap_index_probes(query: Any) -> list[Any]:
    """The rows of a chunk's judgment query, planned for data that sits in memory.

    With PostgreSQL's default ``random_page_cost`` (4, priced for spinning
    disks) the planner reads all judgments of the database in a parallel
    scan for every chunk of 2,000 items instead of probing the (annotation,
    label) index once per annotation, many times slower (docs/benchmarks.md,
    "Import and export"). The setting is lowered for this transaction only
    (``SET LOCAL``).
    """
    if not is_postgresql():
        return list(query)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL random_page_cost = 1.1")
        return list(query)


# ---------------------------------------------------------------------------
# The next-item statements (docs/annotating.md, "How the next item is chosen")
# ---------------------------------------------------------------------------
#
# Written once, here, with named slots. On SQLite ``next_item`` runs them from
# Python, the slots filled with query parameters (``python_statement``). On
# PostgreSQL the same statements run inside the PL/pgSQL function
# ``tagwise_next_item`` of the latest next-item migration, the slots filled
# with the function's arguments (``plpgsql_statement``);
# tests/test_next_item_statements.py fails when that function drifts from
# these. They run on every page of every annotator, and building them with
# the ORM cost several times their execution time (docs/benchmarks.md).
#
# An annotator may work on an entry's round when they have no annotation of
# the item that is skipped or already counted in this round (or a later one).

# The annotator's leases in the project on items they may still work on,
# oldest first. Live and expired alike: with an expiry condition PostgreSQL
# may prefer the expiry index over the annotator's own few leases. The
# project is checked with a scalar subquery, one primary-key probe per lease,
# rather than a join, which PostgreSQL may turn into a merge with the whole
# item index of a large project.
HELD_LEASES = """
SELECT l.id, l.item_id, l.expires_at FROM annotate_lease l
WHERE l.annotator_id = {annotator}
  AND (SELECT i.project_id FROM annotate_item i WHERE i.id = l.item_id) = {project}
  AND EXISTS (SELECT 1 FROM annotate_queueentry q WHERE q.item_id = l.item_id)
  AND NOT EXISTS (
      SELECT 1 FROM annotate_annotation a
      WHERE a.item_id = l.item_id AND a.annotator_id = l.annotator_id
        AND (a.skipped OR a.queue_round >= (SELECT q.round FROM annotate_queueentry q WHERE q.item_id = l.item_id))
  )
ORDER BY l.created_at, l.id
"""

# The best open entry the annotator may work on, in one walk of the partial
# index queue_open_priority_idx (its condition and order are these), stopping
# at the first row that passes two correlated checks, each an index probe.
CANDIDATE = """
SELECT q.id, q.item_id FROM annotate_queueentry q
WHERE q.project_id = {project} AND q.completed < q.required
  {not_tried}
  AND NOT EXISTS (
      SELECT 1 FROM annotate_annotation a
      WHERE a.item_id = q.item_id AND a.annotator_id = {annotator} AND (a.skipped OR a.queue_round >= q.round)
  )
  AND q.completed + (SELECT count(*) FROM annotate_lease l WHERE l.item_id = q.item_id AND l.expires_at > {now})
      < q.required
ORDER BY q.priority DESC, q.id
LIMIT 1
"""

# The claim: write the lease only if the round still needs an annotator and
# this one may work on it, re-checked in one statement (a fresh snapshot
# after the row lock on PostgreSQL, under the write lock on SQLite), so it
# succeeds for exactly one caller per free place. An expired lease of the
# same annotator on the item (it no longer counts) is renewed in place.
CLAIM = """
INSERT INTO annotate_lease (item_id, annotator_id, created_at, expires_at)
SELECT q.item_id, {annotator}, {now}, {expires} FROM annotate_queueentry q
WHERE q.id = {entry}
  AND q.completed + (SELECT count(*) FROM annotate_lease l WHERE l.item_id = q.item_id AND l.expires_at > {now})
      < q.required
  AND NOT EXISTS (
      SELECT 1 FROM annotate_annotation a
      WHERE a.item_id = q.item_id AND a.annotator_id = {annotator} AND (a.skipped OR a.queue_round >= q.round)
  )
ON CONFLICT (item_id, annotator_id)
    DO UPDATE SET created_at = excluded.created_at, expires_at = excluded.expires_at
"""

NEXT_ITEM_STATEMENTS = {"HELD_LEASES": HELD_LEASES, "CANDIDATE": CANDIDATE, "CLAIM": CLAIM}

# The function's arguments for each slot.
_PLPGSQL_SLOTS = {
    "annotator": "p_annotator",
    "project": "p_project",
    "now": "p_now",
    "expires": "p_expires",
    "entry": "candidate_id",
    "not_tried": "AND q.id <> ALL (p_exclude)",
}


def python_statement(template: str, **values: Any) -> tuple[str, dict[str, Any]]:
    """A next-item statement with its slots as named query parameters; ``exclude`` fills ``not_tried``."""
    exclude = list(values.pop("exclude", ()))
    params = {name: _adapt(value) for name, value in values.items()}
    not_tried = ""
    if exclude:
        names = [f"tried{index}" for index in range(len(exclude))]
        not_tried = f"AND q.id NOT IN ({', '.join(f'%({name})s' for name in names)})"
        params.update(zip(names, exclude, strict=True))
    slots = {name: f"%({name})s" for name in ("annotator", "project", "now", "expires", "entry")}
    return template.format(**slots, not_tried=not_tried), params


def plpgsql_statement(template: str) -> str:
    """A next-item statement as the PL/pgSQL function runs it."""
    return template.format(**_PLPGSQL_SLOTS)


def _adapt(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


def aware(value: datetime | str) -> datetime:
    """A datetime read by raw SQL; SQLite hands it back naive or as text (Django stores UTC there)."""
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if parsed is None:
        raise ValueError(f"Not a datetime: {value!r}")
    return timezone.make_aware(parsed, UTC) if timezone.is_naive(parsed) else parsed


@contextmanager
def _statement(sql: str, params: Mapping[str, Any] | Sequence[Any]) -> Iterator[Any]:
    """Run one next-item statement and yield its cursor.

    On PostgreSQL the statement is prepared once per connection (psycopg's
    server-side binding, on Django's own connection and transaction), as the
    function's own statements are cached by PL/pgSQL: planning the statement
    cost more than running it, on every call of every annotator
    (docs/benchmarks.md). The cached plans keep using the priority index.
    """
    if is_postgresql():
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            yield cursor
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            yield cursor


def _first_row(sql: str, params: Mapping[str, Any] | Sequence[Any]) -> tuple[Any, ...] | None:
    with _statement(sql, params) as cursor:
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


@cache
def _row_columns() -> tuple[list[str], list[str]]:
    """The entry's and the item's concrete columns, in their models' field order (fixed at run time)."""
    from annotate.models import Item, QueueEntry

    return (
        [str(field.column) for field in QueueEntry._meta.concrete_fields],
        [str(field.column) for field in Item._meta.concrete_fields],
    )


def entry_and_item_row(*, item_id: int) -> tuple[Any, ...] | None:
    """The queue entry's and the item's columns of one item, in one statement (entry's first)."""
    entry_columns, item_columns = _row_columns()
    columns = [f"q.{column}" for column in entry_columns] + [f"i.{column}" for column in item_columns]
    sql = (
        f"SELECT {', '.join(columns)} FROM annotate_queueentry q JOIN annotate_item i ON i.id = q.item_id "
        "WHERE q.item_id = %(item)s"
    )
    return _first_row(sql, {"item": item_id})


def claim_next_entry(
    *, annotator_id: int, project_id: int, now: datetime, expires_at: datetime
) -> tuple[Any, ...] | None:
    """Lease the annotator their held item or the best free one; its entry's and item's columns, or None.

    A live lease of the annotator wins: a reload, a second tab or a failed
    request gives the same item back. Each attempt is one transaction (on
    PostgreSQL one statement, the function ``tagwise_next_item``): find and
    lock the best candidate, claim it, commit. An attempt whose claim fails
    (another annotator's lease committed between the query and the claim)
    writes nothing, and the next attempt skips that entry, so no attempt
    ever holds one row while waiting for another.
    """
    attempt = _claim_on_server if is_postgresql() else _claim_from_python
    tried: list[int] = []
    for _ in range(MAX_CLAIM_ATTEMPTS):
        outcome, entry_id, row = attempt(
            annotator=annotator_id, project=project_id, now=now, expires=expires_at, exclude=tried
        )
        if outcome != "taken":
            return row
        tried.append(entry_id)
    return None


# How many candidates one next_item tries before it gives up for this call. A
# candidate is only rejected when another annotator's claim committed between
# the query and the claim, so each lost attempt is someone else's win; with 50
# annotators asking at once near the end of a queue, 8 attempts could all be
# lost and the page would say "nothing left" while items were free. Each
# attempt costs about a millisecond, so the bound is well above any team.
MAX_CLAIM_ATTEMPTS = 64


def _claim_from_python(
    *, annotator: int, project: int, now: datetime, expires: datetime, exclude: Sequence[int]
) -> tuple[str, int, tuple[Any, ...] | None]:
    """One attempt on SQLite: IMMEDIATE transactions serialise writers, so the conditional claim wins once."""
    with transaction.atomic():
        with _statement(*python_statement(HELD_LEASES, annotator=annotator, project=project)) as cursor:
            held = cursor.fetchall()
        expired = [lease_id for lease_id, _, expires_at in held if aware(expires_at) <= now]
        live = [item_id for _, item_id, expires_at in held if aware(expires_at) > now]
        if expired:
            with connection.cursor() as cursor:
                marks = ", ".join(["%s"] * len(expired))
                cursor.execute(f"DELETE FROM annotate_lease WHERE id IN ({marks})", expired)
        if live:
            return "held", 0, entry_and_item_row(item_id=live[0])
        candidate = _first_row(
            *python_statement(CANDIDATE, annotator=annotator, project=project, now=now, exclude=exclude)
        )
        if candidate is None:
            return "empty", 0, None
        entry_id, item_id = candidate
        claim = python_statement(CLAIM, annotator=annotator, now=now, expires=expires, entry=entry_id)
        with _statement(*claim) as cursor:
            claimed = cursor.rowcount == 1
        if claimed:
            return "claimed", entry_id, entry_and_item_row(item_id=item_id)
        return "taken", entry_id, None


def next_item_call(
    *, annotator: int, project: int, now: datetime, expires: datetime, exclude: Sequence[int], own_transaction: bool
) -> tuple[str, list[Any]]:
    """A call of ``tagwise_next_item`` with the entry and item it hands out as plain columns.

    The function answers one row: ``held`` or ``claimed`` with the entry and
    item (read after the claim), or ``taken`` with the entry another
    annotator claimed first; no row when there is nothing left to give.
    ``own_transaction`` says the statement runs as a transaction of its own
    (autocommit). Only then does its commit skip the wait for the WAL flush
    (a lease is soft state, which a crash would only return to the pool as
    expiry does; annotations are never committed that way), and only then
    does it wait behind a re-rank that holds every candidate row.
    """
    return _next_item_call_sql(), [annotator, project, now, expires, list(exclude), own_transaction]


@cache
def _next_item_call_sql() -> str:
    entry_columns, item_columns = _row_columns()
    columns = [f"(r.entry).{column}" for column in entry_columns] + [f"(r.item).{column}" for column in item_columns]
    return (
        f"SELECT r.outcome, r.entry_id, {', '.join(columns)} FROM tagwise_next_item(%s, %s, %s, %s, %s::bigint[], %s) r"
    )


# How often one claim that PostgreSQL chose as a deadlock victim is run again.
DEADLOCK_RETRIES = 3


def _claim_on_server(
    *, annotator: int, project: int, now: datetime, expires: datetime, exclude: Sequence[int]
) -> tuple[str, int, tuple[Any, ...] | None]:
    own_transaction = connection.get_autocommit()
    call = next_item_call(
        annotator=annotator,
        project=project,
        now=now,
        expires=expires,
        exclude=exclude,
        own_transaction=own_transaction,
    )
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            row = _first_row(*call)
            break
        except OperationalError as error:
            # PostgreSQL breaks a rare lock cycle between a waiting claim and
            # concurrent submits by rolling one transaction back. A claim that
            # is its own transaction wrote nothing, so it is simply run again
            # (seen once in CI with 20 annotators on two busy cores).
            deadlock = isinstance(error.__cause__, psycopg.errors.DeadlockDetected)
            if not (deadlock and own_transaction) or attempt == DEADLOCK_RETRIES:
                raise
    if row is None:
        return "empty", 0, None
    outcome, entry_id, *columns = row
    return outcome, entry_id, None if outcome == "taken" else tuple(columns)


def update_queue_rows(
    *, project_id: int, rows: Sequence[tuple[Any, ...]], columns: Sequence[str], casts: Mapping[str, str], now: datetime
) -> None:
    """One UPDATE ... FROM (VALUES ...) of queue entries keyed by item id; both databases name the columns column1..N.

    ``rows`` are (item_id, value, ...) in the order of ``columns``; ``casts``
    gives the PostgreSQL type of columns whose values it cannot infer (JSON
    text, a NULL), which SQLite does not need.
    """
    placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"] * len(rows))
    assignments = []
    for position, column in enumerate(columns, start=2):
        cast = f"::{casts[column]}" if is_postgresql() and column in casts else ""
        assignments.append(f"{column} = v.column{position}{cast}")
    # Column names come from the caller's code; every value is a query parameter.
    sql = (
        f"UPDATE annotate_queueentry SET {', '.join(assignments)}, updated_at = %s "
        f"FROM (VALUES {placeholders}) AS v "
        "WHERE annotate_queueentry.project_id = %s AND annotate_queueentry.item_id = v.column1"
    )
    params: list[Any] = [connection.ops.adapt_datetimefield_value(now)]
    for row in rows:
        params.extend(row)
    params.append(project_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
