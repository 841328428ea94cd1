"""Writing a checked file in one transaction: items, annotations, judgments, queue entries and counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from annotate.dataset.importers.base import WRITE_BATCH, ImportOptions, ImportResult, ParsedAnnotation, ParsedItem
from annotate.dataset.importers.checking import Checker, read_and_check
from annotate.db import analyze, check_deferred_constraints, insert_rows
from annotate.db import batches as _batches
from annotate.models import (
    Annotation,
    AuditEvent,
    Item,
    Judgment,
    Label,
    Membership,
    Project,
    QueueEntry,
    Role,
    record_audit,
)
from annotate.stats.cold_start import diverse_order
from annotate.work.queue import insert_cold_start_entries, recount_current_rounds

# After an import of at least this many rows, PostgreSQL's statistics of the
# tables it wrote are refreshed (see ``_refresh_statistics``).
ANALYZE_AFTER_ROWS = 10_000


def import_file(
    *,
    project: Project,
    stream: IO[bytes],
    options: ImportOptions,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate the whole file, then write it in one transaction; raise ImportFailed and write nothing on errors."""
    items, checker = read_and_check(project=project, stream=stream, options=options, progress=progress)
    return write_checked(project=project, items=items, checker=checker, options=options, actor=actor)


def write_checked(
    *, project: Project, items: list[ParsedItem], checker: Checker, options: ImportOptions, actor: Any
) -> ImportResult:
    """Write the rows ``read_and_check`` returned, in one transaction, then refresh the planner's statistics."""
    result = _write(project=project, items=items, checker=checker, options=options, actor=actor)
    _refresh_statistics(result)
    return result


def _refresh_statistics(result: ImportResult) -> None:
    """Refresh the planner's statistics of the tables a large import wrote (``annotate.db.analyze``).

    Right after a bulk load the planner does not know the new rows and reads
    each export chunk's judgments with a sequential scan (docs/benchmarks.md).
    """
    written = result.items_created + result.items_updated + result.judgments_created
    if written < ANALYZE_AFTER_ROWS:
        return
    analyze([Item, Annotation, Judgment, QueueEntry])


@transaction.atomic
def _write(
    *, project: Project, items: list[ParsedItem], checker: Checker, options: ImportOptions, actor: Any
) -> ImportResult:
    result = ImportResult(notes=dict(sorted(checker.notes.items())))
    user_ids = _ensure_people(project=project, checker=checker, result=result)

    new_rows = [item for item in items if item.external_id not in checker.existing]
    updated_rows = [item for item in items if item.external_id in checker.existing]
    now = timezone.now()
    first_new_item = _last_pk(Item)
    insert_rows(
        Item,
        ["project_id", "external_id", "text", "metadata", "created_at"],
        ((project.pk, row.external_id, row.text, json.dumps(row.metadata), now) for row in new_rows),
    )
    item_ids = dict(
        Item.objects.filter(project=project, pk__gt=first_new_item).values_list("external_id", "pk").order_by()
    )
    result.items_created = len(new_rows)
    for batch in _batches(updated_rows, WRITE_BATCH):
        objs = [
            Item(pk=checker.existing[row.external_id], text=row.text, metadata=row.metadata, project=project)
            for row in batch
        ]
        Item.objects.bulk_update(objs, ["text", "metadata"])
        item_ids.update((row.external_id, checker.existing[row.external_id]) for row in batch)
    result.items_updated = len(updated_rows)

    # Items without a queue entry (the new ones, and any left without one)
    # get a cold-start place below. Ordering them (TF-IDF and k-means) is
    # seconds of Python; it runs in a thread while the database stores the
    # annotations and judgments and checks their foreign keys, which is
    # mostly the server's work, so the two overlap instead of adding up.
    unqueued = list(
        Item.objects.filter(project=project, queue_entry__isnull=True).order_by("pk").values_list("pk", "text")
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        ordering = pool.submit(diverse_order, [text for _, text in unqueued], seed=project.pk * 1000)
        _write_annotations(
            project=project,
            items=items,
            updated_rows=updated_rows,
            item_ids=item_ids,
            user_ids=user_ids,
            checker=checker,
            now=now,
            actor=actor,
            result=result,
        )
        # The deferred foreign-key checks of every row written so far (over a
        # million for a large file) would run at commit, after the thread is
        # done; running them now lets them overlap it.
        check_deferred_constraints()
        order = ordering.result()
    insert_cold_start_entries(project=project, item_ids=[pk for pk, _ in unqueued], order=order)
    # Items that had a queue entry already (update=true) count their annotations anew.
    newly_queued = {item_id for item_id, _ in unqueued}
    answered_again = {item_ids[row.external_id] for row in updated_rows if row.annotations} - newly_queued
    recount_current_rounds(item_ids=sorted(answered_again))
    record_audit(
        action="items.import",
        actor=actor,
        project=project,
        after={"options": options.as_dict(), **result.as_dict()},
    )
    return result


def _write_annotations(
    *,
    project: Project,
    items: list[ParsedItem],
    updated_rows: list[ParsedItem],
    item_ids: dict[str, int],
    user_ids: dict[str, int],
    checker: Checker,
    now: datetime,
    actor: Any,
    result: ImportResult,
) -> None:
    """Replace the annotations that update=true replaces, then insert the file's annotations and judgments."""
    _replace_existing_annotations(
        project=project, rows=updated_rows, item_ids=item_ids, user_ids=user_ids, actor=actor, result=result
    )
    default_confidence = project.default_confidence
    pending = [(row, annotation) for row in items for annotation in row.annotations]
    first_new_annotation = _last_pk(Annotation)
    insert_rows(
        Annotation,
        [
            "item_id",
            "annotator_id",
            "guideline_version_id",
            "created_at",
            "updated_at",
            "duration_ms",
            "skipped",
            "skip_reason",
        ],
        (
            (
                item_ids[row.external_id],
                user_ids[annotation.user_key],
                annotation.version_id,
                annotation.created_at or now,
                annotation.updated_at or annotation.created_at or now,
                annotation.duration_ms,
                annotation.skipped,
                annotation.skip_reason,
            )
            for row, annotation in pending
        ),
    )
    annotation_ids = {
        (item_id, annotator_id): pk
        for item_id, annotator_id, pk in Annotation.objects.filter(item__project=project, pk__gt=first_new_annotation)
        .order_by()
        .values_list("item_id", "annotator_id", "pk")
    }
    active_labels = [label for label in checker.labels.values() if label.is_active]
    label_ids = {name: label.pk for name, label in checker.labels.items()}
    judgments = [
        (
            annotation_ids[(item_ids[row.external_id], user_ids[annotation.user_key])],
            label_ids[name],
            value,
            default_confidence if confidence is None else confidence,
        )
        for row, annotation in pending
        for name, (value, confidence) in _answers_with_unticked(annotation, active_labels).items()
    ]
    insert_rows(Judgment, ["annotation_id", "label_id", "value", "confidence"], judgments)
    result.annotations_created = len(pending)
    result.judgments_created = len(judgments)


def _last_pk(model: type[models.Model]) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _answers_with_unticked(
    annotation: ParsedAnnotation, active_labels: list[Label]
) -> dict[str, tuple[int, float | None]]:
    """The annotation's answers; for a Label Studio import with unticked=negative, every other label says no."""
    if not annotation.untick_negative:
        return annotation.answers
    answers = dict(annotation.answers)
    for label in active_labels:
        introduced = label.introduced_in.number if label.introduced_in is not None else None
        if (
            introduced is not None
            and annotation.guideline_version is not None
            and introduced > annotation.guideline_version
        ):
            # A label that did not exist under this guideline version was not
            # offered, so leaving it unticked says nothing about it.
            continue
        answers.setdefault(label.name, (0, None))
    return answers


def _ensure_people(*, project: Project, checker: Checker, result: ImportResult) -> dict[str, int]:
    """Create the annotators and memberships the import needs; return username -> user id."""
    user_model = get_user_model()
    ids: dict[str, int] = {}
    for person in checker.people.values():
        if person is None:
            continue
        if person.user_id is None:
            user = user_model(username=person.username, email=person.email)
            user.set_unusable_password()
            user.save()
            person.user_id = user.pk
            result.users_created += 1
        if person.needs_membership:
            Membership.objects.get_or_create(project=project, user_id=person.user_id, defaults={"role": Role.ANNOTATOR})
        ids[person.username] = person.user_id
    return ids


def _replace_existing_annotations(
    *,
    project: Project,
    rows: list[ParsedItem],
    item_ids: dict[str, int],
    user_ids: dict[str, int],
    actor: Any,
    result: ImportResult,
) -> None:
    """With update=true, the file's annotation by an annotator replaces theirs on that item; audit the earlier state."""
    wanted = {(item_ids[row.external_id], user_ids[a.user_key]) for row in rows for a in row.annotations}
    if not wanted:
        return
    for batch in _batches(sorted({item_id for item_id, _ in wanted}), 1000):
        old = [
            annotation
            for annotation in Annotation.objects.filter(item_id__in=batch).prefetch_related("judgments__label")
            if (annotation.item_id, annotation.annotator_id) in wanted
        ]
        events = [
            AuditEvent(
                project=project,
                actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
                action="annotation.replace",
                object_type=Annotation._meta.label,
                object_id=str(annotation.pk),
                before={
                    "item_id": annotation.item_id,
                    "annotator_id": annotation.annotator_id,
                    "skipped": annotation.skipped,
                    "answers": {j.label.name: [j.value, j.confidence] for j in annotation.judgments.all()},
                },
                after={"source": "import"},
            )
            for annotation in old
        ]
        # Audit events are append-only; bulk_create inserts and never updates.
        AuditEvent.objects.bulk_create(events)
        Annotation.objects.filter(pk__in=[annotation.pk for annotation in old]).delete()
        result.annotations_replaced += len(old)
