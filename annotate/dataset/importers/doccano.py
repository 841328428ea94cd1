"""The doccano reader: text classification JSONL, one item a line with its list of labels (docs/formats.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from annotate.dataset.importers.base import AnnotatorRef, Errors, ParsedItem, max_text_chars
from annotate.dataset.importers.jsonl import json_objects
from annotate.dataset.importers.validate import (
    Spelling,
    as_external_id,
    as_text,
    parse_annotation,
)

# doccano names the label list "label" (1.x) or "labels" (older exports).
LABEL_KEYS = ("label", "labels")
DOCCANO_SPELLING = Spelling(labels="label:", annotator="the annotator option: doccano files do not say who answered")


def read_doccano(stream: IO[bytes], errors: Errors, *, unticked: str, annotator: str) -> Iterator[ParsedItem]:
    """``{"id", "text", "label": [names]}`` a line; the other keys become metadata.

    doccano stores only the labels an item has. Each one becomes a yes of
    ``annotator``; the others are unobserved, or no with ``unticked=negative``.
    A line without labels has no annotation (with ``unticked=negative``, one
    that says no to every label).
    """
    limit = max_text_chars()
    reported = False
    for line, row in json_objects(stream, errors):
        item = _doccano_row(row, line, errors, limit, unticked=unticked)
        if item is None or not item.annotations:
            if item is not None:
                yield item
            continue
        if not annotator:
            # Said once for the file, instead of on every line with labels.
            if not reported:
                errors.add(line, "annotator", f"is required: {DOCCANO_SPELLING.annotator}")
                reported = True
            continue
        item.annotations[0].annotator = AnnotatorRef(username=annotator)
        yield item


def _doccano_row(row: dict[str, Any], line: int, errors: Errors, limit: int, *, unticked: str) -> ParsedItem | None:
    """The line's item, with an annotation credited to nobody yet when it has labels (or unticked=negative)."""
    external_id = as_external_id(row.get("external_id", row.get("id")), line, errors)
    text = as_text(row.get("text"), line, errors, limit)
    key = next((name for name in LABEL_KEYS if name in row), "label")
    names = row.get(key, [])
    metadata = {name: value for name, value in row.items() if name not in {"id", "external_id", "text", *LABEL_KEYS}}
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        spans = isinstance(names, list) and any(isinstance(name, list) for name in names)
        message = (
            "holds spans ([start, end, label]): that is sequence labelling, not text classification"
            if spans
            else "must be a list of label names"
        )
        errors.add(line, key, message)
        return None
    if external_id is None or text is None:
        return None
    if not names and unticked != "negative":
        return ParsedItem(line, external_id, text, metadata, [])
    # The annotator is the caller's to fill; a placeholder passes the shared rules.
    raw = {"annotator": "doccano", "labels": dict.fromkeys(names, 1)}
    annotation = parse_annotation(raw, line=line, where="", errors=errors, spelling=DOCCANO_SPELLING)
    if annotation is None:
        return None
    annotation.untick_negative = unticked == "negative"
    annotation.label_spots = {name: f"{key}[{index}]" for index, name in enumerate(names)}
    return ParsedItem(line, external_id, text, metadata, [annotation])
