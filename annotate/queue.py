"""The annotation queue: which item an annotator gets next.

This module owns the QueueEntry rows. The learner writes priorities and
focus labels through ``set_queue_priorities``; assignment reads them.
"""

from __future__ import annotations

import random

from django.db import transaction

from annotate.models import Item, Project, QueueEntry, QueueReason


def required_annotations(*, project: Project, overlap: bool) -> int:
    return project.overlap_count if overlap else 1


@transaction.atomic
def build_cold_start_queue(*, project: Project, seed: int = 0) -> int:
    """Give every item without a queue entry a cold-start place in the queue.

    Existing entries are kept, so running it again after an import only adds
    the new items. A seeded share ``overlap_fraction`` of the new items is
    marked for overlap (``required = overlap_count``) to feed agreement.
    Returns the number of entries created.
    """
    new_items = list(Item.objects.filter(project=project, queue_entry__isnull=True).values_list("pk", flat=True))
    rng = random.Random(f"{project.pk}:{seed}")
    rng.shuffle(new_items)
    overlap_count = round(len(new_items) * project.overlap_fraction)
    entries = [
        QueueEntry(
            project=project,
            item_id=item_id,
            priority=1.0 - rank / max(len(new_items), 1),
            reason=QueueReason.OVERLAP if rank < overlap_count else QueueReason.COLD_START,
            required=required_annotations(project=project, overlap=rank < overlap_count),
        )
        for rank, item_id in enumerate(new_items)
    ]
    QueueEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)
