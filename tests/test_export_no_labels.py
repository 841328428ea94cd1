"""A project with no active labels still exports, in every format: its items without a label column."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest

from annotate.dataset.export import ExportOptions, export_stream
from annotate.setup.labelset import retire_label


def export(project, file_format: str) -> bytes:
    return b"".join(export_stream(project=project, options=ExportOptions(format=file_format)))


@pytest.fixture
def unlabelled(project, items, labels, manager):
    for label in labels:
        retire_label(label=label, actor=manager)
    return project


def test_parquet_has_the_items_and_no_labels_struct(unlabelled, items):
    table = pq.read_table(io.BytesIO(export(unlabelled, "parquet")))
    assert table.column_names == ["id", "text", "metadata"]
    assert sorted(table.column("id").to_pylist()) == sorted(item.external_id for item in items)


def test_jsonl_and_csv_list_the_items_with_no_labels(unlabelled, items):
    rows = [json.loads(line) for line in export(unlabelled, "jsonl").splitlines()]
    assert {row["id"] for row in rows} == {item.external_id for item in items}
    assert all(row["labels"] == {} for row in rows)
    header = next(csv.reader(io.StringIO(export(unlabelled, "csv").decode())))
    assert header[:2] == ["id", "text"]
