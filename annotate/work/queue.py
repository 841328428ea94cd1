"""The annotation queue: which item an annotator gets next.

This module owns the QueueEntry and Lease rows. The learner writes priorities
and focus labels through ``set_queue_priorities``; ``next_item`` reads them and
hands out items under a lease, so that an item is never held by more
annotators than it still needs (docs/annotating.md).

How the claim stays correct under concurrency:

- The count that matters for an item is ``completed`` (annotations stored)
  plus its live leases (annotators working on it now). An annotator may get
  the item only while that count is below ``required``.
- On PostgreSQL one call of the function ``tagwise_next_item`` (migration
  0006) does the work in a single round trip: the candidate QueueEntry row is
  locked with ``SELECT ... FOR UPDATE SKIP LOCKED``, so two annotators never
  claim the same row at the same moment (the second one takes the next row
  instead), and the claim is a conditional INSERT of the lease that re-checks
  the count in a fresh statement. Under READ COMMITTED that statement sees
  every lease committed by an earlier holder of the row lock, which the
  snapshot of the candidate query may have missed.
- On SQLite the same statements run from Python. IMMEDIATE transactions
  serialise writers, and the same conditional INSERT succeeds for exactly
  one caller.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotate.db import insert_rows
from annotate.models import Annotation, Item, Label, Lease, Project, QueueEntry, QueueReason
from annotate.stats.cold_start import diverse_order

# How many candidates next_item tries before it gives up for this call. A
# candidate is only rejected when another annotator's claim committed between
# our query and our claim, so a handful of attempts is plenty.
MAX_CLAIM_ATTEMPTS = 8
# Items per grouped count of completed annotations (a range of ids each).
COUNT_BATCH = 20_000


def required_annotations(*, project: Project, overlap: bool) -> int:
    return project.overlap_count if overlap else 1


def is_overlap_rank(rank: int, fraction: float) -> bool:
    """Spread the overlap share evenly over the ranking: rank r is overlap when floor((r+1)f) > floor(rf).

    Overlap items then arrive at a steady rate from the first minute, so
    agreement figures grow with the work instead of all at the start.
    """
    return math.floor((rank + 1) * fraction) > math.floor(rank * fraction)


@transaction.atomic
def build_cold_start_queue(*, project: Project, seed: int = 0) -> int:
    """Give every item without a queue entry a cold-start place in the queue.

    Existing entries are kept, so running it again after an import only adds
    the new items. The new items are ordered for diversity (``diverse_order``)
    and a share ``overlap_fraction`` of them, spread evenly over that order,
    is marked for overlap (``required = overlap_count``) to feed agreement.
    Returns the number of entries created.
    """
    rows = list(Item.objects.filter(project=project, queue_entry__isnull=True).order_by("pk").values_list("pk", "text"))
    order = diverse_order([text for _, text in rows], seed=project.pk * 1000 + seed)
    return insert_cold_start_entries(project=project, item_ids=[pk for pk, _ in rows], order=order)


def insert_cold_start_entries(*, project: Project, item_ids: Sequence[int], order: Sequence[int]) -> int:
    """Queue entries for ``item_ids`` in ``order`` (positions in ``item_ids``, as ``diverse_order`` gives them).

    The importer orders its new items in a thread while it writes their
    annotations, then calls this. Each entry is born with its item's count
    of completed annotations, so items that come with annotations are never
    handed out beyond what they still need.
    """
    completed = completed_counts(item_ids)
    total = max(len(item_ids), 1)
    now = timezone.now()
    entries = []
    for rank, index in enumerate(order):
        overlap = is_overlap_rank(rank, project.overlap_fraction)
        reason = QueueReason.OVERLAP if overlap else QueueReason.COLD_START
        required = required_annotations(project=project, overlap=overlap)
        item_id = item_ids[index]
        entries.append((project.pk, item_id, 1.0 - rank / total, reason, required, completed.get(item_id, 0), now))
    columns = ["project_id", "item_id", "priority", "reason", "required", "completed", "updated_at"]
    insert_rows(QueueEntry, columns, entries)
    return len(entries)


def completed_counts(item_ids: Iterable[int]) -> dict[int, int]:
    """The number of non-skipped annotations of each item that has any, in one grouped query per run of ids."""
    wanted = set(item_ids)
    counted: dict[int, int] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), COUNT_BATCH):
        batch = ordered[start : start + COUNT_BATCH]
        counts = (
            Annotation.objects.filter(item_id__gte=batch[0], item_id__lte=batch[-1], skipped=False)
            .order_by()
            .values_list("item_id")
            .annotate(n=Count("pk"))
        )
        counted.update((item_id, n) for item_id, n in counts if item_id in wanted)
    return counted


# The next-item queries are written in SQL: they run on every page of every
# annotator, and building them with the ORM cost several times their
# execution time in Python (about 4 ms against 0.2 ms on 100k items). These
# run on SQLite; on PostgreSQL the same statements live in the function of
# migration 0006, and benchmarks/queue.py EXPLAINs them there.
def _tables() -> dict[str, str]:
    return {
        "entry": QueueEntry._meta.db_table,
        "lease": Lease._meta.db_table,
        "annotation": Annotation._meta.db_table,
        "item": Item._meta.db_table,
    }


def candidate_statement(
    *, annotator_id: int, project_id: int, now: datetime, exclude: Sequence[int] = ()
) -> tuple[str, list[Any]]:
    """The best entry the annotator may get: its id and item id, in one index walk.

    The filter ``completed < required`` and the order match the partial index
    ``queue_open_priority_idx``, so PostgreSQL walks the index in priority
    order and stops at the first row that passes two correlated checks, each
    an index probe: the annotator has not answered or skipped the item, and
    its completed annotations plus live leases are fewer than it needs.
    The PostgreSQL function of migration 0006 runs the same query with FOR
    UPDATE SKIP LOCKED.
    """
    not_tried = f"AND q.id NOT IN ({', '.join(['%s'] * len(exclude))})" if exclude else ""
    sql = """
        SELECT q.id, q.item_id FROM {entry} q
        WHERE q.project_id = %s AND q.completed < q.required
          AND NOT EXISTS (SELECT 1 FROM {annotation} a WHERE a.item_id = q.item_id AND a.annotator_id = %s)
          AND q.completed + (SELECT COUNT(*) FROM {lease} l WHERE l.item_id = q.item_id AND l.expires_at > %s)
              < q.required
          {not_tried}
        ORDER BY q.priority DESC, q.id
        LIMIT 1
    """.format(**_tables(), not_tried=not_tried)
    stamp = connection.ops.adapt_datetimefield_value
    return sql, [project_id, annotator_id, stamp(now), *exclude]


def claim_statement(*, entry_id: int, annotator_id: int, now: datetime, expires_at: datetime) -> tuple[str, list[Any]]:
    """Write the lease if the item still needs an annotator (see ``_claim``)."""
    sql = """
        INSERT INTO {lease} (item_id, annotator_id, created_at, expires_at)
        SELECT q.item_id, %s, %s, %s FROM {entry} q
        WHERE q.id = %s
          AND q.completed + (SELECT COUNT(*) FROM {lease} l WHERE l.item_id = q.item_id AND l.expires_at > %s)
              < q.required
          AND NOT EXISTS (SELECT 1 FROM {annotation} a WHERE a.item_id = q.item_id AND a.annotator_id = %s)
        ON CONFLICT (item_id, annotator_id)
            DO UPDATE SET created_at = excluded.created_at, expires_at = excluded.expires_at
    """.format(**_tables())
    stamp = connection.ops.adapt_datetimefield_value
    return sql, [annotator_id, stamp(now), stamp(expires_at), entry_id, stamp(now), annotator_id]


def held_statement(*, annotator_id: int, project_id: int) -> tuple[str, list[Any]]:
    """The annotator's leases in the project on items they have not answered yet, oldest first.

    Live and expired alike: with an expiry condition PostgreSQL may prefer
    the expiry index over the annotator's own few leases. ``held_item``
    picks the live one and clears the expired ones, which keeps this list to
    a row or two. The project is checked with a scalar subquery, one
    primary-key probe per lease, rather than a join, which PostgreSQL may
    turn into a merge with the whole item index of a large project.
    """
    sql = """
        SELECT l.id, l.item_id, l.expires_at FROM {lease} l
        WHERE l.annotator_id = %s
          AND (SELECT i.project_id FROM {item} i WHERE i.id = l.item_id) = %s
          AND NOT EXISTS (SELECT 1 FROM {annotation} a WHERE a.item_id = l.item_id AND a.annotator_id = l.annotator_id)
        ORDER BY l.created_at, l.id
    """.format(**_tables())
    return sql, [annotator_id, project_id]


def held_item(*, annotator_id: int, project_id: int, now: datetime) -> int | None:
    """The item of the annotator's oldest live lease in the project, if any; expired leases are deleted."""
    with _statement(*held_statement(annotator_id=annotator_id, project_id=project_id)) as cursor:
        rows = cursor.fetchall()
    expired, live = [], []
    for lease_id, item_id, expires_at in rows:
        (live if _aware(expires_at) > now else expired).append((lease_id, item_id))
    if expired:
        Lease.objects.filter(pk__in=[lease_id for lease_id, _ in expired]).delete()
    return live[0][1] if live else None


def _aware(value: datetime | str) -> datetime:
    """A datetime read by raw SQL; SQLite hands it back naive or as text (Django stores UTC there)."""
    parsed = parse_datetime(value) if isinstance(value, str) else value
    return timezone.make_aware(parsed, UTC) if timezone.is_naive(parsed) else parsed


@contextmanager
def _statement(sql: str, params: Sequence[Any]) -> Iterator[Any]:
    """Run one of the next-item statements and yield its cursor.

    On PostgreSQL the statement is prepared once per connection (psycopg's
    server-side binding, on Django's own connection and transaction), as the
    function's own statements are cached by PL/pgSQL: the server spent more
    time planning the candidate query than running it (2.5 ms against
    0.2 ms), on every call of every annotator. The cached plans keep using
    the priority index; benchmarks/queue.py shows them.
    """
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            yield cursor
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            yield cursor


def _first_row(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with _statement(sql, params) as cursor:
        return cursor.fetchone()


def _claim(*, entry_id: int, annotator_id: int, now: datetime, expires_at: datetime) -> bool:
    """True when this caller got the lease.

    One INSERT ... SELECT whose WHERE re-checks ``completed + live leases <
    required`` and that the annotator has not answered the item. Because it is
    a single statement run under SQLite's write lock (the PostgreSQL function
    runs it after the row lock), it succeeds for exactly one caller per free
    place. An expired lease of the same annotator on the item (it no longer counts) is
    renewed in place rather than tripping the (item, annotator) constraint.
    """
    sql, params = claim_statement(entry_id=entry_id, annotator_id=annotator_id, now=now, expires_at=expires_at)
    with _statement(sql, params) as cursor:
        return cursor.rowcount == 1


def _from_row(model: type[Any], values: Sequence[Any]) -> Any:
    """A model instance from raw column values in the order of its concrete fields, converted as the ORM would."""
    converted = []
    for field, value in zip(model._meta.concrete_fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, None, converted)


def _entry_and_item(row: Sequence[Any], project: Project) -> tuple[Item, QueueEntry]:
    """The item and its entry from their concrete columns (entry's, then item's), both pointing at ``project``."""
    split = len(QueueEntry._meta.concrete_fields)
    entry = _from_row(QueueEntry, row[:split])
    item = _from_row(Item, row[split:])
    entry.item = item
    item.project = entry.project = project
    return item, entry


def entry_with_item(*, item_id: int, project: Project) -> tuple[Item, QueueEntry] | None:
    """The item and its queue entry in one statement, both pointing at the caller's project object.

    Written in SQL for the same reason as the next-item statements: the ORM's
    ``select_related(...).get()`` cost about 1 ms of Python against 0.2 ms.
    """
    columns = [f"q.{field.column}" for field in QueueEntry._meta.concrete_fields]
    columns += [f"i.{field.column}" for field in Item._meta.concrete_fields]
    sql = "SELECT {columns} FROM {entry} q JOIN {item} i ON i.id = q.item_id WHERE q.item_id = %s".format(
        columns=", ".join(columns), **_tables()
    )
    row = _first_row(sql, [item_id])
    return None if row is None else _entry_and_item(row, project)


def server_call_statement(
    *,
    annotator_id: int,
    project_id: int,
    now: datetime,
    expires_at: datetime,
    own_transaction: bool,
    exclude: Sequence[int] = (),
) -> tuple[str, list[Any]]:
    """A call of the PostgreSQL function ``tagwise_next_item`` (migration 0006), with the entry and item it hands out.

    The function answers one row: ``held`` or ``claimed`` with the entry and
    item (as whole rows, read after the claim), or ``taken`` with the entry
    another annotator claimed first (try again without it); no row when there
    is nothing left to give. ``own_transaction`` says the statement runs as a
    transaction of its own (autocommit). Only then does its commit skip the
    wait for the WAL flush (a lease is soft state, which a crash would only
    return to the pool as expiry does; waiting for the flush, about 3 ms
    here, was the largest part of next_item; annotations are never committed
    that way), and only then does it wait behind a re-rank that holds every
    candidate row.
    """
    entry_columns = [f"(r.entry).{field.column}" for field in QueueEntry._meta.concrete_fields]
    item_columns = [f"(r.item).{field.column}" for field in Item._meta.concrete_fields]
    columns = ", ".join(entry_columns + item_columns)
    sql = f"SELECT r.outcome, r.entry_id, {columns} FROM tagwise_next_item(%s, %s, %s, %s, %s::bigint[], %s) r"
    return sql, [annotator_id, project_id, now, expires_at, list(exclude), own_transaction]


def _next_item_on_server(
    *, annotator_id: int, project: Project, now: datetime, expires_at: datetime
) -> tuple[Item, QueueEntry] | None:
    """next_item on PostgreSQL: one round trip per attempt, each attempt its own transaction."""
    tried: list[int] = []
    ask = {"annotator_id": annotator_id, "project_id": project.pk, "now": now, "expires_at": expires_at}
    ask["own_transaction"] = connection.get_autocommit()
    for _ in range(MAX_CLAIM_ATTEMPTS):
        row = _first_row(*server_call_statement(**ask, exclude=tried))
        if row is None:
            return None
        outcome, entry_id, *columns = row
        if outcome == "taken":
            tried.append(entry_id)
            continue
        return _entry_and_item(columns, project)
    return None


def next_item(*, annotator: Any, project: Project, now: datetime | None = None) -> tuple[Item, QueueEntry] | None:
    """Lease the annotator the best item they may work on, or return None when there is none.

    A live lease of the annotator wins: a reload, a second tab or a failed
    request gives the same item back, so nobody loses their place.

    Each attempt is one transaction (on PostgreSQL one statement): find and
    lock the best candidate, claim it, commit. An attempt whose claim fails
    (another annotator's lease committed between our query and our lock)
    writes nothing; ending its transaction releases the row lock, so no
    attempt ever holds one row while waiting for another (no deadlocks), and
    the next attempt skips that row.
    """
    now = now or timezone.now()
    expires_at = now + timedelta(minutes=project.lease_minutes or 30)
    if connection.vendor == "postgresql":
        return _next_item_on_server(annotator_id=annotator.pk, project=project, now=now, expires_at=expires_at)
    tried: list[int] = []
    for _ in range(MAX_CLAIM_ATTEMPTS):
        with transaction.atomic():
            held = held_item(annotator_id=annotator.pk, project_id=project.pk, now=now)
            if held is not None and (got := entry_with_item(item_id=held, project=project)) is not None:
                return got
            candidate = _first_row(
                *candidate_statement(annotator_id=annotator.pk, project_id=project.pk, now=now, exclude=tried)
            )
            if candidate is None:
                return None
            entry_id, item_id = candidate
            if _claim(entry_id=entry_id, annotator_id=annotator.pk, now=now, expires_at=expires_at):
                return entry_with_item(item_id=item_id, project=project)
            tried.append(entry_id)
    return None


def release_lease(*, annotator: Any, item: Item) -> datetime | None:
    """Give the item back (on submit and skip, in their transaction); returns when the lease was written, if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Lease._meta.db_table} WHERE item_id = %s AND annotator_id = %s RETURNING created_at",
            [item.pk, annotator.pk],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return _aware(row[0])


def current_focus(
    *, focus: Iterable[int], active_ids: set[int], project: Project, merged: dict[int, int] | None = None
) -> list[int]:
    """Focus label ids as the label set is now, in the model's order, each once.

    Between a merge or a retirement and the next re-rank, an entry may name
    a label that is no longer active: a merged one stands for the label it
    was merged into (through later merges too), a retired one is dropped.
    Costs a query only then, unless the caller passes ``merged`` (label id
    to the label it was merged into) for many entries at once.
    """
    focus = [int(label_id) for label_id in focus]
    if all(label_id in active_ids for label_id in focus):
        return focus
    if merged is None:
        merged = merged_labels(project=project)
    result: list[int] = []
    for label_id in focus:
        for _ in range(len(merged)):
            if label_id in active_ids or label_id not in merged:
                break
            label_id = merged[label_id]
        if label_id in active_ids and label_id not in result:
            result.append(label_id)
    return result


def merged_labels(*, project: Project) -> dict[int, int]:
    """Each merged-away label of the project and the label it was merged into."""
    rows = Label.objects.filter(project=project, merged_into__isnull=False).values_list("pk", "merged_into_id")
    return dict(rows)


def release_leases(*, annotator: Any, project: Project) -> int:
    """Give back every item the annotator holds in the project (when they leave it); returns how many."""
    deleted, _ = Lease.objects.filter(annotator=annotator, item__project=project).delete()
    return deleted


QueueRow = tuple[int, float, Iterable[int], str]


def set_queue_priorities(*, project: Project, entries: Iterable[QueueRow], model_version_id: int | None) -> int:
    """Replace priorities, focus labels and reasons of the project's queue in one transaction.

    ``entries`` yields (item_id, priority, focus_label_ids, reason). Items of
    other projects are ignored. ``required`` and ``completed`` of existing
    entries are kept, so re-ranking never forgets work done or the overlap
    target; items that had no entry get one (``required`` is the overlap count
    when the reason is overlap). Entries the learner did not score keep their
    old values. Focus labels are written as the label set is now
    (``current_focus``). Returns the number of entries written.

    The update runs as one statement per batch of rows (UPDATE ... FROM
    VALUES), so the transaction, which holds the row locks next_item waits
    for, stays short even on 100k items.
    """
    valid_reasons = set(QueueReason.values)
    # A model trained before a merge or a retirement may still name the old
    # labels; its focus labels are written as the label set is now.
    active_ids = set(project.active_labels().values_list("pk", flat=True))
    merged = merged_labels(project=project)
    rows: dict[int, tuple[float, list[int], str]] = {}
    for item_id, priority, focus, reason in entries:
        if reason not in valid_reasons:
            raise ValueError(f"Unknown queue reason {reason!r}.")
        focus_now = current_focus(focus=focus, active_ids=active_ids, project=project, merged=merged)
        rows[int(item_id)] = (float(priority), focus_now, str(reason))
    now = timezone.now()
    with transaction.atomic():
        existing = set(QueueEntry.objects.filter(project=project).values_list("item_id", flat=True))
        updates = [(item_id, *row) for item_id, row in rows.items() if item_id in existing]
        for start in range(0, len(updates), UPDATE_BATCH):
            _update_batch(
                project=project, rows=updates[start : start + UPDATE_BATCH], model_version_id=model_version_id, now=now
            )
        missing = [item_id for item_id in rows if item_id not in existing]
        # Only items of this project get a new entry; other ids are ignored.
        new_items = set(Item.objects.filter(project=project, pk__in=missing).values_list("pk", flat=True))
        QueueEntry.objects.bulk_create(
            [
                QueueEntry(
                    project=project,
                    item_id=item_id,
                    priority=rows[item_id][0],
                    focus_labels=rows[item_id][1],
                    reason=rows[item_id][2],
                    model_version_id=model_version_id,
                    required=required_annotations(project=project, overlap=rows[item_id][2] == QueueReason.OVERLAP),
                    updated_at=now,
                )
                for item_id in missing
                if item_id in new_items
            ],
            batch_size=2000,
        )
    return len(updates) + len(new_items)


# Rows per UPDATE statement: 4 parameters each stays far below SQLite's limit of 32766.
UPDATE_BATCH = 2000


def _update_batch(
    *, project: Project, rows: list[tuple[int, float, list[int], str]], model_version_id: int | None, now: datetime
) -> None:
    """One UPDATE ... FROM (VALUES ...) for a batch; PostgreSQL and SQLite 3.33+ both name the columns column1..N."""
    table = QueueEntry._meta.db_table
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    # The table name comes from the model; every value is a query parameter.
    sql = f"""
        UPDATE {table} SET priority = v.column2, focus_labels = v.column3{json_cast}, reason = v.column4,
               model_version_id = %s, updated_at = %s
        FROM (VALUES {values}) AS v
        WHERE {table}.project_id = %s AND {table}.item_id = v.column1
    """
    params: list[Any] = [model_version_id, connection.ops.adapt_datetimefield_value(now)]
    for item_id, priority, focus, reason in rows:
        params.extend([item_id, priority, json.dumps(focus), reason])
    params.append(project.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
