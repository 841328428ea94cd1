"""GET /api/projects/{id}/export: a streamed file per format, nulls kept, filters checked, audited."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from django.http import StreamingHttpResponse

from annotate.models import AuditEvent
from tests.api_support import api, clear_throttles, client_for  # noqa: F401
from tests.factories import annotate_item


@pytest.fixture
def answered(project, labels, items, annotator):
    annotate_item(items[0], annotator, {labels[0]: 1, labels[1]: 0})
    return items


def body(answer) -> bytes:
    assert isinstance(answer, StreamingHttpResponse)
    return b"".join(answer.streaming_content)


@pytest.mark.django_db
def test_jsonl_export_streams_with_nulls(project, answered, reviewer):
    answer = client_for(reviewer).get(api("/export?format=jsonl", project))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/x-ndjson"
    assert answer["Content-Disposition"] == 'attachment; filename="support-inbox.jsonl"'
    rows = [json.loads(line) for line in body(answer).decode().splitlines()]
    assert len(rows) == 10
    first = next(row for row in rows if row["id"] == "item-0")
    assert first["labels"] == {"shipping": 1.0, "refund": 0.0, "billing": None, "bug": None, "praise": None}
    event = AuditEvent.objects.get(action="export")
    assert event.actor == reviewer and event.after["rows"] == 10


@pytest.mark.django_db
def test_csv_and_parquet_exports(project, answered, reviewer):
    client = client_for(reviewer)
    answer = client.get(api("/export?format=csv&labels=shipping,billing", project))
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(body(answer).decode())))
    assert list(rows[0]) == ["id", "text", "metadata", "shipping", "billing"]
    assert (rows[0]["shipping"], rows[0]["billing"]) == ("1.0", "")
    parquet = client.get(api("/export?format=parquet&include_judgments=true", project))
    table = pq.read_table(io.BytesIO(body(parquet)))
    assert table.num_rows == 10
    assert table.column("judgments").to_pylist()[0][0]["annotator"] == "annie"


@pytest.mark.django_db
def test_bad_export_options_are_400(project, answered, reviewer):
    client = client_for(reviewer)
    assert client.get(api("/export?format=xlsx", project)).status_code == 400
    assert client.get(api("/export?labels=weather", project)).status_code == 404
    assert client.get(api("/export?min_agreement=2", project)).status_code == 400
    assert not AuditEvent.objects.filter(action="export").exists()


@pytest.mark.django_db
def test_annotators_cannot_export(project, answered, annotator):
    assert client_for(annotator).get(api("/export", project)).status_code == 403
