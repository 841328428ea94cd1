"""The three readers check an annotation's fields by one set of rules (annotate/dataset/importers/validate.py)."""

from __future__ import annotations

import io
import json

import pytest

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Annotation, Item

pytestmark = pytest.mark.django_db


def errors_of(project, body: bytes, fmt: str, **options) -> dict[tuple[int, str], str]:
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(body), options=ImportOptions(format=fmt, **options))
    assert not Item.objects.filter(project=project).exists()
    return {(error.line, error.field): error.message for error in failure.value.errors}


def jsonl(annotation: dict) -> bytes:
    return (json.dumps({"external_id": "j1", "text": "Late parcel", "annotations": [annotation]}) + "\n").encode()


def labelstudio(annotation: dict) -> bytes:
    return json.dumps([{"id": 1, "data": {"text": "Late parcel"}, "annotations": [annotation]}]).encode()


def imported(project, body: bytes, fmt: str, **options) -> Annotation:
    import_file(project=project, stream=io.BytesIO(body), options=ImportOptions(format=fmt, **options))
    return Annotation.objects.get(item__project=project)


def test_a_confidence_for_a_label_left_empty_is_refused_like_one_for_a_label_left_out(project, labels, annotator):
    for answer in ("", None):
        annotation = {"annotator": "annie", "labels": {"shipping": 1, "refund": answer}, "confidence": {"refund": 0.6}}
        errors = errors_of(project, jsonl(annotation), "jsonl")
        assert "without an answer" in errors[(1, "annotations[0].confidence.refund")]


def test_a_skip_reason_over_the_column_length_is_refused_in_jsonl_and_csv(project, labels, annotator):
    annotation = {"annotator": "annie", "skipped": True, "skip_reason": "x" * 201}
    assert "at most 200 characters" in errors_of(project, jsonl(annotation), "jsonl")[(1, "annotations[0].skip_reason")]
    body = b"external_id,text,annotator,skipped,skip_reason\nc1,Late,annie,1," + b"x" * 201 + b"\n"
    assert "at most 200 characters" in errors_of(project, body, "csv")[(2, "skip_reason")]


def test_a_skip_with_answers_is_refused_on_the_skipped_field_in_every_format(project, labels, annotator):
    annotation = {"annotator": "annie", "skipped": True, "labels": {"shipping": 1}}
    assert "cannot have answers" in errors_of(project, jsonl(annotation), "jsonl")[(1, "annotations[0].skipped")]
    body = b"external_id,text,annotator,skipped,shipping\nc1,Late,annie,1,1\n"
    assert "cannot have answers" in errors_of(project, body, "csv")[(2, "skipped")]


@pytest.mark.parametrize("flag", [True, 1, "yes", "1"])
def test_jsonl_reads_skipped_as_a_flag_like_the_csv_column(project, labels, annotator, flag):
    annotation = imported(project, jsonl({"annotator": "annie", "skipped": flag}), "jsonl")
    assert annotation.skipped


@pytest.mark.parametrize("flag", ["maybe", None, 2])
def test_a_skipped_flag_that_is_neither_true_nor_false_is_refused(project, labels, annotator, flag):
    errors = errors_of(project, jsonl({"annotator": "annie", "skipped": flag}), "jsonl")
    assert "must be true or false" in errors[(1, "annotations[0].skipped")]
    body = b"external_id,text,annotator,skipped\nc1,Late,annie,maybe\n"
    assert "must be true or false" in errors_of(project, body, "csv")[(2, "skipped")]


def test_a_null_duration_is_not_given_in_jsonl_as_in_label_studio(project, labels, annotator):
    annotation = imported(
        project, jsonl({"annotator": "annie", "labels": {"shipping": 1}, "duration_ms": None}), "jsonl"
    )
    assert annotation.duration_ms == 0


def test_label_studio_null_lead_time_is_not_given(project, labels, annotator):
    body = labelstudio({"completed_by": 7, "result": [], "lead_time": None})
    assert imported(project, body, "labelstudio", annotator_map={"7": "annie"}).duration_ms == 0


@pytest.mark.parametrize("lead_time", [False, "", "soon"])
def test_label_studio_lead_time_must_be_a_number_of_seconds(project, labels, annotator, lead_time):
    body = labelstudio({"completed_by": 7, "result": [], "lead_time": lead_time})
    errors = errors_of(project, body, "labelstudio", annotator_map={"7": "annie"})
    assert "number of seconds" in errors[(1, "annotations[0].lead_time")]


def test_label_studio_lead_time_in_a_string_is_read_as_seconds(project, labels, annotator):
    body = labelstudio({"completed_by": 7, "result": [], "lead_time": "14.52"})
    assert imported(project, body, "labelstudio", annotator_map={"7": "annie"}).duration_ms == 14520


def test_a_duration_past_32_bits_is_refused_in_csv_as_in_jsonl(project, labels, annotator):
    body = b"external_id,text,annotator,shipping,duration_ms\nc1,Late,annie,1,1000000000000\n"
    assert "integer from 0" in errors_of(project, body, "csv")[(2, "duration_ms")]


def test_label_studio_empty_created_at_is_refused_like_jsonl(project, labels, annotator):
    body = labelstudio({"completed_by": 7, "result": [], "created_at": ""})
    errors = errors_of(project, body, "labelstudio", annotator_map={"7": "annie"})
    assert (1, "annotations[0].created_at") in errors
    errors = errors_of(project, jsonl({"annotator": "annie", "created_at": ""}), "jsonl")
    assert (1, "annotations[0].created_at") in errors


def test_a_csv_row_with_answers_and_no_annotator_reports_its_other_cells_too(project, labels):
    body = b"external_id,text,annotator,confidence,shipping\nc1,Late,,2,1\n"
    errors = errors_of(project, body, "csv")
    assert "annotator's username" in errors[(2, "annotator")]
    assert "(0, 1]" in errors[(2, "confidence")]


def test_a_csv_row_without_an_annotation_ignores_its_annotation_cells(project, labels):
    body = b"external_id,text,annotator,confidence,skipped,shipping\nc1,Late,,2,0,\n"
    import_file(project=project, stream=io.BytesIO(body), options=ImportOptions(format="csv"))
    assert Item.objects.filter(project=project).count() == 1
    assert not Annotation.objects.exists()
