"""The annotation queue: which item an annotator gets next, and for which labels.

This module owns the QueueEntry and Lease rows. The learner writes priorities
and focus labels through ``set_queue_priorities``; ``next_item`` hands out
items under a lease, so that no round of an entry is held by more annotators
than it still needs (docs/annotating.md, "When an item is open").

How the claim stays correct under concurrency:

- The count that matters for an entry is ``completed`` (annotators counted in
  its current round) plus its live leases (annotators working on it now). An
  annotator may get the item only while that count is below ``required``,
  and only if none of their annotations of the item is skipped or already
  counted in the round.
- On PostgreSQL one call of the function ``tagwise_next_item`` does the work
  in a single round trip: the candidate row is locked with ``SELECT ... FOR
  UPDATE SKIP LOCKED``, and the claim is a conditional INSERT of the lease
  that re-checks the count in a fresh statement. On SQLite the same
  statements run from Python under IMMEDIATE transactions. Both live in
  annotate/db.py, the one owner of SQL that differs by database.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from annotate import db
from annotate.db import insert_rows
from annotate.models import Annotation, AskMode, Item, Judgment, Label, Lease, Project, QueueEntry, QueueReason
from annotate.stats.cold_start import diverse_order

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


def recount_current_rounds(*, item_ids: list[int]) -> None:
    """Count the annotators of each entry's round anew, by the rule a re-rank that starts a round uses.

    For answers that arrived outside the queue (an import). A round that asks
    focus labels counts the annotations with an answer on one of them; a
    round that asks every label counts every answered annotation, so a later
    round is not filled by answers to other labels. The counted annotations
    are stamped with the round, so ``next_item`` does not hand the item to
    their annotators again in it.
    """
    entries: list[tuple[int, list[int], int]] = []
    for batch in db.batches(item_ids, UPDATE_BATCH):
        entries += QueueEntry.objects.filter(item_id__in=batch).values_list("item_id", "focus_labels", "round")
    counted: dict[int, set[int]] = defaultdict(set)
    for item_id, _, annotation_id in _annotations_on_labels({item: set(focus) for item, focus, _ in entries if focus}):
        counted[item_id].add(annotation_id)
    for batch in db.batches([item for item, focus, _ in entries if not focus], UPDATE_BATCH):
        answered = Annotation.objects.filter(item_id__in=batch, skipped=False).values_list("item_id", "pk")
        for item_id, annotation_id in answered.iterator(chunk_size=20_000):
            counted[item_id].add(annotation_id)
    # Grouped by count, which is almost always 1 or 2: a plain indexed UPDATE
    # per group instead of a correlated subquery per row.
    by_count: dict[int, list[int]] = defaultdict(list)
    for item_id, _, _ in entries:
        by_count[len(counted[item_id])].append(item_id)
    for count, ids in by_count.items():
        for batch in db.batches(ids, UPDATE_BATCH):
            QueueEntry.objects.filter(item_id__in=batch).update(completed=count)
    this_round = QueueEntry.objects.filter(item_id=OuterRef("item_id")).values("round")[:1]
    for batch in db.batches(sorted(pk for ids in counted.values() for pk in ids), UPDATE_BATCH):
        Annotation.objects.filter(pk__in=batch).update(queue_round=Subquery(this_round))


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
    """The item and its queue entry in one statement, both pointing at the caller's project object."""
    row = db.entry_and_item_row(item_id=item_id)
    return None if row is None else _entry_and_item(row, project)


def next_item(*, annotator: User, project: Project, now: datetime | None = None) -> tuple[Item, QueueEntry] | None:
    """Lease the annotator the best item they may work on, or return None when there is none.

    A live lease of the annotator wins, so nobody loses their place on a
    reload. Otherwise the best open entry whose current round the annotator
    may still work on (docs/annotating.md, "When an item is open") is claimed
    under a lease, so that no round is held by more annotators than it still
    needs; ``annotate.db.claim_next_entry`` says how, on each database.
    An archived project hands out nothing (docs/projects.md).
    """
    if project.archived_at is not None:
        return None
    now = now or timezone.now()
    expires_at = now + timedelta(minutes=project.lease_minutes or 30)
    row = db.claim_next_entry(annotator_id=annotator.pk, project_id=project.pk, now=now, expires_at=expires_at)
    return None if row is None else _entry_and_item(row, project)


def holds_lease(*, annotator: User, item: Item) -> bool:
    """Whether the queue handed the item to the annotator: a lease, live or expired (not yet cleaned up)."""
    return Lease.objects.filter(annotator=annotator, item=item).exists()


def release_lease(*, annotator: User, item: Item) -> datetime | None:
    """Give the item back (on submit and skip, in their transaction); returns when the lease was written, if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Lease._meta.db_table} WHERE item_id = %s AND annotator_id = %s RETURNING created_at",
            [item.pk, annotator.pk],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return db.aware(row[0])


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


# An expired lease still lets its holder's late submit through (a late answer
# is kept, docs/annotating.md); the periodic clean-up deletes it only this
# long after it expired, so the row does not stay for ever when its holder
# never comes back.
EXPIRED_LEASE_KEPT = timedelta(hours=24)


def delete_expired_leases(*, now: datetime) -> int:
    """Delete the leases that expired more than EXPIRED_LEASE_KEPT ago; returns how many.

    One DELETE with its condition: run twice, or by two workers at once, the
    second deletes nothing. An expired lease no longer counts for the queue,
    so deleting it hands out nothing new.
    """
    deleted, _ = Lease.objects.filter(expires_at__lt=now - EXPIRED_LEASE_KEPT).delete()
    return deleted


def release_leases(*, annotator: User, project: Project) -> int:
    """Give back every item the annotator holds in the project (when they leave it); returns how many."""
    deleted, _ = Lease.objects.filter(annotator=annotator, item__project=project).delete()
    return deleted


QueueRow = tuple[int, float, Iterable[int], str]
# Rows per UPDATE statement: at most 8 parameters each stays far below SQLite's limit of 32766.
UPDATE_BATCH = 2000
# PostgreSQL types of the queue columns whose values it cannot infer in a VALUES list.
QUEUE_CASTS = {"focus_labels": "jsonb", "model_version_id": "bigint"}


def set_queue_priorities(
    *, project: Project, entries: Iterable[QueueRow], model_version_id: int | None, new_rounds: bool | None = None
) -> int:
    """Write the learner's ranking into the project's queue in one transaction (per call: chunk large rankings).

    ``entries`` yields (item_id, priority, focus_label_ids, reason). Items of
    other projects are ignored; entries the learner did not score keep their
    old values; items that had no entry get one (``required`` is the overlap
    count when the reason is overlap). Focus labels are written as the label
    set is now (``current_focus``). Returns the number of entries written.

    With ``new_rounds`` (by default: the project asks focus labels) the
    ranking decides what is asked. An entry whose focus labels change starts
    its next round: ``required`` from its reason (0 when the ranking gives it
    no focus labels: it is closed), ``completed`` the annotators who already
    answered one of the new focus labels, whose annotations are counted in
    the new round so they are never asked those labels again. An entry whose
    focus labels stay the same keeps its round and its count. Without
    ``new_rounds`` focus labels only highlight, and ``required`` and
    ``completed`` are kept, as an "all labels" project needs
    (docs/annotating.md, "When an item is open").
    """
    if new_rounds is None:
        new_rounds = project.ask_mode == AskMode.FOCUS
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
    if not rows:
        return 0
    now = timezone.now()
    with transaction.atomic():
        # Locked, so a submit in flight on one of these entries waits and then
        # counts itself in the round as written here. Only the entries in the
        # range of the given item ids: a caller with many entries writes them
        # in chunks of sorted ids (learner/training.py), so that no submit or
        # next item waits for a whole project's re-rank.
        existing = {
            item_id: (focus, round_, required)
            for item_id, focus, round_, required in QueueEntry.objects.select_for_update()
            .filter(project=project, item_id__gte=min(rows), item_id__lte=max(rows))
            .values_list("item_id", "focus_labels", "round", "required")
        }
        kept: list[tuple[int, float, str, str, int | None]] = []
        renewed: list[tuple[int, float, str, str, int | None]] = []
        for item_id, (priority, focus, reason) in rows.items():
            if item_id not in existing:
                continue
            old_focus, _, old_required = existing[item_id]
            starts_round = new_rounds and (set(focus) != set(old_focus or []) or (not focus and old_required != 0))
            (renewed if starts_round else kept).append((item_id, priority, json.dumps(focus), reason, model_version_id))
        common = ["priority", "focus_labels", "reason", "model_version_id"]
        for start in range(0, len(kept), UPDATE_BATCH):
            db.update_queue_rows(
                project_id=project.pk,
                rows=kept[start : start + UPDATE_BATCH],
                columns=common,
                casts=QUEUE_CASTS,
                now=now,
            )
        _start_rounds(project=project, rows=renewed, existing=existing, now=now)
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
                    required=round_required(project=project, reason=rows[item_id][2], focus=rows[item_id][1])
                    if new_rounds
                    else required_annotations(project=project, overlap=rows[item_id][2] == QueueReason.OVERLAP),
                    updated_at=now,
                )
                for item_id in missing
                if item_id in new_items
            ],
            batch_size=2000,
        )
    return len(kept) + len(renewed) + len(new_items)


def round_required(*, project: Project, reason: str, focus: Sequence[int]) -> int:
    """How many annotators a round needs: none without focus labels, the overlap count on overlap items, else one."""
    if not focus:
        return 0
    return required_annotations(project=project, overlap=reason == QueueReason.OVERLAP)


def _start_rounds(
    *,
    project: Project,
    rows: list[tuple[int, float, str, str, int | None]],
    existing: dict[int, tuple[Any, int, int]],
    now: datetime,
) -> None:
    """Start the next round of each entry in ``rows`` (item_id, priority, focus JSON, reason, model version)."""
    if not rows:
        return
    focus_of = {item_id: set(json.loads(focus)) for item_id, _, focus, _, _ in rows}
    counted = _annotations_on_labels(focus_of)
    annotators: dict[int, set[int]] = {}
    for item_id, annotator_id, _ in counted:
        annotators.setdefault(item_id, set()).add(annotator_id)
    renewed = []
    for item_id, priority, focus, reason, version in rows:
        required = round_required(project=project, reason=reason, focus=list(focus_of[item_id]))
        done = len(annotators.get(item_id, ()))
        renewed.append((item_id, priority, focus, reason, version, existing[item_id][1] + 1, required, done))
    columns = ["priority", "focus_labels", "reason", "model_version_id", "round", "required", "completed"]
    for start in range(0, len(renewed), UPDATE_BATCH):
        db.update_queue_rows(
            project_id=project.pk,
            rows=renewed[start : start + UPDATE_BATCH],
            columns=columns,
            casts=QUEUE_CASTS,
            now=now,
        )
    # The annotators who answered a label the new round asks are counted in
    # it, so next_item never hands them the item for that round.
    annotation_ids = sorted({annotation_id for _, _, annotation_id in counted})
    this_round = QueueEntry.objects.filter(item_id=OuterRef("item_id")).values("round")[:1]
    for start in range(0, len(annotation_ids), UPDATE_BATCH):
        Annotation.objects.filter(pk__in=annotation_ids[start : start + UPDATE_BATCH]).update(
            queue_round=Subquery(this_round)
        )


def _annotations_on_labels(focus_of: dict[int, set[int]]) -> list[tuple[int, int, int]]:
    """(item, annotator, annotation) of every answered annotation with a judgment on one of its item's labels.

    Read by runs of item ids (an index range each) rather than a long IN list,
    and filtered here.
    """
    found: set[tuple[int, int, int]] = set()
    ordered = sorted(focus_of)
    for start in range(0, len(ordered), COUNT_BATCH):
        batch = ordered[start : start + COUNT_BATCH]
        judgments = (
            Judgment.objects.filter(
                annotation__item_id__gte=batch[0], annotation__item_id__lte=batch[-1], annotation__skipped=False
            )
            .order_by()
            .values_list("annotation__item_id", "annotation__annotator_id", "annotation_id", "label_id")
        )
        for item_id, annotator_id, annotation_id, label_id in judgments.iterator(chunk_size=20_000):
            if label_id in focus_of.get(item_id, ()):
                found.add((item_id, annotator_id, annotation_id))
    return sorted(found)
