"""JSONL and CSV imports: items, annotations in three states, duplicates, updates, annotators and the queue."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Annotation, AuditEvent, Item, Judgment, Membership, QueueEntry, Role
from tests.factories import make_guideline


def jsonl(*rows: dict) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(row) + "\n" for row in rows).encode())


def answers_of(item: Item, username: str) -> dict[str, tuple[int, float]]:
    annotation = item.annotations.get(annotator__username=username)
    return {j.label.name: (j.value, j.confidence) for j in annotation.judgments.select_related("label")}


@pytest.mark.django_db
def test_jsonl_with_annotations_keeps_three_states(project, labels, annotator, second_annotator, guideline):
    rows = [
        {
            "external_id": "t1",
            "text": "Where is my parcel?",
            "metadata": {"channel": "chat"},
            "annotations": [
                {
                    "annotator": "annie",
                    "labels": {"shipping": 1, "refund": 0, "billing": None},
                    "confidence": {"shipping": 0.9},
                    "guideline_version": 1,
                    "duration_ms": 5200,
                },
                {"annotator": "arthur", "labels": {"shipping": True}, "confidence": 0.6},
            ],
        },
        {"external_id": 2, "text": "Skipped one", "annotations": [{"annotator": "annie", "skipped": True}]},
        {"id": "t3", "text": "No annotations"},
    ]
    result = import_file(project=project, stream=jsonl(*rows), options=ImportOptions(format="jsonl"), actor=annotator)

    assert result.items_created == 3
    assert result.annotations_created == 3
    assert result.judgments_created == 3
    item = Item.objects.get(project=project, external_id="t1")
    assert item.metadata == {"channel": "chat"}
    # billing: null and the labels nobody named are unobserved: no row at all.
    assert answers_of(item, "annie") == {"shipping": (1, 0.9), "refund": (0, project.default_confidence)}
    assert answers_of(item, "arthur") == {"shipping": (1, 0.6)}
    annie = item.annotations.get(annotator__username="annie")
    assert annie.duration_ms == 5200
    assert annie.guideline_version == guideline
    skipped = Annotation.objects.get(item__external_id="2")
    assert skipped.skipped and not skipped.judgments.exists()
    # New items are queued; imported answers count toward completion, skips do not.
    assert QueueEntry.objects.filter(project=project).count() == 3
    assert QueueEntry.objects.get(item=item).completed == 2
    assert QueueEntry.objects.get(item__external_id="2").completed == 0
    event = AuditEvent.objects.get(action="items.import")
    assert event.after["items_created"] == 3 and event.actor == annotator


@pytest.mark.django_db
def test_csv_with_one_column_per_label(project, labels, annotator):
    data = (
        b"external_id,text,metadata,annotator,confidence,shipping,refund,billing,bug,praise\n"
        b'c1,"Parcel late, again",{"lang": "en"},annie,0.7,1,0,,,\n'
        b"c2,No answers yet,,,,,,,,\n"
        b'c3,=HYPERLINK("x"),,annie,,,,1,,\n'
    )
    import_file(project=project, stream=io.BytesIO(data), options=ImportOptions(format="csv"))

    c1 = Item.objects.get(external_id="c1")
    assert c1.text == "Parcel late, again" and c1.metadata == {"lang": "en"}
    assert answers_of(c1, "annie") == {"shipping": (1, 0.7), "refund": (0, 0.7)}
    assert not Item.objects.get(external_id="c2").annotations.exists()
    assert answers_of(Item.objects.get(external_id="c3"), "annie") == {"billing": (1, project.default_confidence)}


@pytest.mark.django_db
def test_duplicates_are_errors_unless_update(project, labels, annotator, second_annotator):
    import_file(
        project=project,
        stream=jsonl(
            {"external_id": "d1", "text": "old", "annotations": [{"annotator": "annie", "labels": {"bug": 1}}]},
            {"external_id": "d2", "text": "kept"},
        ),
        options=ImportOptions(format="jsonl"),
    )
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=jsonl({"external_id": "d1", "text": "new"}), options=ImportOptions("jsonl"))
    assert "already exists" in failure.value.errors[0].message
    with pytest.raises(ImportFailed) as failure:
        import_file(
            project=project,
            stream=jsonl({"external_id": "n", "text": "a"}, {"external_id": "n", "text": "b"}),
            options=ImportOptions("jsonl", update=True),
        )
    assert failure.value.errors[0].line == 2 and "first on line 1" in failure.value.errors[0].message

    result = import_file(
        project=project,
        stream=jsonl(
            {
                "external_id": "d1",
                "text": "new",
                "annotations": [
                    {"annotator": "annie", "labels": {"bug": 0, "praise": 1}},
                    {"annotator": "arthur", "labels": {"bug": 1}},
                ],
            }
        ),
        options=ImportOptions("jsonl", update=True),
    )
    assert (result.items_created, result.items_updated, result.annotations_replaced) == (0, 1, 1)
    d1 = Item.objects.get(external_id="d1")
    assert d1.text == "new"
    assert answers_of(d1, "annie") == {"bug": (0, 0.8), "praise": (1, 0.8)}
    assert d1.annotations.count() == 2
    replaced = AuditEvent.objects.get(action="annotation.replace")
    assert replaced.before["answers"] == {"bug": [1, 0.8]}
    assert QueueEntry.objects.get(item=d1).completed == 2


@pytest.mark.django_db
def test_unknown_annotators_are_errors_unless_created(project, labels, outsider):
    rows = [
        {"external_id": "u1", "text": "a", "annotations": [{"annotator": "nobody", "labels": {"bug": 1}}]},
        {"external_id": "u2", "text": "b", "annotations": [{"annotator": "otto", "labels": {"bug": 0}}]},
    ]
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=jsonl(*rows), options=ImportOptions("jsonl"))
    messages = [error.message for error in failure.value.errors]
    assert "unknown annotator: user 'nobody'" in messages[0]
    assert "not a member" in messages[1]

    result = import_file(project=project, stream=jsonl(*rows), options=ImportOptions("jsonl", create_annotators=True))
    assert result.users_created == 1
    nobody = get_user_model().objects.get(username="nobody")
    assert not nobody.has_usable_password()
    assert Membership.objects.get(project=project, user=nobody).role == Role.ANNOTATOR
    assert Membership.objects.get(project=project, user=outsider).role == Role.ANNOTATOR


@pytest.mark.django_db
def test_guideline_versions_and_label_introduction_are_checked(project, labels, annotator, guideline):
    v2 = make_guideline(project, 2)
    labels[4].introduced_in = v2
    labels[4].save()
    rows = [
        {
            "external_id": "g1",
            "text": "a",
            "annotations": [{"annotator": "annie", "labels": {"bug": 1}, "guideline_version": 9}],
        },
        {
            "external_id": "g2",
            "text": "b",
            "annotations": [{"annotator": "annie", "labels": {"praise": 1}, "guideline_version": 1}],
        },
    ]
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=jsonl(*rows), options=ImportOptions("jsonl"))
    assert "not a published guideline" in failure.value.errors[0].message
    assert "introduced in guideline version 2" in failure.value.errors[1].message
    assert not Judgment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("created_at", "stored"),
    [
        ("2025-11-20T10:00:00", "2025-11-20T10:00:00+00:00"),
        ("2025-11-20", "2025-11-20T00:00:00+00:00"),
        ("2025-11-20T10:00:00+02:00", "2025-11-20T08:00:00+00:00"),
    ],
)
def test_a_time_without_an_offset_is_read_in_the_sites_time_zone(project, labels, annotator, created_at, stored):
    """Label Studio and spreadsheets often leave the offset out; that was a 500 before."""
    row = {"external_id": "t1", "text": "x", "annotations": [{"annotator": "annie", "labels": {"shipping": 1}}]}
    row["annotations"][0]["created_at"] = created_at
    import_file(project=project, stream=jsonl(row), options=ImportOptions(format="jsonl"), actor=annotator)
    annotation = Annotation.objects.get(item__external_id="t1")
    assert annotation.created_at.isoformat() == stored


@pytest.mark.django_db
def test_a_time_without_an_offset_follows_the_configured_time_zone(project, labels, annotator, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    row = {"external_id": "t1", "text": "x", "annotations": [{"annotator": "annie", "labels": {"shipping": 1}}]}
    row["annotations"][0]["created_at"] = "2025-11-20T10:00:00"
    import_file(project=project, stream=jsonl(row), options=ImportOptions(format="jsonl"), actor=annotator)
    assert Annotation.objects.get(item__external_id="t1").created_at.isoformat() == "2025-11-20T09:00:00+00:00"


@pytest.mark.django_db
def test_csv_reads_the_one_and_zero_pandas_writes(project, labels, annotator):
    """A label column with an empty cell is a float column to pandas: it writes 1.0 and 0.0."""
    data = b"external_id,text,annotator,shipping,refund,billing\np1,Late parcel,annie,1.0,0.0,\n"
    import_file(project=project, stream=io.BytesIO(data), options=ImportOptions(format="csv"))
    assert answers_of(Item.objects.get(external_id="p1"), "annie") == {
        "shipping": (1, project.default_confidence),
        "refund": (0, project.default_confidence),
    }


@pytest.mark.django_db
def test_an_import_creates_only_usernames_django_accepts(project, labels, annotator):
    """A name with a space would be a user nobody can log in as or filter by (issue 16)."""
    row = {"external_id": "u1", "text": "x", "annotations": [{"annotator": "Jane Doe", "labels": {"shipping": 1}}]}
    options = ImportOptions(format="jsonl", create_annotators=True)
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, stream=jsonl(row), options=options, actor=annotator)
    assert "cannot create the annotator 'Jane Doe'" in str(failed.value.errors[0].message)
    assert not get_user_model().objects.filter(username="Jane Doe").exists()
    row["annotations"][0]["annotator"] = "jane.doe"
    import_file(project=project, stream=jsonl(row), options=options, actor=annotator)
    assert get_user_model().objects.filter(username="jane.doe").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_username_too_long_for_an_account_is_refused_never_cut(project, labels, annotator, fmt):
    """A cut name made two people one, and importing it again was a 500 (issue 16)."""
    long_names = ["a" * 150 + "-first", "a" * 150 + "-second"]
    options = ImportOptions(format=fmt, create_annotators=True)
    for name in long_names:
        if fmt == "jsonl":
            row = {
                "external_id": name[-6:],
                "text": "x",
                "annotations": [{"annotator": name, "labels": {"shipping": 1}}],
            }
            stream = jsonl(row)
        else:
            stream = io.BytesIO(f"external_id,text,annotator,shipping\n{name[-6:]},x,{name},1\n".encode())
        with pytest.raises(ImportFailed) as failed:
            import_file(project=project, stream=stream, options=options, actor=annotator)
        message = str(failed.value.errors[0].message)
        assert "a username has at most 150 characters; this one has" in message
        assert failed.value.errors[0].line == (1 if fmt == "jsonl" else 2)
    assert not get_user_model().objects.filter(username__startswith="aaaa").exists()
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_a_username_not_in_its_normal_form_is_refused_on_its_line(project, labels, annotator):
    """Fullwidth "full" was created as typed: the login page, which reads "full", could never find it (issue 16)."""
    row = {"external_id": "w", "text": "x", "annotations": [{"annotator": "\uff46\uff55\uff4c\uff4c", "labels": {}}]}
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, stream=jsonl(row), options=ImportOptions("jsonl", create_annotators=True))
    assert "as the login reads it: “full”" in failed.value.errors[0].message
    assert failed.value.errors[0].line == 1
    assert not get_user_model().objects.exclude(pk=annotator.pk).exists()
