"""A Label Studio 1.x export imports as its users expect: text key, users, other controls, label case (issue 15)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Annotation, Item
from tests.api_support import api, clear_throttles, client_for  # noqa: F401

EXPORT = Path(__file__).parent / "fixtures" / "labelstudio_1x_reviews.json"


def run(project, body: bytes | None = None, **options):
    stream = io.BytesIO(EXPORT.read_bytes() if body is None else body)
    return import_file(project=project, stream=stream, options=ImportOptions("labelstudio", **options))


def failure_of(project, body: bytes | None = None, **options) -> ImportFailed:
    with pytest.raises(ImportFailed) as failure:
        run(project, body, **options)
    assert not Item.objects.filter(project=project).exists()
    return failure.value


def answers(external_id: str, username: str) -> dict[str, int]:
    annotation = Annotation.objects.get(item__external_id=external_id, annotator__username=username)
    return {j.label.name: j.value for j in annotation.judgments.select_related("label")}


def choices_task(task_id: int, names: list[str], *, from_name: str = "topic", annotation_id: int = 77) -> dict:
    result = {"type": "choices", "from_name": from_name, "to_name": "text", "value": {"choices": names}}
    return {
        "id": task_id,
        "data": {"text": f"text {task_id}"},
        "annotations": [{"id": annotation_id, "completed_by": 7, "result": [result]}],
    }


@pytest.mark.django_db
def test_the_text_key_is_asked_for_when_the_file_has_no_data_text(project, labels, annotator):
    failure = failure_of(project, annotator_map={"7": "annie", "9": "annie"})
    (error,) = failure.errors
    assert error.field == "text_key"
    assert "review, source" in error.message


@pytest.mark.django_db
def test_a_label_studio_export_imports_whole_with_counts_of_what_it_left_out(project, labels, annotator):
    result = run(project, text_key="review", annotator_map={"7": "annie"}, create_annotators=True)

    assert result.items_created == 4
    # Task 202 has only a prediction; no annotation comes from it.
    assert result.annotations_created == 5
    assert result.users_created == 1
    assert result.notes == {"cancelled": 1, "drafts": 1, "ground_truth": 1, "predictions": 1, "results_ignored": 3}
    item = Item.objects.get(project=project, external_id="201")
    assert item.text.startswith("Parcel arrived crushed") and item.text.endswith("📦")
    assert item.metadata == {"source": "app-store", "label_studio_task_id": 201}
    assert len(Item.objects.get(project=project, external_id="204").text) == 12_000
    # "Shipping " and "Billing" are the project's shipping and billing; the
    # comment box, the taxonomy and the spans beside the choices are ignored.
    assert answers("201", "annie") == {"shipping": 1, "refund": 1}
    assert answers("201", "labelstudio-9") == {"shipping": 1}
    assert answers("203", "labelstudio-9") == {"billing": 1}
    cancelled = Annotation.objects.get(item__external_id="203", annotator__username="annie")
    assert cancelled.skipped and not cancelled.judgments.exists()
    edited = Annotation.objects.get(item__external_id="201", annotator__username="annie")
    assert edited.updated_at == datetime(2025, 11, 20, 10, 5, tzinfo=UTC)
    assert edited.created_at == datetime(2025, 11, 20, 10, 0, 0, 120000, tzinfo=UTC)


@pytest.mark.django_db
def test_unmapped_users_are_created_once_and_found_again(project, labels, annotator):
    run(project, text_key="review", annotator_map={"7": "annie"}, create_annotators=True)
    Item.objects.filter(project=project).delete()

    # Without create_annotators the account the first import made is found again.
    result = run(project, text_key="review", annotator_map={"7": "annie"})
    assert result.users_created == 0
    assert get_user_model().objects.filter(username__startswith="labelstudio-").count() == 1


@pytest.mark.django_db
def test_a_near_miss_label_names_the_label_it_probably_means_and_its_place(project, labels, annotator):
    body = json.dumps([choices_task(5, ["shiping"])]).encode()
    failure = failure_of(project, body, annotator_map={"7": "annie"})
    (error,) = failure.errors
    assert "unknown label 'shiping'; did you mean 'shipping'?" in error.message
    assert error.field == "annotations[0].result[0]"
    assert error.location == "task 1 (id 5), annotations[0] (id 77).result[0]"


@pytest.mark.django_db
def test_two_spellings_of_one_label_in_one_annotation_are_refused(project, labels, annotator):
    body = json.dumps([choices_task(5, ["Refund", "refund "])]).encode()
    failure = failure_of(project, body, annotator_map={"7": "annie"})
    assert "twice" in failure.errors[0].message


@pytest.mark.django_db
def test_several_choices_controls_need_a_choice_and_only_the_chosen_one_counts(project, labels, annotator):
    task = choices_task(5, ["refund"])
    task["annotations"][0]["result"].append(
        {"type": "choices", "from_name": "tone", "to_name": "text", "value": {"choices": ["angry"]}}
    )
    body = json.dumps([task]).encode()
    failure = failure_of(project, body, annotator_map={"7": "annie"})
    assert failure.errors[0].field == "choices_control"
    assert "tone, topic" in failure.errors[0].message

    result = run(project, body, annotator_map={"7": "annie"}, choices_control="topic")
    assert answers("5", "annie") == {"refund": 1}
    assert result.notes == {"results_ignored": 1}


@pytest.mark.django_db
def test_json_min_export_is_named_as_such(project, labels):
    body = json.dumps([{"id": 5, "text": "a", "topic": "refund", "annotator": 7, "annotation_id": 3}]).encode()
    (error,) = failure_of(project, body).errors
    assert "JSON-MIN" in error.message and "export the project as JSON" in error.message


@pytest.mark.django_db
def test_json_lines_sent_as_label_studio_are_named_as_such(project, labels):
    body = b'{"id": 1, "data": {"text": "a"}}\n{"id": 2, "data": {"text": "b"}}\n'
    (error,) = failure_of(project, body).errors
    assert "format=jsonl" in error.message


@pytest.mark.django_db
def test_the_api_takes_the_text_key_and_a_map_by_email_and_returns_the_counts(project, labels, annotator, manager):
    upload = SimpleUploadedFile("reviews.json", EXPORT.read_bytes())
    query = "/import?text_key=review&annotator_map=7:annie,9:annie&create_annotators=false"
    # 7 and 9 cannot both be annie: she would annotate task 201 twice.
    answer = client_for(manager).post(api(query, project), {"file": upload}, format="multipart")
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["location"] == "task 1 (id 201), annotations[1] (id 902).completed_by"

    arthur = get_user_model().objects.create_user("arthur", email="arthur@example.com")
    project.memberships.create(user=arthur, role="annotator")
    upload = SimpleUploadedFile("reviews.json", EXPORT.read_bytes())
    answer = client_for(manager).post(
        api("/import?text_key=review&annotator_map=7:annie,9:arthur", project), {"file": upload}, format="multipart"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["notes"]["predictions"] == 1
    assert answers("201", "arthur") == {"shipping": 1}
