"""Import errors name their place in the file's own terms; a wrongly shaped file gets its likely cause (issue 15)."""

from __future__ import annotations

import io
import json

import pytest

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Item


def failure_of(project, body: bytes, fmt: str) -> ImportFailed:
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(body), options=ImportOptions(fmt))
    assert not Item.objects.filter(project=project).exists()
    return failure.value


@pytest.mark.django_db
def test_a_csv_error_names_the_line_and_the_column_header(project, labels, annotator):
    body = b"external_id,text,annotator,Shiping,refund\nc1,Late,annie,,maybe\nc2,Late,annie,1,0\n"
    errors = failure_of(project, body, "csv").errors
    locations = {error.location: error.message for error in errors}
    assert locations["line 2, column 'refund'"] == "must be 1, 0 or empty"
    assert "did you mean 'shipping'?" in locations["line 3, column 'Shiping'"]


@pytest.mark.django_db
def test_a_label_named_like_a_fixed_column_is_located_by_its_header(project, labels, annotator):
    body = b"external_id,text,annotator,label:text\nc1,Late,annie,1\n"
    (error,) = failure_of(project, body, "csv").errors
    assert error.location == "line 2, column 'label:text'" and "unknown label 'text'" in error.message


@pytest.mark.django_db
def test_a_csv_label_column_matches_whatever_its_case(project, labels, annotator):
    body = b"external_id,text,annotator,Shipping,REFUND \nc1,Late,annie,1,0\n"
    import_file(project=project, stream=io.BytesIO(body), options=ImportOptions("csv"))
    judgments = Item.objects.get(external_id="c1").annotations.get().judgments.values_list("label__name", "value")
    assert dict(judgments) == {"shipping": 1, "refund": 0}


@pytest.mark.django_db
def test_a_jsonl_error_names_the_line_and_the_field_path(project, labels, annotator):
    row = {"external_id": "j1", "text": "a", "annotations": [{"annotator": "annie", "labels": {"weather": 1}}]}
    (error,) = failure_of(project, (json.dumps(row) + "\n").encode(), "jsonl").errors
    assert error.location == "line 1, annotations[0].labels.weather"


@pytest.mark.django_db
@pytest.mark.parametrize("separator", [b";", b"\t"])
def test_a_semicolon_or_tab_separated_file_is_named_as_such(project, labels, separator):
    body = separator.join([b"external_id", b"text", b"shipping"]) + b"\n" + separator.join([b"c1", b"a", b"1"]) + b"\n"
    (error,) = failure_of(project, body, "csv").errors
    name = "semicolon" if separator == b";" else "tab"
    assert f"this looks like a {name}-separated file" in error.message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [b'[{"external_id": "a", "text": "x"}]\n', b'[\n  {"external_id": "a", "text": "x"}\n]\n']
)
def test_a_json_array_in_a_jsonl_file_is_named_as_such_once(project, labels, body):
    (error,) = failure_of(project, body, "jsonl").errors
    assert "this is a JSON array, not JSON lines" in error.message


@pytest.mark.django_db
def test_a_broken_first_line_is_still_reported_as_invalid_json(project, labels):
    body = b'{"external_id": "a", "text": "x"\n{"external_id": "b", "text": "y"}\n'
    (error,) = failure_of(project, body, "jsonl").errors
    assert error.message.startswith("invalid JSON") and error.location == "line 1"
