"""Values no database can store (NUL, unpaired surrogates, integers past 32 bits) are errors on their line, not 500s."""

from __future__ import annotations

import io
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Annotation, Item

pytestmark = pytest.mark.django_db

JSONL_CASES = {
    "NUL in text": (b'{"external_id": "n1", "text": "a\\u0000b"}', "text"),
    "NUL in metadata": (b'{"external_id": "n2", "text": "ab", "metadata": {"k": "\\u0000"}}', "metadata.k"),
    "NUL in id": (b'{"external_id": "n3\\u0000", "text": "ab"}', "external_id"),
    "lone surrogate": (b'{"external_id": "s1", "text": "a\\ud800b"}', "text"),
    "NUL in an annotator name": (
        b'{"external_id": "a1", "text": "t", "annotations": [{"annotator": "ann\\u0000", "labels": {"shipping": 1}}]}',
        "annotations[0].annotator",
    ),
    "duration past 32 bits": (
        b'{"external_id": "d1", "text": "t", "annotations": '
        b'[{"annotator": "annie", "labels": {"shipping": 1}, "duration_ms": 1000000000000}]}',
        "annotations[0].duration_ms",
    ),
}


def refused(project, data: bytes, fmt: str, **options) -> dict[tuple[int, str], str]:
    good = b'{"external_id": "ok", "text": "fine"}\n' if fmt == "jsonl" else b""
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(good + data), options=ImportOptions(format=fmt, **options))
    assert not Item.objects.filter(project=project).exists()
    assert not Annotation.objects.exists()
    return {(error.line, error.field): error.message for error in failure.value.errors}


@pytest.mark.parametrize("case", JSONL_CASES)
def test_jsonl_rows_that_cannot_be_stored_are_refused_on_their_line(project, labels, annotator, case):
    data, field = JSONL_CASES[case]
    errors = refused(project, data + b"\n", "jsonl")
    assert (2, field) in errors, errors


def test_a_csv_cell_with_a_nul_is_refused_in_its_column(project, labels):
    errors = refused(project, b"external_id,text\nc1,a\x00b\n", "csv")
    assert "cannot be stored" in errors[(2, "text")]


@pytest.mark.parametrize("lead_time", [b"NaN", b"Infinity", b"1e12", b"-1"])
def test_a_label_studio_lead_time_out_of_range_is_refused(project, labels, annotator, lead_time):
    task = (
        b'[{"id": 1, "data": {"text": "x"}, "annotations": '
        b'[{"completed_by": 7, "result": [], "lead_time": ' + lead_time + b"}]}]"
    )
    errors = refused(project, task, "labelstudio", annotator_map={"7": annotator.username})
    assert any(field == "annotations[0].lead_time" for _, field in errors), errors


def test_the_items_api_refuses_a_nul_in_metadata_naming_the_field(client, project, manager):
    client.force_login(manager)
    response = client.post(
        reverse("api-items", args=[project.pk]),
        {"external_id": "x1", "text": "ok", "metadata": {"a": "\u0000"}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "cannot be stored" in response.json()["metadata"][0]
    assert not Item.objects.filter(project=project).exists()


NUL_MESSAGE = "invalid JSON: a NUL byte (U+0000) inside a string {where}; a NUL cannot be stored, so remove it"


def test_a_raw_nul_byte_in_json_lines_is_named_whole_on_the_import_page(client, project, labels, manager):
    """json's own message stops at "Invalid control character at": the page says what and where, in full."""
    client.force_login(manager)
    upload = SimpleUploadedFile("raw.jsonl", b'{"external_id": "n1", "text": "a\x00b"}\n')
    response = client.post(reverse("import", args=[project.pk]), {"file": upload, "unticked": "unobserved"})
    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert NUL_MESSAGE.format(where="at column 33") in html
    assert "(a file with NUL bytes may be a binary file, or UTF-16 rather than UTF-8)</td>" in html
    assert not Item.objects.filter(project=project).exists()


def test_a_raw_nul_byte_in_a_label_studio_file_is_named_with_its_line_and_column(project, labels):
    errors = refused(project, b'[{"id": 1,\n "data": {"text": "a\x00b"}}]', "labelstudio")
    assert errors[(0, "")].startswith(NUL_MESSAGE.format(where="at line 2, column 21"))


def test_other_json_errors_say_where_they_are(project, labels):
    errors = refused(project, b'{"external_id": "x", "text": }\n', "jsonl")
    assert errors[(2, "")] == "invalid JSON: Expecting value at column 30"
