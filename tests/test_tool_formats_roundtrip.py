"""doccano, Prodigy and Label Studio: export, import into a new project, export again gives the same file (issue 15)."""

from __future__ import annotations

import io
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotate.dataset.export import ExportOptions, export_stream
from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Annotation, Item, Membership, Role
from tests.factories import make_guideline, make_labels, make_project

LABELS = ["shipping", "refund", "billing"]
ANNOTATORS = ["annie", "arthur"]
COUNTER = itertools.count()

texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=40).filter(
    str.strip
)
# Per annotator: no annotation, a skip, or answers (each label yes, no or left out).
annotation = st.one_of(
    st.none(),
    st.just("skip"),
    st.dictionaries(st.sampled_from(LABELS), st.sampled_from([0, 1]), max_size=len(LABELS)),
)
items = st.lists(
    st.tuples(texts, st.fixed_dictionaries({name: annotation for name in ANNOTATORS})), min_size=1, max_size=6
)


def new_project(annie, arthur):
    project = make_project(f"Round trip {next(COUNTER)}")
    make_guideline(project, 1)
    make_labels(project, LABELS)
    for user in (annie, arthur):
        Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
    return project


def source_jsonl(rows) -> bytes:
    lines = []
    for index, (text, by_annotator) in enumerate(rows):
        annotations = []
        for name, answers in by_annotator.items():
            if answers == "skip":
                annotations.append({"annotator": name, "skipped": True})
            elif answers is not None:
                annotations.append({"annotator": name, "labels": answers})
        lines.append(json.dumps({"external_id": f"x{index}", "text": text, "annotations": annotations}))
    return ("\n".join(lines) + "\n").encode()


def export(project, fmt: str) -> bytes:
    return b"".join(export_stream(project=project, options=ExportOptions(format=fmt)))


def normalized(fmt: str, data: bytes):
    """The file with the ids the database gave (annotation ids) left out: they are new in every project."""
    if fmt != "labelstudio":
        return data
    tasks = json.loads(data)
    for task in tasks:
        for entry in task["annotations"]:
            del entry["id"]
            for result in entry["result"]:
                del result["id"]
    return tasks


def answers_of(project) -> dict[tuple[str, str], dict[str, int] | str]:
    out: dict[tuple[str, str], dict[str, int] | str] = {}
    for entry in Annotation.objects.filter(item__project=project).prefetch_related("judgments__label"):
        key = (entry.item.external_id, entry.annotator.username)
        out[key] = "skip" if entry.skipped else {j.label.name: j.value for j in entry.judgments.all()}
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["doccano", "prodigy", "labelstudio"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=items)
def test_export_import_export_gives_the_same_file(fmt, rows, annotator, second_annotator):
    source = new_project(annotator, second_annotator)
    import_file(project=source, stream=io.BytesIO(source_jsonl(rows)), options=ImportOptions("jsonl"))
    first = export(source, fmt)

    copy = new_project(annotator, second_annotator)
    import_file(project=copy, stream=io.BytesIO(first), options=ImportOptions(fmt, annotator="annie"))
    second = export(copy, fmt)

    assert normalized(fmt, second) == normalized(fmt, first)
    assert Item.objects.filter(project=copy).count() == len(rows)
    if fmt == "prodigy":
        # Prodigy carries all three states: every annotator's yes, no, unobserved and skip come back.
        assert answers_of(copy) == answers_of(source)


@pytest.mark.django_db
def test_what_each_format_keeps_of_the_three_states(annotator, second_annotator):
    rows = [("Parcel late", {"annie": {"shipping": 1, "refund": 0}, "arthur": "skip"})]
    source = new_project(annotator, second_annotator)
    import_file(project=source, stream=io.BytesIO(source_jsonl(rows)), options=ImportOptions("jsonl"))

    doccano = json.loads(export(source, "doccano"))
    assert doccano == {"id": "x0", "text": "Parcel late", "label": ["shipping"]}
    prodigy = [json.loads(line) for line in export(source, "prodigy").splitlines()]
    assert [(line["_annotator_id"], line["answer"], line["accept"]) for line in prodigy] == [
        ("annie", "accept", ["shipping"]),
        ("arthur", "ignore", []),
    ]
    assert [option["id"] for option in prodigy[0]["options"]] == ["shipping", "refund"]
    (task,) = json.loads(export(source, "labelstudio"))
    assert task["data"] == {"text": "Parcel late", "external_id": "x0"}
    assert [entry["was_cancelled"] for entry in task["annotations"]] == [False, True]
    assert task["annotations"][0]["result"][0]["value"] == {"choices": ["shipping"]}

    # doccano and Label Studio have no "no": refund comes back unobserved, unless unticked=negative says otherwise.
    copy = new_project(annotator, second_annotator)
    import_file(
        project=copy,
        stream=io.BytesIO(export(source, "doccano")),
        options=ImportOptions("doccano", annotator="annie", unticked="negative"),
    )
    assert answers_of(copy) == {("x0", "annie"): {"shipping": 1, "refund": 0, "billing": 0}}


@pytest.mark.django_db
def test_doccano_without_an_annotator_and_with_spans_is_refused(project, labels):
    body = (
        b'{"id": 1, "text": "a", "label": ["shipping"]}\n{"id": 2, "text": "b", "label": [[0, 1, "shipping"]]}\n'
        b'{"id": 3, "text": "c", "label": ["refund"]}\n'
    )
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(body), options=ImportOptions("doccano"))
    # The missing annotator is said once, not on every line with labels.
    assert failure.value.total == 2
    messages = {error.location: error.message for error in failure.value.errors}
    assert "doccano files do not say who answered" in messages["line 1, annotator"]
    assert "sequence labelling" in messages["line 2, label"]
    assert not Item.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_prodigy_binary_answers_and_their_places(project, labels, annotator):
    lines = [
        {"text": "a", "meta": {"id": "p1"}, "label": "shipping", "answer": "accept", "_annotator_id": "annie"},
        {"text": "b", "meta": {"id": "p2"}, "label": "refund", "answer": "reject", "_annotator_id": "annie"},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    import_file(project=project, stream=io.BytesIO(body), options=ImportOptions("prodigy"))
    assert answers_of(project) == {("p1", "annie"): {"shipping": 1}, ("p2", "annie"): {"refund": 0}}

    bad = {"text": "c", "meta": {"id": "p3"}, "options": [{"id": "shiping"}], "accept": ["shiping"], "answer": "accept"}
    body = (json.dumps(bad) + "\n").encode()
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(body), options=ImportOptions("prodigy", annotator="annie"))
    (error,) = failure.value.errors
    assert error.location == "line 1, accept[0]" and "did you mean 'shipping'?" in error.message
