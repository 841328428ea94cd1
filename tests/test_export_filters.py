"""Export values and filters: consensus, resolutions, agreement, versions, dates, labels, split, escaping."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.dataset.export import ExportError, ExportOptions, export_stream
from annotate.models import Resolution
from tests.factories import annotate_item, make_guideline, make_items


def rows(project, **options) -> dict[str, dict]:
    data = b"".join(export_stream(project=project, options=ExportOptions(format="jsonl", **options)))
    return {row["id"]: row for row in map(json.loads, data.decode().splitlines())}


@pytest.fixture
def answered(project, labels, items, annotator, second_annotator, reviewer, guideline):
    shipping, refund, billing, bug, _praise = labels
    # item-0: a confident yes against an unsure no on shipping; both say no to refund.
    annotate_item(items[0], annotator, {shipping: (1, 0.9), refund: (0, 1.0)}, guideline=guideline)
    annotate_item(items[0], second_annotator, {shipping: (0, 0.3), refund: (0, 1.0)}, guideline=guideline)
    # item-1: a disagreement on bug that a reviewer resolved to no.
    annotate_item(items[1], annotator, {bug: 1}, guideline=guideline)
    annotate_item(items[1], second_annotator, {bug: 0}, guideline=guideline)
    Resolution.objects.create(item=items[1], label=bug, value=0, reviewer=reviewer)
    # item-2: one answer under guideline version 2, made yesterday.
    v2 = make_guideline(project, 2)
    annotate_item(
        items[2],
        annotator,
        {billing: 1},
        guideline=v2,
        created_at=timezone.now() - timedelta(days=1),
        updated_at=timezone.now() - timedelta(days=1),
    )
    return items


@pytest.mark.django_db
def test_consensus_is_resolution_else_weighted_mean_else_null(project, answered):
    out = rows(project)
    assert len(out) == 10
    assert out["item-0"]["labels"]["shipping"] == pytest.approx(0.9 / 1.2)
    assert out["item-0"]["labels"]["refund"] == 0.0
    assert out["item-0"]["labels"]["billing"] is None
    assert out["item-1"]["labels"]["bug"] == 0.0
    assert out["item-5"]["labels"] == dict.fromkeys(["shipping", "refund", "billing", "bug", "praise"])


@pytest.mark.django_db
def test_resolved_only_and_minimum_agreement(project, answered):
    assert set(rows(project, resolved_only=True)) == {"item-1"}
    # item-0: 3 of 4 answers agree with the consensus; item-1: 1 of 2 agree
    # with the resolution; item-2: 1 of 1; items without answers are left out.
    assert set(rows(project, min_agreement=0.75)) == {"item-0", "item-2"}
    assert set(rows(project, min_agreement=0.5)) == {"item-0", "item-1", "item-2"}


@pytest.mark.django_db
def test_guideline_version_date_and_label_filters(project, answered):
    by_version = rows(project, guideline_version=2)
    assert set(by_version) == {"item-2"}
    assert by_version["item-2"]["labels"]["billing"] == 1.0
    assert set(rows(project, annotated_after=timezone.now() - timedelta(hours=1))) == {"item-0", "item-1"}
    subset = rows(project, labels=("refund", "bug"))
    assert list(subset["item-0"]["labels"]) == ["refund", "bug"]
    with pytest.raises(ExportError):
        rows(project, labels=("weather",))


@pytest.mark.django_db
def test_raw_judgments_on_request(project, answered):
    judgments = rows(project, include_judgments=True)["item-0"]["judgments"]
    assert {
        "annotator": "annie",
        "label": "shipping",
        "value": 1,
        "confidence": 0.9,
        "guideline_version": 1,
    } in judgments
    assert len(judgments) == 4
    assert rows(project, include_judgments=True)["item-5"]["judgments"] == []


@pytest.mark.django_db
def test_split_is_seeded_and_partitions_the_items(project, labels, annotator):
    more = make_items(project, 60, prefix="s")
    for index, item in enumerate(more):
        annotate_item(item, annotator, {labels[index % 3]: 1, labels[3]: index % 2})
    train = set(rows(project, split="train", test_size=0.25, seed=7))
    validation = set(rows(project, split="validation", test_size=0.25, seed=7))
    assert train.isdisjoint(validation)
    assert len(train | validation) == 60
    assert 12 <= len(validation) <= 18
    assert set(rows(project, split="validation", test_size=0.25, seed=7)) == validation
    assert set(rows(project, split="validation", test_size=0.25, seed=8)) != validation


@pytest.mark.django_db
def test_csv_cells_are_escaped_against_formulas(project, labels):
    from annotate.models import Item

    Item.objects.create(project=project, external_id="=cmd|' /C calc'!A0", text="+1 555 0100", metadata={})
    Item.objects.create(project=project, external_id="-2", text="@SUM(A1)", metadata={})
    Item.objects.create(project=project, external_id="tab", text="\tx", metadata={})
    Item.objects.create(project=project, external_id="ok", text="plain", metadata={})
    data = b"".join(export_stream(project=project, options=ExportOptions(format="csv"))).decode()
    cells = {row["id"]: row["text"] for row in csv.DictReader(io.StringIO(data))}
    # Text is escaped; ids never are, so they match the JSONL and Parquet ids.
    assert cells == {"=cmd|' /C calc'!A0": "'+1 555 0100", "-2": "'@SUM(A1)", "tab": "'\tx", "ok": "plain"}


@pytest.mark.django_db
def test_a_pipeline_turns_formula_escaping_off(project, labels):
    from annotate.models import Item

    Item.objects.create(project=project, external_id="-2", text="@SUM(A1)", metadata={})
    options = ExportOptions(format="csv", escape_formulas=False)
    data = b"".join(export_stream(project=project, options=options)).decode()
    assert [(row["id"], row["text"]) for row in csv.DictReader(io.StringIO(data))] == [("-2", "@SUM(A1)")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("count", "test_size", "reason"),
    [(1, 0.2, "at least 2 items"), (3, 0.99, "leaves the train side empty")],
)
def test_a_split_that_cannot_be_made_is_refused_before_any_byte(project, labels, count, test_size, reason):
    from annotate.dataset.export import SplitError
    from annotate.models import Item

    Item.objects.bulk_create(Item(project=project, external_id=f"s{n}", text=f"text {n}") for n in range(count))
    options = ExportOptions(format="csv", split="train", test_size=test_size)
    with pytest.raises(SplitError, match=reason):
        export_stream(project=project, options=options)


@pytest.mark.django_db
def test_the_api_answers_a_split_it_cannot_make_with_a_400(project, labels, manager):
    from annotate.models import Item
    from tests.api_support import api, client_for

    Item.objects.create(project=project, external_id="only", text="one item")
    answer = client_for(manager).get(api("/export", project), {"format": "csv", "split": "train"})
    assert answer.status_code == 400
    assert "at least 2 items" in answer.json()["split"][0]


@pytest.mark.django_db
def test_the_command_leaves_no_file_when_the_split_cannot_be_made(project, labels, tmp_path):
    from django.core.management import CommandError, call_command

    target = tmp_path / "train.csv"
    with pytest.raises(CommandError, match="at least 2 items"):
        call_command("export", str(project.pk), "--format", "csv", "--split", "train", "--output", str(target))
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
