"""The Label Studio reader: the JSON export of a text-classification project (docs/api.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from annotate.dataset.importers.base import AnnotatorRef, Errors, ParsedAnnotation, ParsedItem
from annotate.dataset.importers.validate import (
    UNSTORABLE,
    Spelling,
    as_external_id,
    as_flag,
    as_text,
    parse_annotation,
    unstorable_in,
)

# Label Studio's names of the fields ``parse_annotation`` reads.
LABEL_STUDIO_SPELLING = Spelling(
    annotator="a user id or an object with an email",
    renamed={"annotator": "completed_by", "skipped": "was_cancelled", "duration_seconds": "lead_time"},
)
CANCELLED = "Cancelled in Label Studio"


def read_labelstudio(stream: IO[bytes], errors: Errors, *, unticked: str) -> Iterator[ParsedItem]:
    """A Label Studio JSON export of a text-classification project (a list of tasks).

    ``line`` in errors is the task's position in the list, from 1. The item's
    external id is ``data.external_id``, else ``data.id``, else the task id;
    ``data.text`` is the text and the other ``data`` fields become metadata,
    with the task id under ``label_studio_task_id``. Each annotation's
    ``choices`` results tick labels; cancelled annotations become skips.
    """
    try:
        tasks = json.load(stream)
    except ValueError as exc:
        errors.add(getattr(exc, "lineno", 0), "", f"invalid JSON: {getattr(exc, 'msg', None) or exc}")
        return
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        errors.add(1, "", "a Label Studio export is a JSON list of tasks")
        return
    for position, task in enumerate(tasks, start=1):
        item = _labelstudio_task(task, position, errors, unticked=unticked)
        if item is not None:
            yield item


def _labelstudio_task(task: Any, line: int, errors: Errors, *, unticked: str) -> ParsedItem | None:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        errors.add(line, "data", "each task must be an object with a data object")
        return None
    if (where := unstorable_in(task)) is not None:
        errors.add(line, where, UNSTORABLE)
        return None
    data = task["data"]
    external_id = as_external_id(data.get("external_id", data.get("id", task.get("id"))), line, errors)
    text = as_text(data.get("text"), line, errors)
    metadata = {key: value for key, value in data.items() if key not in {"text", "external_id"}}
    if task.get("id") is not None:
        metadata["label_studio_task_id"] = task["id"]
    raw_annotations = task.get("annotations", [])
    if not isinstance(raw_annotations, list):
        errors.add(line, "annotations", "must be a list")
        return None
    annotations = [
        _labelstudio_annotation(raw, line, f"annotations[{index}]", errors, unticked=unticked)
        for index, raw in enumerate(raw_annotations)
    ]
    if external_id is None or text is None or None in annotations:
        return None
    return ParsedItem(line, external_id, text, metadata, [a for a in annotations if a is not None])


def _completed_by(value: Any) -> AnnotatorRef | None:
    """Who made a Label Studio annotation: an object with an email or an id, a numeric id, or an email or username."""
    if isinstance(value, dict):
        if isinstance(value.get("email"), str) and value["email"].strip():
            return AnnotatorRef(email=value["email"].strip())
        if value.get("id") is not None:
            return AnnotatorRef(labelstudio_id=str(value["id"]))
    elif isinstance(value, int) and not isinstance(value, bool):
        return AnnotatorRef(labelstudio_id=str(value))
    elif isinstance(value, str) and value.strip():
        return AnnotatorRef(email=value.strip()) if "@" in value else AnnotatorRef(value)
    return None


def _labelstudio_annotation(
    raw: Any, line: int, where: str, errors: Errors, *, unticked: str
) -> ParsedAnnotation | None:
    """One Label Studio annotation, mapped to the JSONL fields and checked by ``parse_annotation``."""
    if not isinstance(raw, dict):
        errors.add(line, where, "must be an object")
        return None
    ok = True
    cancelled = raw.get("was_cancelled", False)
    if cancelled is not True and cancelled is not False:
        cancelled = as_flag(cancelled, line, LABEL_STUDIO_SPELLING.name(where, "skipped"), errors)
        if cancelled is None:
            cancelled, ok = False, False
    ticked: dict[str, int] = {}
    results = raw.get("result", [])
    if not isinstance(results, list):
        errors.add(line, f"{where}.result", "must be a list")
        results, ok = [], False
    for index, result in enumerate(results):
        spot = f"{where}.result[{index}]"
        if not isinstance(result, dict) or result.get("type") != "choices":
            kind = result.get("type") if isinstance(result, dict) else None
            errors.add(line, spot, f"unsupported result type {kind!r}; only 'choices' results can be imported")
            ok = False
            continue
        choices = (result.get("value") or {}).get("choices") if isinstance(result.get("value"), dict) else None
        if not isinstance(choices, list) or not all(isinstance(choice, str) for choice in choices):
            errors.add(line, f"{spot}.value.choices", "must be a list of label names")
            ok = False
            continue
        for choice in choices:
            ticked[choice] = 1
    mapping: dict[str, Any] = {
        "annotator": _completed_by(raw.get("completed_by")),
        "duration_seconds": raw.get("lead_time"),
        "created_at": raw.get("created_at"),
    }
    # A cancelled annotation is a skip and says nothing about any label (docs/api.md).
    if cancelled:
        mapping.update(skipped=True, skip_reason=CANCELLED)
    else:
        mapping["labels"] = ticked
    annotation = parse_annotation(mapping, line=line, where=where, errors=errors, spelling=LABEL_STUDIO_SPELLING)
    if annotation is None or not ok:
        return None
    annotation.untick_negative = unticked == "negative" and not annotation.skipped
    return annotation
