"""Merging label A into label B on a hand-built case: every answer state, checked in the database."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from annotate.dataset.export import ExportOptions, export_stream
from annotate.models import AuditEvent, Judgment, Label, Resolution
from annotate.setup.labelset import (
    LabelSetError,
    StalePreviewError,
    merge_labels,
    open_merge_conflicts,
    preview_merge,
    retire_label,
)
from annotate.stats.agreement import consensus
from tests.arrays import answer_arrays
from tests.factories import annotate_item, make_labels


@pytest.fixture
def case(project, guideline, items, annotator, second_annotator, reviewer):
    """A is "refund request", B is "refund", C ("shipping") is a bystander.

    item  annie (A, B)            arthur (A, B)
    0     A+ .7,  B unobserved    A+ .6,  B+ .9     -> moved; combined (B keeps .9)
    1     A+ 1.0, B+ .55          A+ .8,  B- .7     -> combined (B rises to 1.0); conflict
    2     A- .9,  B unobserved    A- .8,  B+ .6     -> dropped (B stays unobserved); dropped
    3     A unobserved, B- .8     only C+           -> untouched
    Resolutions: item 4 A=1 -> moves to B; item 5 A=1 but B=0 -> B keeps 0; item 6 A=0 -> dropped.
    """
    a, b, c = make_labels(project, ["refund request", "refund", "shipping"])
    annie, arthur = annotator, second_annotator
    annotate_item(items[0], annie, {a: (1, 0.7)}, guideline=guideline)
    annotate_item(items[0], arthur, {a: (1, 0.6), b: (1, 0.9)}, guideline=guideline)
    annotate_item(items[1], annie, {a: (1, 1.0), b: (1, 0.55)}, guideline=guideline)
    annotate_item(items[1], arthur, {a: (1, 0.8), b: (0, 0.7)}, guideline=guideline)
    annotate_item(items[2], annie, {a: (0, 0.9)}, guideline=guideline)
    annotate_item(items[2], arthur, {a: (0, 0.8), b: (1, 0.6)}, guideline=guideline)
    annotate_item(items[3], annie, {b: (0, 0.8)}, guideline=guideline)
    annotate_item(items[3], arthur, {c: (1, 1.0)}, guideline=guideline)
    Resolution.objects.create(item=items[4], label=a, value=1, reviewer=reviewer, note="clear")
    Resolution.objects.create(item=items[5], label=a, value=1, reviewer=reviewer)
    Resolution.objects.create(item=items[5], label=b, value=0, reviewer=reviewer)
    Resolution.objects.create(item=items[6], label=a, value=0, reviewer=reviewer)
    return {"a": a, "b": b, "c": c, "annie": annie, "arthur": arthur, "items": items}


EXPECTED_COUNTS = {
    "positives_moved": 1,
    "positives_combined": 2,
    "negatives_dropped": 2,
    "conflicts": 1,
    "positives_before_target": 0,
    "resolutions_moved": 1,
    "resolution_conflicts": 1,
}


def b_answers(case):
    """{(item index, annotator name): (value, confidence)} of every B judgment."""
    index = {item.pk: i for i, item in enumerate(case["items"])}
    return {
        (index[j.annotation.item_id], j.annotation.annotator.username): (j.value, j.confidence)
        for j in Judgment.objects.filter(label=case["b"]).select_related("annotation__annotator")
    }


def test_preview_counts_every_case_and_changes_nothing(case):
    before_rows = Judgment.objects.count()
    plan = preview_merge(source=case["a"], target=case["b"])
    assert plan.counts == EXPECTED_COUNTS
    assert plan.message.startswith(
        "Merging “refund request” into “refund”: 1 positives move, 2 positives were already on “refund”, "
        "2 negatives are dropped, 1 conflicts go to review"
    )
    assert Judgment.objects.count() == before_rows
    assert not AuditEvent.objects.exists()
    assert Label.objects.get(pk=case["a"].pk).is_active


def test_merge_applies_the_rule_in_the_database(case, manager, guideline):
    a_before = set(Judgment.objects.filter(label=case["a"]).values_list("annotation_id", "value", "confidence"))

    plan = merge_labels(source=case["a"], target=case["b"], actor=manager, expected=EXPECTED_COUNTS)

    assert plan.counts == EXPECTED_COUNTS
    assert b_answers(case) == {
        (0, "annie"): (1, 0.7),  # positive A, B unobserved: moved with A's confidence
        (0, "arthur"): (1, 0.9),  # both positive: the higher confidence stays
        (1, "annie"): (1, 1.0),  # both positive: B rises to A's higher confidence
        (1, "arthur"): (0, 0.7),  # conflict: B's negative is kept
        (2, "arthur"): (1, 0.6),  # negative A says nothing about B
        (3, "annie"): (0, 0.8),  # no A answer: untouched
    }
    # (2, "annie") is absent above: her negative A did not become a negative B.
    assert not Judgment.objects.filter(label=case["b"], annotation__item=case["items"][2], value=0).exists()
    # A's own answers are kept as history.
    assert set(Judgment.objects.filter(label=case["a"]).values_list("annotation_id", "value", "confidence")) == a_before
    # The bystander is untouched.
    assert list(Judgment.objects.filter(label=case["c"]).values_list("value", flat=True)) == [1]

    a = Label.objects.get(pk=case["a"].pk)
    assert (a.merged_into_id, a.retired_in_id, a.is_active) == (case["b"].pk, guideline.pk, False)
    assert list(case["a"].project.active_labels()) == [case["b"], case["c"]]

    resolutions = dict(Resolution.objects.filter(label=case["b"]).values_list("item_id", "value"))
    assert resolutions == {case["items"][4].pk: 1, case["items"][5].pk: 0}
    moved = Resolution.objects.get(label=case["b"], item=case["items"][4])
    assert "clear" in moved.note and "refund request" in moved.note


def test_merge_writes_one_audit_event_listing_what_changed(case, manager):
    merge_labels(source=case["a"], target=case["b"], actor=manager)

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.object_id) == ("label.merge", manager, str(case["a"].pk))
    assert event.before["source"]["merged_into"] is None
    assert event.after["source"]["merged_into"] == case["b"].pk
    assert event.after["source"]["retired_in"] == 1
    assert event.after["counts"] == EXPECTED_COUNTS
    moved_annotation = Judgment.objects.get(label=case["a"], annotation__item=case["items"][0], confidence=0.7)
    assert event.after["moved"] == [moved_annotation.annotation_id]
    assert [(c["confidence_before"], c["confidence_after"]) for c in event.after["combined"]] == [
        (0.9, 0.9),
        (0.55, 1.0),
    ]
    (conflict,) = event.after["conflicts"]
    assert (conflict["item"], conflict["annotator"]) == (case["items"][1].pk, case["arthur"].pk)
    assert (conflict["source_confidence"], conflict["target_confidence"]) == (0.8, 0.7)
    assert event.after["resolutions_moved"] == [case["items"][4].pk]
    assert event.after["resolution_conflicts"] == [case["items"][5].pk]


def test_conflicts_wait_for_review_until_resolved(case, manager, reviewer):
    project = case["a"].project
    merge_labels(source=case["a"], target=case["b"], actor=manager)

    (conflict,) = open_merge_conflicts(project=project)
    assert (conflict.item_id, conflict.label_id, conflict.annotator_id) == (
        case["items"][1].pk,
        case["b"].pk,
        case["arthur"].pk,
    )
    assert (conflict.label_name, conflict.source_name) == ("refund", "refund request")

    Resolution.objects.create(item=case["items"][1], label=case["b"], value=1, reviewer=reviewer)
    assert open_merge_conflicts(project=project) == []


def test_consensus_after_merge_keeps_unobserved_apart_from_negative(case, manager):
    """The training targets (the export's source) after the merge, on active labels B and C."""
    merge_labels(source=case["a"], target=case["b"], actor=manager)
    arrays = answer_arrays(case["items"][:7], [case["b"], case["c"]], [case["annie"], case["arthur"]])
    result = consensus(arrays["values"], arrays["confidence"], arrays["resolution"])
    b = result.targets[:, 0]
    assert b[0] == 1.0
    assert math.isclose(b[1], 1.0 / 1.7)  # annie yes 1.0, arthur no 0.7
    assert result.disputed[1, 0]
    # Annie's negative A left B unobserved: arthur's lone yes is the target. Had
    # it become a negative B, the target would be 0.6 / 1.5 = 0.4.
    assert b[2] == 1.0
    assert b[3] == 0.0
    assert b[4] == 1.0 and b[5] == 0.0  # resolutions
    assert np.isnan(b[6])  # a negative A resolution says nothing about B
    assert np.isnan(result.targets[0, 1])  # C never answered on item 0


def test_export_after_merge_has_null_for_unobserved_and_no_retired_column(case, manager):
    merge_labels(source=case["a"], target=case["b"], actor=manager)
    project = case["a"].project

    lines = b"".join(export_stream(project=project, options=ExportOptions(format="jsonl"))).decode().splitlines()
    rows = {row["id"]: row["labels"] for row in map(json.loads, lines)}
    assert set(rows["item-0"]) == {"refund", "shipping"}  # the merged-away label is retired, not exported
    refund = [rows[f"item-{i}"]["refund"] for i in range(10)]
    assert refund[0] == 1.0 and math.isclose(refund[1], 1.0 / 1.7) and refund[2:6] == [1.0, 0.0, 1.0, 0.0]
    assert refund[6:] == [None, None, None, None]

    text = b"".join(export_stream(project=project, options=ExportOptions(format="csv"))).decode()
    csv_rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert csv_rows["item-2"]["refund"] == "1.0"
    assert csv_rows["item-6"]["refund"] == ""  # unobserved is an empty cell, never 0


def test_a_stale_preview_applies_nothing(case, manager):
    preview = preview_merge(source=case["a"], target=case["b"]).counts
    b_before = b_answers(case)
    annotate_item(case["items"][7], case["annie"], {case["a"]: 1})
    with pytest.raises(StalePreviewError):
        merge_labels(source=case["a"], target=case["b"], actor=manager, expected=preview)
    assert Label.objects.get(pk=case["a"].pk).is_active
    assert b_answers(case) == b_before
    assert not AuditEvent.objects.exists()


def test_merge_refuses_nonsense(case, manager, other_project):
    with pytest.raises(LabelSetError):
        preview_merge(source=case["a"], target=case["a"])
    (elsewhere,) = make_labels(other_project, ["refund"])
    with pytest.raises(LabelSetError):
        merge_labels(source=case["a"], target=elsewhere, actor=manager)
    retire_label(label=case["c"], actor=manager)
    with pytest.raises(LabelSetError):
        merge_labels(source=case["a"], target=Label.objects.get(pk=case["c"].pk), actor=manager)
    assert AuditEvent.objects.filter(action="label.merge").count() == 0
