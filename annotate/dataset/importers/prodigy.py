"""The Prodigy reader: choice (``textcat_multilabel``) and binary textcat JSONL, one answer a line (docs/formats.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from annotate.dataset.importers.base import AnnotatorRef, Errors, ParsedAnnotation, ParsedItem, max_text_chars
from annotate.dataset.importers.jsonl import json_objects
from annotate.dataset.importers.validate import (
    Spelling,
    as_external_id,
    as_text,
    parse_annotation,
)

PRODIGY_SPELLING = Spelling(
    labels="accept:",
    annotator="_annotator_id, _session_id, or the annotator option",
    renamed={"annotator": "_annotator_id", "created_at": "_timestamp"},
)
IGNORED = "Ignored in Prodigy"
ANSWERS = ("accept", "reject", "ignore")


def read_prodigy(stream: IO[bytes], errors: Errors, *, annotator: str) -> Iterator[ParsedItem]:
    """Prodigy's JSONL (``prodigy db-out``): a line per answer, grouped into items by ``meta.id``.

    The item's external id is ``meta.id``, else ``id``, else ``_input_hash``;
    the rest of ``meta`` is its metadata. With ``answer: accept`` the
    ``accept`` options are yes and the other ``options`` no; with ``reject``
    the ``accept`` options are no; ``ignore`` is a skip. A label that is not
    among the ``options`` is unobserved. A binary task (``label`` and
    ``answer``) is yes on accept and no on reject. A line without ``answer`` is
    an item nobody answered yet.
    """
    limit = max_text_chars()
    items: dict[str, ParsedItem] = {}
    broken: set[str] = set()
    for line, row in json_objects(stream, errors):
        meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
        raw_id = meta.get("id", row.get("id", row.get("_input_hash")))
        external_id = as_external_id(raw_id, line, errors)
        text = as_text(row.get("text"), line, errors, limit)
        annotation = _answer(row, line, errors, annotator=annotator)
        if external_id is None or text is None or annotation is False:
            if external_id is not None:
                broken.add(external_id)
            continue
        item = items.get(external_id)
        if item is None:
            metadata = {key: value for key, value in meta.items() if key != "id"}
            item = items[external_id] = ParsedItem(line, external_id, text, metadata, [])
        elif item.text != text:
            errors.add(line, "text", f"differs from the text of the same id on line {item.line}")
            broken.add(external_id)
            continue
        if annotation is not None:
            item.annotations.append(annotation)
    for external_id, item in items.items():
        if external_id not in broken:
            yield item


def _answer(row: dict[str, Any], line: int, errors: Errors, *, annotator: str) -> ParsedAnnotation | bool | None:
    """The line's annotation, None for a task nobody answered, False after an error."""
    answer = row.get("answer")
    if answer is None:
        return None
    if answer not in ANSWERS:
        errors.add(line, "answer", "must be accept, reject or ignore")
        return False
    labels: dict[str, int] = {}
    spots: dict[str, str] = {}
    if answer != "ignore":
        if "options" in row or "accept" in row:
            options = row.get("options", [])
            accepted = row.get("accept", [])
            if not isinstance(options, list) or not all(isinstance(o, dict) and "id" in o for o in options):
                errors.add(line, "options", "must be a list of objects with an id")
                return False
            if not isinstance(accepted, list) or not all(isinstance(name, str | int) for name in accepted):
                errors.add(line, "accept", "must be a list of option ids")
                return False
            if answer == "accept":
                labels = {str(option["id"]): 0 for option in options}
            labels.update((str(name), 1 if answer == "accept" else 0) for name in accepted)
            spots = {str(name): f"accept[{index}]" for index, name in enumerate(accepted)}
            spots.update(
                (str(option["id"]), f"options[{index}]")
                for index, option in enumerate(options)
                if str(option["id"]) not in spots
            )
        elif isinstance(row.get("label"), str):
            labels = {row["label"]: 1 if answer == "accept" else 0}
            spots = {row["label"]: "label"}
        else:
            errors.add(line, "", "an answered task needs options and accept (a choice task) or a label (binary)")
            return False
    who = row.get("_annotator_id") or row.get("_session_id") or annotator
    timestamp = row.get("_timestamp")
    raw: dict[str, Any] = {
        "annotator": AnnotatorRef(username=str(who)) if who else None,
        "labels": labels,
        "created_at": _from_timestamp(timestamp),
    }
    if answer == "ignore":
        raw.update(skipped=True, skip_reason=IGNORED)
    annotation = parse_annotation(raw, line=line, where="", errors=errors, spelling=PRODIGY_SPELLING)
    if annotation is None:
        return False
    annotation.label_spots = spots
    annotation.line = line
    return annotation


def _from_timestamp(value: Any) -> Any:
    """Prodigy's ``_timestamp`` (seconds since 1970) as an ISO time for the shared date rule; other values pass on."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 2**34:
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value
