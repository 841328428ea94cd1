"""The JSONL reader: one item a line, with its annotations (docs/api.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from annotate.dataset.importers.base import Errors, ParsedAnnotation, ParsedItem, max_text_chars
from annotate.dataset.importers.validate import (
    UNSTORABLE,
    as_external_id,
    as_metadata,
    as_text,
    json_error,
    may_hold_unstorable,
    parse_annotation,
    unstorable_in,
)

JSONL_ITEM_FIELDS = {"external_id", "id", "text", "metadata", "annotations"}
# The fields of an annotation are the ones ``parse_annotation`` reads.
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
    if not raw.keys() <= JSONL_ANNOTATION_FIELDS:
        unknown = sorted(set(raw) - JSONL_ANNOTATION_FIELDS)
        errors.add(line, where, f"unknown field(s): {', '.join(unknown)}")
        # The known fields are still checked, so that one pass reports every error.
        parse_annotation(raw, line=line, where=where, errors=errors)
        return None
    return parse_annotation(raw, line=line, where=where, errors=errors)


def whole_file_hint(first_line: bytes) -> str:
    """Why a file's first line is not a JSON object, when the cause is the whole file's shape."""
    content = first_line.removeprefix(b"\xef\xbb\xbf").strip()
    if content[:1] == b"[":
        return (
            "this is a JSON array, not JSON lines: write one object per line "
            "(a Label Studio export imports with format=labelstudio)"
        )
    if content == b"{":
        return "this is one JSON object spread over several lines: JSON lines need one whole object per line"
    return ""


def json_objects(stream: IO[bytes], errors: Errors) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each line that is a storable JSON object; the rest are errors.

    The one reader of JSON lines for every format that uses them (JSONL,
    doccano, Prodigy): blank lines are skipped, a first line that shows the
    whole file is of another shape gets one hint instead of an error per
    line, and a NUL or unpaired surrogate is refused on its line.
    """
    first = True
    for line, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            # Decoding here skips json's per-call encoding detection; utf-8-sig
            # drops a byte order mark, which json.loads of bytes accepted too.
            row = json.loads(raw.decode("utf-8-sig"))
        except ValueError as exc:
            if first and (hint := whole_file_hint(raw)):
                errors.add(line, "", hint)
                return
            errors.add(line, "", json_error(exc))
            first = False
            continue
        if not isinstance(row, dict):
            if first and (hint := whole_file_hint(raw)):
                errors.add(line, "", hint)
                return
            errors.add(line, "", "each line must be a JSON object")
            first = False
            continue
        first = False
        # JSON can only carry a NUL or a surrogate as an escape, so most lines skip the walk.
        if may_hold_unstorable(raw) and (where := unstorable_in(row)) is not None:
            errors.add(line, where, UNSTORABLE)
            continue
        yield line, row


def read_jsonl(stream: IO[bytes], errors: Errors) -> Iterator[ParsedItem]:
    """One JSON object per line: external_id (or id), text, metadata, annotations."""
    limit = max_text_chars()
    for line, row in json_objects(stream, errors):
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
