"""Import a file with annotations, export it, and get the same positives, negatives and nulls back."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

from annotate.dataset.export import ExportOptions, export_stream
from annotate.dataset.importers import ImportOptions, import_file
from annotate.models import AuditEvent

# (external id, {annotator: {label: value}}): every label is 1, 0 or absent
# (unobserved); the two annotators agree wherever both answered.
ANSWERS = {
    "r1": {"annie": {"shipping": 1, "refund": 0}, "arthur": {"shipping": 1, "bug": 0}},
    "r2": {"annie": {"billing": 1, "praise": 0, "bug": 1}},
    "r3": {"arthur": {"refund": 0}},
    "r4": {},
}
LABELS = ["shipping", "refund", "billing", "bug", "praise"]


def expected() -> dict[str, dict[str, float | None]]:
    out = {}
    for external_id, by_annotator in ANSWERS.items():
        merged: dict[str, float | None] = dict.fromkeys(LABELS)
        for answers in by_annotator.values():
            for name, value in answers.items():
                merged[name] = float(value)
        out[external_id] = merged
    return out


def source_jsonl() -> bytes:
    rows = [
        {
            "external_id": external_id,
            "text": f"Text of {external_id}",
            "metadata": {"n": index},
            "annotations": [
                {"annotator": annotator, "labels": answers, "confidence": 0.9}
                for annotator, answers in by_annotator.items()
            ],
        }
        for index, (external_id, by_annotator) in enumerate(ANSWERS.items())
    ]
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def source_csv() -> bytes:
    lines = ["external_id,text,annotator,confidence," + ",".join(LABELS)]
    for external_id, by_annotator in ANSWERS.items():
        for annotator, answers in list(by_annotator.items())[:1] or [("", {})]:
            cells = ["" if name not in answers else str(answers[name]) for name in LABELS]
            lines.append(
                f"{external_id},Text of {external_id},{annotator},{'0.9' if annotator else ''}," + ",".join(cells)
            )
    return ("\n".join(lines) + "\n").encode()


def export(project, file_format: str) -> bytes:
    return b"".join(export_stream(project=project, options=ExportOptions(format=file_format)))


@pytest.fixture
def imported(project, labels, annotator, second_annotator):
    import_file(project=project, stream=io.BytesIO(source_jsonl()), options=ImportOptions("jsonl"))
    return project


@pytest.mark.django_db
def test_jsonl_round_trip(imported):
    lines = export(imported, "jsonl").decode().splitlines()
    got = {row["id"]: row["labels"] for row in map(json.loads, lines)}
    assert got == expected()
    first = json.loads(lines[0])
    assert set(first) == {"id", "text", "metadata", "labels"}
    assert json.loads(first["metadata"]) == {"n": 0}
    # The Hugging Face JSON loader reads with pyarrow's JSON reader: every
    # line must have the same keys and types, nulls included.
    table = pa_json.read_json(io.BytesIO("\n".join(lines).encode()))
    assert table.column("labels").type.num_fields == len(LABELS)
    assert table.num_rows == 4


@pytest.mark.django_db
def test_parquet_round_trip(imported):
    table = pq.read_table(io.BytesIO(export(imported, "parquet")))
    assert table.schema.field("labels").type.field("bug").nullable
    got = dict(zip(table.column("id").to_pylist(), table.column("labels").to_pylist(), strict=True))
    assert got == expected()


@pytest.mark.django_db
def test_csv_round_trip_from_a_csv_import(project, labels, annotator, second_annotator):
    import_file(project=project, stream=io.BytesIO(source_csv()), options=ImportOptions("csv"))
    rows = list(csv.DictReader(io.StringIO(export(project, "csv").decode())))
    want = {}
    for external_id, by_annotator in ANSWERS.items():
        # The CSV holds one annotation per row: the first annotator's.
        first = next(iter(by_annotator.values()), {})
        want[external_id] = {name: str(float(first[name])) if name in first else "" for name in LABELS}
    got = {row["id"]: {name: row[name] for name in LABELS} for row in rows}
    assert got == want
    # Unobserved is an empty cell, never 0.
    assert got["r4"] == dict.fromkeys(LABELS, "")


@pytest.mark.django_db
def test_every_export_is_audited(imported, reviewer):
    b"".join(export_stream(project=imported, options=ExportOptions(format="csv", labels=("bug",)), actor=reviewer))
    event = AuditEvent.objects.get(action="export")
    assert event.actor == reviewer
    assert event.after["rows"] == 4 and event.after["complete"] is True
    assert event.after["filters"]["labels"] == ["bug"] and event.after["filters"]["format"] == "csv"
