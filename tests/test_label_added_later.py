"""A label added in guideline version 3 is unobserved under versions 1 and 2, in rows, agreement and export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from annotate.dataset.export import ExportOptions, export_stream
from annotate.models import Judgment
from annotate.setup.guidelines import publish_guideline, save_draft
from annotate.setup.labelset import add_label, preview_add_label
from annotate.stats.agreement import agreement_report, kappa_per_label
from tests.arrays import answer_arrays
from tests.factories import annotate_item, make_labels


def publish(project, text, author):
    return publish_guideline(draft=save_draft(project=project, text=text, author=author), changelog=text, author=author)


@pytest.fixture
def history(project, items, annotator, second_annotator, manager):
    """Two annotators under v1 (items 0-2) and v2 (items 3-5); then v3, "warranty" added, items 6-8."""
    annie, arthur = annotator, second_annotator
    v1 = publish(project, "v1", manager)
    shipping, refund = make_labels(project, ["shipping", "refund"])
    answers = {0: (1, 1), 1: (1, 0), 2: (0, 0)}
    for i, (a, b) in answers.items():
        annotate_item(items[i], annie, {shipping: a, refund: 1}, guideline=v1)
        annotate_item(items[i], arthur, {shipping: b, refund: 1}, guideline=v1)
    v2 = publish(project, "v2", manager)
    for i, (a, b) in answers.items():
        annotate_item(items[i + 3], annie, {shipping: a, refund: 0}, guideline=v2)
        annotate_item(items[i + 3], arthur, {shipping: b, refund: 0}, guideline=v2)
    v3 = publish(project, "v3", manager)
    # An annotation under v3 made before the label exists: unobserved for it too.
    annotate_item(items[9], annie, {shipping: 1}, guideline=v3)

    preview = preview_add_label(project=project, name="warranty")
    warranty = add_label(project=project, actor=manager, name="warranty", shortcut_key="w")

    for i, (a, b) in {6: (1, 1), 7: (0, 0), 8: (1, 0)}.items():
        annotate_item(items[i], annie, {shipping: 1, refund: 0, warranty: a}, guideline=v3)
        annotate_item(items[i], arthur, {shipping: 1, refund: 0, warranty: b}, guideline=v3)
    return {
        "labels": [shipping, refund, warranty],
        "raters": [annie, arthur],
        "items": items,
        "preview": preview,
        "versions": (v1, v2, v3),
    }


def test_adding_creates_no_rows_and_dates_the_label(history):
    shipping, refund, warranty = history["labels"]
    assert warranty.introduced_in == history["versions"][2]
    assert warranty.order > max(shipping.order, refund.order) and warranty.is_active
    assert history["preview"].introduced_in == 3
    assert history["preview"].annotations_unobserved == 13
    assert not Judgment.objects.filter(label=warranty, annotation__guideline_version__number__lt=3).exists()
    assert Judgment.objects.filter(label=warranty).count() == 6


def test_added_label_is_absent_from_earlier_versions_agreement(history):
    _shipping, _refund, _warranty = history["labels"]
    arrays = answer_arrays(history["items"], history["labels"], history["raters"])
    assert np.isnan(arrays["values"][:6, 2, :]).all()  # unobserved, not negative

    report = agreement_report(
        arrays["values"],
        arrays["confidence"],
        arrays["version"],
        label_introduced=np.array([1, 1, 3]),
        label_names=["shipping", "refund", "warranty"],
        n_boot=20,
    )
    by_version = {block["version"]: block for block in report["by_version"]}
    for version in (1, 2):
        warranty_figures = by_version[version]["per_label"][2]
        assert warranty_figures["asked"] is False
        assert warranty_figures["kappa"] is None
        assert warranty_figures["n_units"] == 0
        # The pooled figure counts the two asked labels only: 3 items x 2 labels.
        assert by_version[version]["pooled"]["n_units"] == 6
        assert by_version[version]["macro"]["n_labels"] <= 2
    v3_warranty = by_version[3]["per_label"][2]
    assert v3_warranty["asked"] is True and v3_warranty["n_units"] == 3
    expected = kappa_per_label(arrays["values"][6:9, 2:3, :]).kappa[0]
    assert v3_warranty["kappa"] == pytest.approx(expected)
    assert report["overall"]["per_label"][2]["n_units"] == 3


def test_added_label_is_null_in_the_export_for_earlier_annotations(history, project):
    lines = b"".join(export_stream(project=project, options=ExportOptions(format="jsonl"))).decode().splitlines()
    rows = {row["id"]: row["labels"] for row in map(json.loads, lines)}
    for i in range(6):
        assert rows[f"item-{i}"]["warranty"] is None
        assert rows[f"item-{i}"]["shipping"] is not None
    assert rows["item-9"]["warranty"] is None
    assert [rows[f"item-{i}"]["warranty"] for i in (6, 7, 8)] == [1.0, 0.0, 0.5]

    v1_only = ExportOptions(format="jsonl", guideline_version=1)
    v1_rows = [json.loads(line) for line in b"".join(export_stream(project=project, options=v1_only)).splitlines()]
    assert len(v1_rows) == 3
    assert all(row["labels"]["warranty"] is None for row in v1_rows)
