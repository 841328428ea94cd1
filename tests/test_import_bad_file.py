"""A file with any bad row imports nothing and names every problem."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Annotation, AuditEvent, Item, QueueEntry

BAD_FILE = Path(__file__).parent / "fixtures" / "bad_import.jsonl"


@pytest.mark.django_db
def test_bad_jsonl_imports_nothing_and_names_each_problem(project, labels, annotator):
    with BAD_FILE.open("rb") as stream, pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=stream, options=ImportOptions(format="jsonl"))

    errors = {(error.line, error.field): error.message for error in failure.value.errors}
    assert "invalid JSON" in errors[(57, "")]
    assert "required" in errors[(12, "text")]
    assert "unknown label 'weather'" in errors[(23, "annotations[0].labels.weather")]
    assert "limit is 50,000" in errors[(40, "text")]
    assert failure.value.total == 4
    # All or nothing: the 56 good rows were not written either.
    assert Item.objects.filter(project=project).count() == 0
    assert Annotation.objects.count() == 0
    assert QueueEntry.objects.count() == 0
    assert not AuditEvent.objects.filter(action="items.import").exists()


@pytest.mark.django_db
def test_only_the_first_hundred_errors_are_listed_but_all_are_counted(project, labels):
    lines = b"".join(b'{"external_id": "x%d"}\n' % n for n in range(150))
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(lines), options=ImportOptions(format="jsonl"))
    assert len(failure.value.errors) == 100
    assert failure.value.total == 150


@pytest.mark.django_db
def test_a_bad_csv_row_stops_the_whole_file(project, labels, annotator):
    data = (
        b"external_id,text,annotator,shipping,refund\n"
        b"c1,Parcel late,annie,1,\n"
        b"c2,Refund please,annie,maybe,1\n"
        b"c3,,annie,0,0\n"
    )
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(data), options=ImportOptions(format="csv"))
    fields = {(error.line, error.field) for error in failure.value.errors}
    assert fields == {(3, "shipping"), (4, "text")}
    assert Item.objects.count() == 0
