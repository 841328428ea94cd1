"""A streaming export holds one chunk at a time: its peak memory does not grow with the project."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from annotate.dataset.export import ExportOptions, export_stream
from annotate.models import Annotation, Item, Judgment
from tests.factories import make_user


def grow(project, labels, annotator, count: int, start: int) -> None:
    rng = random.Random(start)
    items = Item.objects.bulk_create(
        [Item(project=project, external_id=f"m{start + n}", text="x" * 200, metadata={"n": n}) for n in range(count)]
    )
    annotations = Annotation.objects.bulk_create([Annotation(item=item, annotator=annotator) for item in items])
    Judgment.objects.bulk_create(
        [
            Judgment(annotation=annotation, label=label, value=rng.randint(0, 1), confidence=0.8)
            for annotation in annotations
            for label in labels
            if rng.random() < 0.6
        ]
    )


def peak_bytes(project, file_format: str) -> tuple[int, int]:
    """Peak traced memory while streaming the export and throwing the bytes away, and the bytes sent."""
    stream = export_stream(project=project, options=ExportOptions(format=file_format), chunk_size=250)
    sent = 0
    tracemalloc.start()
    try:
        for part in stream:
            sent += len(part)
        return tracemalloc.get_traced_memory()[1], sent
    finally:
        tracemalloc.stop()


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", ["jsonl", "csv", "parquet"])
def test_peak_memory_is_flat_as_the_project_grows(project, labels, file_format):
    annotator = make_user("mem")
    grow(project, labels, annotator, 1000, start=0)
    # The first export pays one-time costs (imports, pyarrow's pools); measure after it.
    peak_bytes(project, file_format)
    small_peak, small_sent = peak_bytes(project, file_format)
    grow(project, labels, annotator, 4000, start=1000)
    large_peak, large_sent = peak_bytes(project, file_format)

    # Five times the data went out...
    assert large_sent > 4 * small_sent
    # ...through about the same peak memory. A list of all rows would grow
    # the peak with the data, by far more than this margin.
    assert large_peak < small_peak * 1.5 + 200_000, (small_peak, large_peak)
