"""The Label Studio reader: the JSON export of a text-classification project (docs/api.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from annotate.dataset.importers.base import AnnotatorRef, Errors, ParsedAnnotation, ParsedItem
from annotate.dataset.importers.validate import (
    MAX_STORED_INT,
    UNSTORABLE,
    as_datetime,
    as_external_id,
    as_text,
    unstorable_in,
)


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


def _labelstudio_annotation(
    raw: Any, line: int, where: str, errors: Errors, *, unticked: str
) -> ParsedAnnotation | None:
    if not isinstance(raw, dict):
        errors.add(line, where, "must be an object")
        return None
    ok = True
    completed_by = raw.get("completed_by")
    annotator: AnnotatorRef | None = None
    if isinstance(completed_by, dict):
        if isinstance(completed_by.get("email"), str) and completed_by["email"].strip():
            annotator = AnnotatorRef(email=completed_by["email"].strip())
        elif completed_by.get("id") is not None:
            annotator = AnnotatorRef(labelstudio_id=str(completed_by["id"]))
    elif isinstance(completed_by, int) and not isinstance(completed_by, bool):
        annotator = AnnotatorRef(labelstudio_id=str(completed_by))
    elif isinstance(completed_by, str) and completed_by.strip():
        annotator = AnnotatorRef(email=completed_by.strip()) if "@" in completed_by else AnnotatorRef(completed_by)
    if annotator is None:
        errors.add(line, f"{where}.completed_by", "is required: a user id or an object with an email")
        ok = False
    cancelled = raw.get("was_cancelled", False)
    if not isinstance(cancelled, bool):
        errors.add(line, f"{where}.was_cancelled", "must be true or false")
        ok = False
    answers: dict[str, tuple[int, float | None]] = {}
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
            answers[choice] = (1, None)
    lead_time = raw.get("lead_time") or 0
    if (
        isinstance(lead_time, bool)
        or not isinstance(lead_time, int | float)
        or not 0 <= lead_time <= MAX_STORED_INT / 1000  # also refuses NaN
    ):
        errors.add(line, f"{where}.lead_time", f"must be a number of seconds from 0 to {MAX_STORED_INT // 1000}")
        ok = False
    created_at = None
    if raw.get("created_at"):
        created_at = as_datetime(raw["created_at"], line, f"{where}.created_at", errors)
        ok = ok and created_at is not None
    if not ok or annotator is None:
        return None
    return ParsedAnnotation(
        annotator=annotator,
        answers={} if cancelled else answers,
        duration_ms=round(float(lead_time) * 1000),
        skipped=bool(cancelled),
        skip_reason="Cancelled in Label Studio" if cancelled else "",
        created_at=created_at,
        untick_negative=unticked == "negative" and not cancelled,
    )
