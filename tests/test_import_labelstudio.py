"""A Label Studio export imports with ticks as positives and unticked labels as the chosen option."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Annotation, Item, QueueEntry

LABEL_STUDIO_FILE = Path(__file__).parent / "fixtures" / "labelstudio_export.json"
ALL_LABELS = {"shipping", "refund", "billing", "bug", "praise"}


@pytest.fixture
def emails(annotator, second_annotator):
    annotator.email = "annie@example.com"
    annotator.save()
    # The file says Arthur@Example.com: emails match without regard to case.
    second_annotator.email = "arthur@example.com"
    second_annotator.save()


def answers(external_id: str, username: str) -> dict[str, int]:
    annotation = Annotation.objects.get(item__external_id=external_id, annotator__username=username)
    return {j.label.name: j.value for j in annotation.judgments.select_related("label")}


def run(project, unticked: str) -> None:
    with LABEL_STUDIO_FILE.open("rb") as stream:
        import_file(project=project, stream=stream, options=ImportOptions("labelstudio", unticked=unticked))


@pytest.mark.django_db
def test_unticked_choices_stay_unobserved_by_default(project, labels, emails, guideline):
    run(project, "unobserved")

    assert Item.objects.filter(project=project).count() == 4
    task = Item.objects.get(external_id="101")
    assert task.metadata == {"channel": "email", "label_studio_task_id": 101}
    assert answers("101", "annie") == {"refund": 1, "billing": 1}
    assert answers("101", "arthur") == {"refund": 1}
    assert answers("102", "annie") == {"shipping": 1, "bug": 1}
    assert answers("103", "arthur") == {"praise": 1}
    annie = Annotation.objects.get(item__external_id="101", annotator__username="annie")
    assert annie.duration_ms == 14520
    assert annie.created_at.isoformat().startswith("2024-03-04T10:15:22")
    # The cancelled annotation is a skip with no answers.
    cancelled = Annotation.objects.get(item__external_id="102", annotator__username="arthur")
    assert cancelled.skipped and not cancelled.judgments.exists()
    assert QueueEntry.objects.get(item__external_id="102").completed == 1
    assert not Annotation.objects.filter(item__external_id="104").exists()


@pytest.mark.django_db
def test_unticked_choices_as_negatives(project, labels, emails, guideline):
    run(project, "negative")

    assert answers("101", "annie") == {"refund": 1, "billing": 1, "shipping": 0, "bug": 0, "praise": 0}
    assert answers("101", "arthur") == {"refund": 1} | dict.fromkeys(ALL_LABELS - {"refund"}, 0)
    assert answers("103", "arthur") == {"praise": 1} | dict.fromkeys(ALL_LABELS - {"praise"}, 0)
    # A cancelled annotation says nothing, negative option or not.
    assert answers("102", "arthur") == {}


@pytest.mark.django_db
def test_unknown_annotators_and_choices_are_errors(project, labels, annotator):
    tasks = [
        {"id": 1, "data": {"text": "a"}, "annotations": [{"completed_by": 42, "result": []}]},
        {
            "id": 2,
            "data": {"text": "b"},
            "annotations": [
                {
                    "completed_by": {"id": 3, "email": "annie"},
                    "result": [{"type": "choices", "from_name": "t", "value": {"choices": ["weather"]}}],
                }
            ],
        },
    ]
    stream = io.BytesIO(json.dumps(tasks).encode())
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=stream, options=ImportOptions("labelstudio"))
    messages = [(error.line, error.message) for error in failure.value.errors]
    assert messages[0][0] == 1 and "Label Studio user 42" in messages[0][1]
    assert messages[1][0] == 2 and "unknown label 'weather'" in messages[1][1]

    # A numeric completed_by maps to a username through annotator_map.
    stream = io.BytesIO(json.dumps(tasks[:1]).encode())
    import_file(project=project, stream=stream, options=ImportOptions("labelstudio", annotator_map={"42": "annie"}))
    assert Annotation.objects.get(item__external_id="1").annotator == annotator


@pytest.mark.django_db
def test_a_second_import_reuses_the_annotator_the_first_one_created(project, labels, annotator):
    """It used to answer 500 (the username existed) with create_annotators, and 'unknown user' without (issue 15)."""

    def task(task_id: int) -> dict:
        choice = {"type": "choices", "from_name": "t", "value": {"choices": ["shipping"]}}
        return {
            "id": task_id,
            "data": {"text": f"text {task_id}"},
            "annotations": [{"completed_by": 42, "result": [choice]}],
        }

    def run_import(task_id: int, **options) -> None:
        stream = io.BytesIO(json.dumps([task(task_id)]).encode())
        import_file(project=project, stream=stream, options=ImportOptions("labelstudio", **options))

    run_import(1, create_annotators=True)
    run_import(2, create_annotators=True)
    run_import(3)
    people = set(Annotation.objects.filter(item__project=project).values_list("annotator__username", flat=True))
    assert people == {"labelstudio-42"}
