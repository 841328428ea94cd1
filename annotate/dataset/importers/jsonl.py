"""The JSONL reader: one item a line, with its annotations (docs/api.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from annotate.dataset.importers.base import AnnotatorRef, Errors, ParsedAnnotation, ParsedItem, max_text_chars
from annotate.dataset.importers.validate import (
    UNSTORABLE,
    as_answer,
    as_confidence,
    as_datetime,
    as_external_id,
    as_int,
    as_metadata,
    as_text,
    may_hold_unstorable,
    unstorable_in,
)

JSONL_ITEM_FIELDS = {"external_id", "id", "text", "metadata", "annotations"}
JSONL_ANNOTATION_FIELDS = {
    "annotator",
    "labels",
    "confidence",
    "guideline_version",
    "duration_ms",
    "skipped",
    "skip_reason",
    "created_at",
}


def _annotation_from_mapping(raw: Any, line: int, where: str, errors: Errors) -> ParsedAnnotation | None:
    """Read one JSONL annotation object; ``where`` names it in error messages, e.g. "annotations[0]"."""
    if not isinstance(raw, dict):
        errors.add(line, where, "must be an object")
        return None
    ok = True
    if not raw.keys() <= JSONL_ANNOTATION_FIELDS:
        unknown = sorted(set(raw) - JSONL_ANNOTATION_FIELDS)
        errors.add(line, where, f"unknown field(s): {', '.join(unknown)}")
        ok = False
    annotator = raw.get("annotator")
    if not isinstance(annotator, str) or not annotator.strip():
        errors.add(line, f"{where}.annotator", "is required: the annotator's username")
        ok = False
    skipped = raw.get("skipped", False)
    if not isinstance(skipped, bool):
        errors.add(line, f"{where}.skipped", "must be true or false")
        ok = False
    labels = raw.get("labels", {})
    if not isinstance(labels, dict):
        errors.add(line, f"{where}.labels", "must be an object of label name to 1, 0 or null")
        labels, ok = {}, False
    confidence = raw.get("confidence")
    default_confidence: float | None = None
    per_label_confidence: dict[str, Any] = {}
    if isinstance(confidence, dict):
        per_label_confidence = confidence
        for name in confidence:
            if name not in labels or labels[name] is None:
                errors.add(line, f"{where}.confidence.{name}", "gives a confidence for a label without an answer")
                ok = False
    elif confidence is not None:
        default_confidence = as_confidence(confidence, line, f"{where}.confidence", errors)
        ok = ok and default_confidence is not None
    answers: dict[str, tuple[int, float | None]] = {}
    for name, cell in labels.items():
        value = as_answer(cell)
        if value == "bad":
            errors.add(line, f"{where}.labels.{name}", "must be 1, 0 or null")
            ok = False
            continue
        if value is None:
            continue
        label_confidence = default_confidence
        if name in per_label_confidence:
            label_confidence = as_confidence(per_label_confidence[name], line, f"{where}.confidence.{name}", errors)
            ok = ok and label_confidence is not None
        answers[str(name)] = (int(value), label_confidence)
    if skipped and answers:
        errors.add(line, f"{where}.labels", "a skipped annotation cannot have answers")
        ok = False
    version = raw.get("guideline_version")
    if version is not None:
        version = as_int(version, line, f"{where}.guideline_version", errors, minimum=1)
        ok = ok and version is not None
    duration = as_int(raw.get("duration_ms", 0), line, f"{where}.duration_ms", errors)
    created_at = None
    if raw.get("created_at") is not None:
        created_at = as_datetime(raw["created_at"], line, f"{where}.created_at", errors)
        ok = ok and created_at is not None
    skip_reason = raw.get("skip_reason", "")
    if not isinstance(skip_reason, str) or len(skip_reason) > 200:
        errors.add(line, f"{where}.skip_reason", "must be a string of at most 200 characters")
        ok = False
    if not ok or duration is None:
        return None
    return ParsedAnnotation(
        annotator=AnnotatorRef(username=annotator.strip()),
        answers=answers,
        guideline_version=version,
        duration_ms=duration,
        skipped=skipped,
        skip_reason=skip_reason,
        created_at=created_at,
    )


def read_jsonl(stream: IO[bytes], errors: Errors) -> Iterator[ParsedItem]:
    """One JSON object per line: external_id (or id), text, metadata, annotations."""
    limit = max_text_chars()
    for line, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            # Decoding here skips json's per-call encoding detection; utf-8-sig
            # drops a byte order mark, which json.loads of bytes accepted too.
            row = json.loads(raw.decode("utf-8-sig"))
        except ValueError as exc:
            errors.add(line, "", f"invalid JSON: {getattr(exc, 'msg', None) or exc}")
            continue
        if not isinstance(row, dict):
            errors.add(line, "", "each line must be a JSON object")
            continue
        # JSON can only carry a NUL or a surrogate as an escape, so most lines skip the walk.
        if may_hold_unstorable(raw) and (where := unstorable_in(row)) is not None:
            errors.add(line, where, UNSTORABLE)
            continue
        unknown = [] if row.keys() <= JSONL_ITEM_FIELDS else sorted(set(row) - JSONL_ITEM_FIELDS)
        if unknown:
            errors.add(line, "", f"unknown field(s): {', '.join(unknown)}; put extra fields under metadata")
        external_id = as_external_id(row.get("external_id", row.get("id")), line, errors)
        text = as_text(row.get("text"), line, errors, limit)
        metadata = as_metadata(row.get("metadata"), line, errors)
        raw_annotations = row.get("annotations", [])
        if not isinstance(raw_annotations, list):
            errors.add(line, "annotations", "must be a list")
            raw_annotations = []
        annotations = [
            _annotation_from_mapping(raw_annotation, line, f"annotations[{index}]", errors)
            for index, raw_annotation in enumerate(raw_annotations)
        ]
        if unknown or external_id is None or text is None or metadata is None or None in annotations:
            continue
        yield ParsedItem(line, external_id, text, metadata, [a for a in annotations if a is not None])
