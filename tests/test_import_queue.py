"""The queue an import builds, and the statistics it refreshes on PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection

from annotate.dataset.importers import ImportOptions, import_file, writing
from annotate.models import Annotation, Item, QueueEntry
from annotate.work.queue import build_cold_start_queue, next_item
from tests.factories import annotate_item

WORDS = ["parcel", "refund", "invoice", "crash", "thanks", "late", "card", "login", "broken", "great", "order"]


def texts(count: int) -> list[str]:
    """Varied texts, so that the cold-start clustering has topics to spread over."""
    return [
        " ".join(WORDS[(index * step) % len(WORDS)] for step in (1, 3, 7, 5)) + f" {index}" for index in range(count)
    ]


def queue(project) -> dict[str, tuple]:
    entries = QueueEntry.objects.filter(project=project).values_list(
        "item__external_id", "priority", "reason", "required", "completed"
    )
    return {external_id: (round(priority, 12), *rest) for external_id, priority, *rest in entries}


@pytest.mark.django_db
def test_import_queues_items_as_the_cold_start_queue_does(project, labels, annotator):
    """The import orders its new entries itself (in a thread); the result must equal build_cold_start_queue's."""
    project.overlap_fraction = 0.25
    project.save()
    # An item from before the import with no entry gets one too, with its answer counted.
    straggler = Item.objects.create(project=project, external_id="old", text="an old parcel question")
    annotate_item(straggler, annotator, {labels[0]: 1})
    rows = [
        {
            "external_id": f"n{index}",
            "text": text,
            **({"annotations": [{"annotator": "annie", "labels": {"shipping": 1}}]} if index % 3 == 0 else {}),
        }
        for index, text in enumerate(texts(60))
    ]
    source = io.BytesIO("".join(json.dumps(row) + "\n" for row in rows).encode())
    import_file(project=project, stream=source, options=ImportOptions(format="jsonl"))
    imported = queue(project)

    QueueEntry.objects.filter(project=project).delete()
    build_cold_start_queue(project=project)
    QueueEntry.objects.filter(item__annotations__skipped=False).update(completed=1)
    assert imported == queue(project)
    assert len(imported) == 61
    assert imported["old"][3] == 1 and imported["n3"][3] == 1 and imported["n1"][3] == 0
    assert {reason for _, reason, _, _ in imported.values()} == {"overlap", "cold_start"}


@pytest.mark.django_db
def test_a_large_import_refreshes_the_planner_statistics(project, labels, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE after an import is for PostgreSQL's planner")
    monkeypatch.setattr(writing, "ANALYZE_AFTER_ROWS", 30)
    rows = [{"external_id": f"s{index}", "text": text} for index, text in enumerate(texts(40))]
    source = io.BytesIO("".join(json.dumps(row) + "\n" for row in rows).encode())
    import_file(project=project, stream=source, options=ImportOptions(format="jsonl"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Item._meta.db_table])
        (estimate,) = cursor.fetchone()
    # Without ANALYZE a table never analyzed reports -1 (unknown) until autovacuum comes by.
    assert estimate == Item.objects.count()


@pytest.mark.django_db
def test_an_import_into_a_later_round_counts_only_answers_on_its_labels(project, labels, annotator, second_annotator):
    """An item in a round that asks "billing" is not filled by imported answers to other labels.

    Counting every answer (as an import once did) closed the round at 2 of 1
    before anyone was asked "billing"; an imported "billing" answer counts,
    and its annotator is not handed the item again in that round.
    """
    shipping, billing = labels[0], labels[2]
    item = Item.objects.create(project=project, external_id="r", text="where is my parcel")
    annotate_item(item, annotator, {shipping: 1}, queue_round=1)
    QueueEntry.objects.create(
        project=project, item=item, priority=1, focus_labels=[billing.pk], round=2, required=1, completed=0
    )

    def import_answers(answers: dict) -> None:
        row = {"external_id": "r", "text": "where is my parcel", "annotations": [answers]}
        source = io.BytesIO(json.dumps(row).encode() + b"\n")
        import_file(project=project, stream=source, options=ImportOptions(format="jsonl", update=True))

    import_answers({"annotator": "arthur", "labels": {"shipping": 0, "refund": 1}})
    assert QueueEntry.objects.get(item=item).completed == 0
    handed = next_item(project=project, annotator=second_annotator)
    assert handed is not None and handed[0] == item

    import_answers({"annotator": "arthur", "labels": {"billing": 1}})
    assert QueueEntry.objects.get(item=item).completed == 1
    assert Annotation.objects.get(item=item, annotator=second_annotator).queue_round == 2
