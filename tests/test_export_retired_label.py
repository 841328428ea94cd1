"""A retired label keeps its history, and naming it exports that history."""

import json

from annotate.dataset.export import ExportOptions, export_stream
from annotate.setup.labelset import retire_label
from tests.factories import annotate_item


def export_rows(project, **options):
    body = b"".join(export_stream(project=project, options=ExportOptions(**options)))
    return {row["id"]: row["labels"] for row in map(json.loads, body.decode().splitlines())}


def test_retired_label_is_left_out_by_default_and_exported_when_named(
    project, guideline, labels, items, annotator, manager
):
    shipping, refund, *_ = labels
    annotate_item(items[0], annotator, {shipping: 1, refund: 0}, guideline=guideline)
    annotate_item(items[1], annotator, {shipping: 0}, guideline=guideline)

    retire_label(label=refund, actor=manager)

    default = export_rows(project)
    assert "refund" not in default["item-0"]
    named = export_rows(project, labels=("shipping", "refund"))
    assert named["item-0"] == {"shipping": 1.0, "refund": 0.0}
    # Nobody answered refund on item 1: still null, never 0.
    assert named["item-1"] == {"shipping": 0.0, "refund": None}
