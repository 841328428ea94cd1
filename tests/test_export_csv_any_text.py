"""The CSV export is valid RFC 4180 for any storable text: Python's csv, pandas and pyarrow read one row per item."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pyarrow.csv as pa_csv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotate.dataset.export import ExportOptions, export_stream
from annotate.models import Item
from tests.factories import make_labels, make_project

# Texts the database can store (no NUL, no lone surrogate), with the characters CSV is touchy about.
TEXTS = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\r", "\n", '"', ",", ";", "=", " ", "é", "🙂"]),
        st.characters(blacklist_categories=["Cs"], blacklist_characters=["\x00"]),
    ),
    min_size=1,
    max_size=40,
)


def export_csv(project) -> bytes:
    return b"".join(export_stream(project=project, options=ExportOptions(format="csv")))


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXTS, min_size=1, max_size=4))
def test_any_text_comes_back_whole_through_three_readers(texts):
    project = make_project()
    make_labels(project, ["a", "b"])
    Item.objects.bulk_create(Item(project=project, external_id=f"i{n}", text=text) for n, text in enumerate(texts))
    data = export_csv(project)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [row["id"] for row in rows] == [f"i{n}" for n in range(len(texts))]
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert list(frame["id"]) == [f"i{n}" for n in range(len(texts))]
    table = pa_csv.read_csv(io.BytesIO(data), convert_options=pa_csv.ConvertOptions(strings_can_be_null=False))
    assert table.num_rows == len(texts)
    project.delete()


@pytest.mark.django_db
def test_a_lone_carriage_return_is_quoted(project, labels):
    Item.objects.create(project=project, external_id="cr", text="first\rsecond")
    rows = list(csv.DictReader(io.StringIO(export_csv(project).decode("utf-8"), newline="")))
    assert len(rows) == 1
    assert rows[0]["text"] == "first\rsecond"
