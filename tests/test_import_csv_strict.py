"""CSV and date cells that used to be read by a guess are errors on their line."""

from __future__ import annotations

import io
import json

import pytest

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Item

pytestmark = pytest.mark.django_db


def errors_of(project, body: bytes, fmt: str = "csv") -> dict[tuple[int, str], str]:
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(body), options=ImportOptions(format=fmt))
    assert not Item.objects.filter(project=project).exists()
    return {(error.line, error.field): error.message for error in failure.value.errors}


def test_a_column_named_twice_is_refused(project, labels, annotator):
    errors = errors_of(project, b"external_id,text,annotator,shipping,shipping\nc1,Late,annie,1,0\n")
    assert "more than once: shipping" in errors[(1, "")]


def test_a_long_skip_reason_is_refused_as_in_jsonl(project, labels, annotator):
    body = b"external_id,text,annotator,skipped,skip_reason\nc1,Late,annie,1," + b"x" * 201 + b"\n"
    assert "at most 200 characters" in errors_of(project, body)[(2, "skip_reason")]


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59+14:00", "2026-13-45T10:00:00Z"])
def test_an_answer_dated_in_the_future_or_on_no_real_day_is_refused(project, labels, annotator, stamp):
    annotation = {"annotator": "annie", "labels": {"shipping": 1}, "created_at": stamp}
    body = json.dumps({"external_id": "j1", "text": "t", "annotations": [annotation]}) + "\n"
    errors = errors_of(project, body.encode(), "jsonl")
    assert (1, "annotations[0].created_at") in errors
