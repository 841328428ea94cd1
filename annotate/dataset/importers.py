"""Bulk import of items and their annotations: JSONL, CSV and Label Studio JSON.

An import is all or nothing. The whole file is parsed and every row checked
against the project (labels, annotators, guideline versions, external ids)
before anything is written; a file with any bad row writes nothing and the
caller gets the errors (line, field, message; the first ``MAX_ERRORS``). Only a
file without errors is written, in one transaction, with ``bulk_create`` in
batches so that 100,000 items take seconds.

The formats are described in docs/api.md. In short, every row is an item with
an external id, a text, optional metadata and optional annotations; an
annotation names its annotator and gives each label it answered a 1 (yes) or
0 (no). A label an annotation does not mention stays unobserved: no judgment
row is written for it (DESIGN.md section 2).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotate import jobs
from annotate.db import analyze, check_deferred_constraints, insert_rows
from annotate.db import batches as _batches
from annotate.models import (
    Annotation,
    AuditEvent,
    GuidelineVersion,
    ImportJob,
    Item,
    Judgment,
    Label,
    Membership,
    Project,
    QueueEntry,
    Role,
    record_audit,
)
from annotate.stats.cold_start import diverse_order
from annotate.work.queue import completed_counts, insert_cold_start_entries

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "labelstudio")
# The format a file name's extension stands for, for the import page and the API.
FORMAT_BY_EXTENSION = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "labelstudio"}
UNTICKED_CHOICES = ("unobserved", "negative")
# The response lists this many errors; the total count is reported too.
MAX_ERRORS = 100
WRITE_BATCH = 2000
# After an import of at least this many rows, PostgreSQL's statistics of the
# tables it wrote are refreshed (see ``_refresh_statistics``).
ANALYZE_AFTER_ROWS = 10_000
# Rows whose label answers are given by these CSV columns, all other columns
# must be label names (or "label:<name>" when a label is called like one of these).
CSV_RESERVED = (
    "external_id",
    "id",
    "text",
    "metadata",
    "annotator",
    "confidence",
    "guideline_version",
    "duration_ms",
    "skipped",
    "skip_reason",
    "created_at",
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
TRUE_WORDS = {"1", "true", "yes", "y"}
FALSE_WORDS = {"0", "false", "no", "n"}


def format_for_filename(name: str) -> str | None:
    """The import format a file name's extension names, or None when it names none."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return FORMAT_BY_EXTENSION.get(suffix)


def max_text_chars() -> int:
    """The longest item text an import accepts, in characters."""
    return int(getattr(settings, "TAGWISE_IMPORT_MAX_TEXT_CHARS", 50_000))


def background_thresholds() -> tuple[int, int]:
    """(bytes, rows) above which an API import runs as a background task instead of in the request."""
    return (
        int(getattr(settings, "TAGWISE_IMPORT_BACKGROUND_BYTES", 5 * 1024 * 1024)),
        int(getattr(settings, "TAGWISE_IMPORT_BACKGROUND_ROWS", 20_000)),
    )


# ---------------------------------------------------------------------------
# Options, errors and the parsed shape
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    format: str
    # Replace the text and metadata of items whose external id already
    # exists, and the annotations of the same annotator on them.
    update: bool = False
    # Label Studio stores only ticks: whether an unticked label means "no" or
    # "not answered" is the importer's call, and unobserved is the safe default.
    unticked: str = "unobserved"
    # Create unknown annotators (without a usable password) and add missing
    # annotator memberships, instead of reporting them as errors.
    create_annotators: bool = False
    # Label Studio ``completed_by`` ids mapped to usernames, for exports that
    # carry only the numeric id of the Label Studio user.
    annotator_map: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        if self.unticked not in UNTICKED_CHOICES:
            raise ValueError(f"unticked must be one of {', '.join(UNTICKED_CHOICES)}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str


class ImportFailed(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[RowError], total: int) -> None:
        shown = "; ".join(f"line {e.line} {e.field}: {e.message}".replace("  ", " ") for e in errors[:3])
        super().__init__(f"{total} error(s) in the file; nothing was imported. {shown}")
        self.errors = errors
        self.total = total


class _Errors:
    """Collects errors, keeping the first MAX_ERRORS and counting the rest."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.total = 0

    def add(self, line: int, field_name: str, message: str) -> None:
        self.total += 1
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(RowError(line=line, field=field_name, message=message))


@dataclass(frozen=True)
class AnnotatorRef:
    """Who made an annotation, as the file names them."""

    username: str = ""
    email: str = ""
    labelstudio_id: str = ""

    def describe(self) -> str:
        if self.username:
            return f"user '{self.username}'"
        if self.email:
            return f"user with email '{self.email}'"
        return f"Label Studio user {self.labelstudio_id}"


@dataclass(slots=True)
class ParsedAnnotation:
    annotator: AnnotatorRef
    # Label name -> (value 0/1, confidence or None for the project default).
    answers: dict[str, tuple[int, float | None]]
    guideline_version: int | None = None
    duration_ms: int = 0
    skipped: bool = False
    skip_reason: str = ""
    created_at: datetime | None = None
    # Label Studio: fill the labels nobody ticked with "no" (set by the reader).
    untick_negative: bool = False
    # Filled by validation.
    user_key: str = ""
    version_id: int | None = None


@dataclass(slots=True)
class ParsedItem:
    line: int
    external_id: str
    text: str
    metadata: dict[str, Any]
    annotations: list[ParsedAnnotation]


@dataclass
class ImportResult:
    items_created: int = 0
    items_updated: int = 0
    annotations_created: int = 0
    annotations_replaced: int = 0
    judgments_created: int = 0
    users_created: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# ---------------------------------------------------------------------------
# Readers: bytes -> ParsedItem, with errors for rows they cannot read
# ---------------------------------------------------------------------------


UNSTORABLE = "contains a NUL character or an unpaired surrogate, which cannot be stored"
# The largest value of the integer columns (PositiveIntegerField, 32 bits on PostgreSQL).
MAX_STORED_INT = 2**31 - 1


def unstorable_in(value: Any, path: str = "") -> str | None:
    """The path of the first string in ``value`` (nested dicts and lists, keys too) that no database can store.

    PostgreSQL refuses NUL in text and jsonb, and an unpaired surrogate
    cannot be encoded as UTF-8 at all; caught here, such a row is an error
    on its line instead of a failed insert at the end.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return path
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if unstorable_in(key, where) is not None:
                return where
            if (found := unstorable_in(item, where)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := unstorable_in(item, f"{path}[{index}]")) is not None:
                return found
    return None


def _may_hold_unstorable(raw: bytes) -> bool:
    """True when a JSON line has an escape that could be a NUL (\\u0000) or a surrogate (\\ud800-\\udfff)."""
    return b"\\u0000" in raw or b"\\ud" in raw or b"\\uD" in raw


def _as_external_id(value: Any, line: int, errors: _Errors) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.add(line, "external_id", "is required and must be a string or an integer")
        return None
    text = str(value).strip()
    if not text:
        errors.add(line, "external_id", "must not be empty")
        return None
    if len(text) > 255:
        errors.add(line, "external_id", "is longer than 255 characters")
        return None
    return text


def _as_text(value: Any, line: int, errors: _Errors, limit: int | None = None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.add(line, "text", "is required and must be a non-empty string")
        return None
    limit = max_text_chars() if limit is None else limit
    if len(value) > limit:
        errors.add(line, "text", f"is {len(value):,} characters long; the limit is {limit:,}")
        return None
    return value


def _as_metadata(value: Any, line: int, errors: _Errors) -> dict[str, Any] | None:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            errors.add(line, "metadata", "is not valid JSON")
            return None
    if not isinstance(value, dict):
        errors.add(line, "metadata", "must be a JSON object")
        return None
    return value


def _as_confidence(value: Any, line: int, field_name: str, errors: _Errors) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            errors.add(line, field_name, "must be a number in (0, 1]")
            return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        errors.add(line, field_name, "must be a number in (0, 1]")
        return None
    return float(value)


def _as_int(value: Any, line: int, field_name: str, errors: _Errors, *, minimum: int = 0) -> int | None:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_STORED_INT:
        errors.add(line, field_name, f"must be an integer from {minimum} to {MAX_STORED_INT}")
        return None
    return value


def _as_datetime(value: Any, line: int, field_name: str, errors: _Errors) -> datetime | None:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None  # well formed but impossible, such as month 13
    if parsed is None:
        errors.add(line, field_name, "must be an ISO 8601 date and time")
        return None
    parsed = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.UTC)
    # A day of slack for clocks and time zones; an answer from next year is a typo.
    if parsed > timezone.now() + timedelta(days=1):
        errors.add(line, field_name, "is in the future")
        return None
    return parsed


def _as_answer(value: Any) -> int | str | None:
    """1, 0 or None (unobserved) from a JSON or CSV cell; the string "bad" when it is neither."""
    if value is None:
        return None
    # The common case first: a JSON 0 or 1 (bool is a subclass of int, not the same type).
    if type(value) is int and (value == 0 or value == 1):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return None
        if word in TRUE_WORDS:
            return 1
        if word in FALSE_WORDS:
            return 0
    return "bad"


def _annotation_from_mapping(raw: Any, line: int, where: str, errors: _Errors) -> ParsedAnnotation | None:
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
        default_confidence = _as_confidence(confidence, line, f"{where}.confidence", errors)
        ok = ok and default_confidence is not None
    answers: dict[str, tuple[int, float | None]] = {}
    for name, cell in labels.items():
        value = _as_answer(cell)
        if value == "bad":
            errors.add(line, f"{where}.labels.{name}", "must be 1, 0 or null")
            ok = False
            continue
        if value is None:
            continue
        label_confidence = default_confidence
        if name in per_label_confidence:
            label_confidence = _as_confidence(per_label_confidence[name], line, f"{where}.confidence.{name}", errors)
            ok = ok and label_confidence is not None
        answers[str(name)] = (int(value), label_confidence)
    if skipped and answers:
        errors.add(line, f"{where}.labels", "a skipped annotation cannot have answers")
        ok = False
    version = raw.get("guideline_version")
    if version is not None:
        version = _as_int(version, line, f"{where}.guideline_version", errors, minimum=1)
        ok = ok and version is not None
    duration = _as_int(raw.get("duration_ms", 0), line, f"{where}.duration_ms", errors)
    created_at = None
    if raw.get("created_at") is not None:
        created_at = _as_datetime(raw["created_at"], line, f"{where}.created_at", errors)
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


def read_jsonl(stream: IO[bytes], errors: _Errors) -> Iterator[ParsedItem]:
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
        if _may_hold_unstorable(raw) and (where := unstorable_in(row)) is not None:
            errors.add(line, where, UNSTORABLE)
            continue
        unknown = [] if row.keys() <= JSONL_ITEM_FIELDS else sorted(set(row) - JSONL_ITEM_FIELDS)
        if unknown:
            errors.add(line, "", f"unknown field(s): {', '.join(unknown)}; put extra fields under metadata")
        external_id = _as_external_id(row.get("external_id", row.get("id")), line, errors)
        text = _as_text(row.get("text"), line, errors, limit)
        metadata = _as_metadata(row.get("metadata"), line, errors)
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


def read_csv(stream: IO[bytes], errors: _Errors) -> Iterator[ParsedItem]:
    """A header row, then one row per item with at most one annotation.

    Columns: external_id (or id), text, optional metadata (a JSON object),
    optional annotator, confidence, guideline_version, duration_ms, skipped,
    skip_reason, created_at, and one column per label holding 1, 0 or an empty
    cell (unobserved). A label whose name is one of the fixed columns is
    given as ``label:<name>``.
    """
    # Texts may be long; the limit on text length is enforced with a clear
    # error below instead of the csv module's "field larger than field limit".
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    text_stream = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from _read_csv_rows(csv.reader(text_stream), errors)
    finally:
        # Hand the byte stream back to its owner instead of closing it with the wrapper.
        text_stream.detach()


def _read_csv_rows(reader: Any, errors: _Errors) -> Iterator[ParsedItem]:
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as exc:
        errors.add(1, "", f"cannot read the header: {exc}")
        return
    columns = [name.strip() for name in header]
    if "text" not in columns or not ({"external_id", "id"} & set(columns)):
        errors.add(1, "", "the header must name an external_id (or id) column and a text column")
        return
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        # Two cells for one field: which one counts would be a guess.
        errors.add(1, "", f"the header names these columns more than once: {', '.join(repeated)}")
        return
    label_columns = {
        index: name.removeprefix("label:")
        for index, name in enumerate(columns)
        if name not in CSV_RESERVED or name.startswith("label:")
    }
    index_of = {name: index for index, name in enumerate(columns) if name in CSV_RESERVED}
    id_column = index_of.get("external_id", index_of.get("id"))
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            errors.add(start, "", f"cannot read the row: {exc}; reading stopped here")
            return
        line = start
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            errors.add(line, "", f"has {len(cells)} cells; the header has {len(columns)}")
            continue
        # Decoded as strict UTF-8, a cell can hold no surrogate; only a NUL is left to find.
        if (bad := next((i for i, value in enumerate(cells) if "\x00" in value), None)) is not None:
            errors.add(line, columns[bad], UNSTORABLE)
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[index_of[name]] if name in index_of else ""

        external_id = _as_external_id(cells[id_column], line, errors)
        text = _as_text(cell("text"), line, errors)
        metadata = _as_metadata(cell("metadata"), line, errors)
        annotation = _csv_annotation(cells, cell, label_columns, line, errors)
        if external_id is None or text is None or metadata is None or annotation is False:
            continue
        yield ParsedItem(line, external_id, text, metadata, [annotation] if annotation else [])


def _csv_annotation(
    cells: list[str], cell: Callable[[str], str], label_columns: dict[int, str], line: int, errors: _Errors
) -> ParsedAnnotation | bool | None:
    """The row's annotation, None when the row has none, or False when it has errors."""
    ok = True
    answers: dict[str, tuple[int, float | None]] = {}
    for index, name in label_columns.items():
        value = _as_answer(cells[index])
        if value == "bad":
            errors.add(line, name, "must be 1, 0 or empty")
            ok = False
        elif value is not None:
            answers[name] = (int(value), None)
    annotator = cell("annotator").strip()
    skipped_word = cell("skipped").strip().lower()
    skipped = skipped_word in TRUE_WORDS
    if skipped_word and not skipped and skipped_word not in FALSE_WORDS:
        errors.add(line, "skipped", "must be 1, 0, true, false or empty")
        ok = False
    if not annotator:
        if answers or skipped:
            errors.add(line, "annotator", "is required when the row has answers or is skipped")
            return False
        return None if ok else False
    if skipped and answers:
        errors.add(line, "skipped", "a skipped annotation cannot have answers")
        ok = False
    confidence = None
    if cell("confidence").strip():
        confidence = _as_confidence(cell("confidence").strip(), line, "confidence", errors)
        ok = ok and confidence is not None
    version = None
    if cell("guideline_version").strip():
        version = _as_int(cell("guideline_version").strip(), line, "guideline_version", errors, minimum=1)
        ok = ok and version is not None
    duration = 0
    if cell("duration_ms").strip():
        duration = _as_int(cell("duration_ms").strip(), line, "duration_ms", errors)
        ok = ok and duration is not None
    created_at = None
    if cell("created_at").strip():
        created_at = _as_datetime(cell("created_at").strip(), line, "created_at", errors)
        ok = ok and created_at is not None
    skip_reason = cell("skip_reason").strip()
    if len(skip_reason) > 200:
        errors.add(line, "skip_reason", "must be a string of at most 200 characters")
        ok = False
    if not ok:
        return False
    return ParsedAnnotation(
        annotator=AnnotatorRef(username=annotator),
        answers={name: (value, confidence) for name, (value, _) in answers.items()},
        guideline_version=version,
        duration_ms=duration or 0,
        skipped=skipped,
        skip_reason=skip_reason,
        created_at=created_at,
    )


def read_labelstudio(stream: IO[bytes], errors: _Errors, *, unticked: str) -> Iterator[ParsedItem]:
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


def _labelstudio_task(task: Any, line: int, errors: _Errors, *, unticked: str) -> ParsedItem | None:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        errors.add(line, "data", "each task must be an object with a data object")
        return None
    if (where := unstorable_in(task)) is not None:
        errors.add(line, where, UNSTORABLE)
        return None
    data = task["data"]
    external_id = _as_external_id(data.get("external_id", data.get("id", task.get("id"))), line, errors)
    text = _as_text(data.get("text"), line, errors)
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
    raw: Any, line: int, where: str, errors: _Errors, *, unticked: str
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
        created_at = _as_datetime(raw["created_at"], line, f"{where}.created_at", errors)
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


# ---------------------------------------------------------------------------
# Validation against the project
# ---------------------------------------------------------------------------


@dataclass
class _Person:
    user_id: int | None
    username: str
    email: str = ""
    needs_membership: bool = False


class _Checker:
    """Checks parsed rows against the project and remembers what the writer needs."""

    def __init__(self, project: Project, options: ImportOptions, errors: _Errors) -> None:
        self.project = project
        self.options = options
        self.errors = errors
        self.labels = {
            label.name: label for label in project.labels.select_related("merged_into", "introduced_in", "retired_in")
        }
        # Per label name: the name it was merged into (or None) and the
        # guideline versions that introduced and retired it (or None), read
        # once instead of through the related objects for each of hundreds of
        # thousands of answers.
        self.label_rules = {
            name: (
                label.merged_into.name if label.merged_into_id is not None else None,
                label.introduced_in.number if label.introduced_in is not None else None,
                label.retired_in.number if label.retired_in is not None else None,
            )
            for name, label in self.labels.items()
        }
        self.versions = dict(
            GuidelineVersion.objects.filter(project=project, published_at__isnull=False).values_list("number", "pk")
        )
        current = project.current_guideline()
        self.current_version = current.number if current else None
        self.existing = dict(Item.objects.filter(project=project).values_list("external_id", "pk"))
        self.seen: dict[str, int] = {}
        self.people: dict[AnnotatorRef, _Person | None] = {}
        self.member_ids = set(project.memberships.values_list("user_id", flat=True))

    def check(self, item: ParsedItem) -> bool:
        ok = True
        line = item.line
        if item.external_id in self.seen:
            self.errors.add(
                line,
                "external_id",
                f"duplicate external id '{item.external_id}' (first on line {self.seen[item.external_id]})",
            )
            ok = False
        else:
            self.seen[item.external_id] = line
        if item.external_id in self.existing and not self.options.update:
            self.errors.add(
                line,
                "external_id",
                f"external id '{item.external_id}' already exists; import with update=true to update it",
            )
            ok = False
        annotators: set[str] = set()
        for index, annotation in enumerate(item.annotations):
            where = f"annotations[{index}]"
            person = self._person(annotation.annotator, line, f"{where}.annotator")
            if person is None:
                ok = False
            else:
                annotation.user_key = person.username
                if person.username in annotators:
                    self.errors.add(
                        line, f"{where}.annotator", f"{annotation.annotator.describe()} annotates this item twice"
                    )
                    ok = False
                annotators.add(person.username)
            ok = self._check_version(annotation, line, where) and ok
            ok = self._check_labels(annotation, line, where) and ok
        return ok

    def _check_version(self, annotation: ParsedAnnotation, line: int, where: str) -> bool:
        if annotation.guideline_version is None:
            annotation.guideline_version = self.current_version
        if annotation.guideline_version is None:
            return True
        version_id = self.versions.get(annotation.guideline_version)
        if version_id is None:
            self.errors.add(
                line,
                f"{where}.guideline_version",
                f"version {annotation.guideline_version} is not a published guideline",
            )
            return False
        annotation.version_id = version_id
        return True

    def _check_labels(self, annotation: ParsedAnnotation, line: int, where: str) -> bool:
        ok = True
        version = annotation.guideline_version
        for name in annotation.answers:
            rule = self.label_rules.get(name)
            if rule is not None:
                merged_into, introduced, retired = rule
                asked = (introduced is None or version is None or introduced <= version) and (
                    retired is None or (version is not None and version < retired)
                )
                if merged_into is None and asked:
                    continue
            spot = f"{where}.labels.{name}"
            if rule is None:
                self.errors.add(line, spot, f"unknown label '{name}'")
            elif merged_into is not None:
                self.errors.add(line, spot, f"label '{name}' was merged into '{merged_into}'; use that")
            elif retired is not None and (version is None or version >= retired):
                self.errors.add(
                    line,
                    spot,
                    f"label '{name}' was retired in guideline version {retired}; "
                    "only answers given under earlier versions can be imported",
                )
            else:
                self.errors.add(
                    line,
                    spot,
                    f"label '{name}' was introduced in guideline version {introduced}, "
                    f"after this annotation's version {version}",
                )
            ok = False
        return ok

    def _person(self, ref: AnnotatorRef, line: int, where: str) -> _Person | None:
        if ref not in self.people:
            self.people[ref] = self._find_person(ref)
        person = self.people[ref]
        if person is None:
            self.errors.add(
                line, where, f"unknown annotator: {ref.describe()} (import with create_annotators=true to create them)"
            )
        elif person.needs_membership and not self.options.create_annotators:
            self.errors.add(line, where, f"{ref.describe()} is not a member of this project")
            return None
        return person

    def _find_person(self, ref: AnnotatorRef) -> _Person | None:
        users = get_user_model().objects
        user = None
        if ref.labelstudio_id:
            mapped = self.options.annotator_map.get(ref.labelstudio_id)
            if mapped:
                user = users.filter(username=mapped).first()
                ref = AnnotatorRef(username=mapped)
        elif ref.email:
            matches = list(users.filter(email__iexact=ref.email)[:2])
            user = matches[0] if len(matches) == 1 else users.filter(username=ref.email).first()
        else:
            user = users.filter(username=ref.username).first()
        if user is not None:
            member = user.pk in self.member_ids or user.is_superuser
            return _Person(user_id=user.pk, username=user.get_username(), needs_membership=not member)
        if not self.options.create_annotators:
            return None
        username = ref.username or ref.email or f"labelstudio-{ref.labelstudio_id}"
        return _Person(user_id=None, username=username[:150], email=ref.email, needs_membership=True)


# ---------------------------------------------------------------------------
# The whole import
# ---------------------------------------------------------------------------


def read_and_check(
    *, project: Project, stream: IO[bytes], options: ImportOptions, progress: Callable[[int], None] | None = None
) -> tuple[list[ParsedItem], _Checker]:
    """Parse and validate the whole file; raise ImportFailed with the errors, or return the rows."""
    errors = _Errors()
    checker = _Checker(project, options, errors)
    rows: Iterable[ParsedItem]
    if options.format == "jsonl":
        rows = read_jsonl(stream, errors)
    elif options.format == "csv":
        rows = read_csv(stream, errors)
    else:
        rows = read_labelstudio(stream, errors, unticked=options.unticked)
    items: list[ParsedItem] = []
    for count, item in enumerate(rows, start=1):
        if checker.check(item):
            items.append(item)
        if progress is not None and count % WRITE_BATCH == 0:
            progress(count)
    if errors.total:
        raise ImportFailed(sorted(errors.kept, key=lambda error: error.line), errors.total)
    if not items:
        raise ImportFailed([RowError(line=0, field="", message="the file holds no items")], 1)
    return items, checker


def import_file(
    *,
    project: Project,
    stream: IO[bytes],
    options: ImportOptions,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate the whole file, then write it in one transaction; raise ImportFailed and write nothing on errors."""
    items, checker = read_and_check(project=project, stream=stream, options=options, progress=progress)
    return write_checked(project=project, items=items, checker=checker, options=options, actor=actor)


def write_checked(
    *, project: Project, items: list[ParsedItem], checker: _Checker, options: ImportOptions, actor: Any
) -> ImportResult:
    """Write the rows ``read_and_check`` returned, in one transaction, then refresh the planner's statistics."""
    result = _write(project=project, items=items, checker=checker, options=options, actor=actor)
    _refresh_statistics(result)
    return result


def _refresh_statistics(result: ImportResult) -> None:
    """Refresh the planner's statistics of the tables a large import wrote (``annotate.db.analyze``).

    Right after a bulk load the planner does not know the new rows and reads
    each export chunk's judgments with a sequential scan (docs/benchmarks.md).
    """
    written = result.items_created + result.items_updated + result.judgments_created
    if written < ANALYZE_AFTER_ROWS:
        return
    analyze([Item, Annotation, Judgment, QueueEntry])


@transaction.atomic
def _write(
    *, project: Project, items: list[ParsedItem], checker: _Checker, options: ImportOptions, actor: Any
) -> ImportResult:
    result = ImportResult()
    user_ids = _ensure_people(project=project, checker=checker, result=result)

    new_rows = [item for item in items if item.external_id not in checker.existing]
    updated_rows = [item for item in items if item.external_id in checker.existing]
    now = timezone.now()
    first_new_item = _last_pk(Item)
    insert_rows(
        Item,
        ["project_id", "external_id", "text", "metadata", "created_at"],
        ((project.pk, row.external_id, row.text, json.dumps(row.metadata), now) for row in new_rows),
    )
    item_ids = dict(
        Item.objects.filter(project=project, pk__gt=first_new_item).values_list("external_id", "pk").order_by()
    )
    result.items_created = len(new_rows)
    for batch in _batches(updated_rows, WRITE_BATCH):
        objs = [
            Item(pk=checker.existing[row.external_id], text=row.text, metadata=row.metadata, project=project)
            for row in batch
        ]
        Item.objects.bulk_update(objs, ["text", "metadata"])
        item_ids.update((row.external_id, checker.existing[row.external_id]) for row in batch)
    result.items_updated = len(updated_rows)

    # Items without a queue entry (the new ones, and any left without one)
    # get a cold-start place below. Ordering them (TF-IDF and k-means) is
    # seconds of Python; it runs in a thread while the database stores the
    # annotations and judgments and checks their foreign keys, which is
    # mostly the server's work, so the two overlap instead of adding up.
    unqueued = list(
        Item.objects.filter(project=project, queue_entry__isnull=True).order_by("pk").values_list("pk", "text")
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        ordering = pool.submit(diverse_order, [text for _, text in unqueued], seed=project.pk * 1000)
        _write_annotations(
            project=project,
            items=items,
            updated_rows=updated_rows,
            item_ids=item_ids,
            user_ids=user_ids,
            checker=checker,
            now=now,
            actor=actor,
            result=result,
        )
        # The deferred foreign-key checks of every row written so far (over a
        # million for a large file) would run at commit, after the thread is
        # done; running them now lets them overlap it.
        check_deferred_constraints()
        order = ordering.result()
    insert_cold_start_entries(project=project, item_ids=[pk for pk, _ in unqueued], order=order)
    # Items that had a queue entry already (update=true) count their annotations anew.
    newly_queued = {item_id for item_id, _ in unqueued}
    _recount_completed(sorted({item_ids[row.external_id] for row in updated_rows if row.annotations} - newly_queued))
    record_audit(
        action="items.import",
        actor=actor,
        project=project,
        after={"options": options.as_dict(), **result.as_dict()},
    )
    return result


def _write_annotations(
    *,
    project: Project,
    items: list[ParsedItem],
    updated_rows: list[ParsedItem],
    item_ids: dict[str, int],
    user_ids: dict[str, int],
    checker: _Checker,
    now: datetime,
    actor: Any,
    result: ImportResult,
) -> None:
    """Replace the annotations that update=true replaces, then insert the file's annotations and judgments."""
    _replace_existing_annotations(
        project=project, rows=updated_rows, item_ids=item_ids, user_ids=user_ids, actor=actor, result=result
    )
    default_confidence = project.default_confidence
    pending = [(row, annotation) for row in items for annotation in row.annotations]
    first_new_annotation = _last_pk(Annotation)
    insert_rows(
        Annotation,
        [
            "item_id",
            "annotator_id",
            "guideline_version_id",
            "created_at",
            "updated_at",
            "duration_ms",
            "skipped",
            "skip_reason",
        ],
        (
            (
                item_ids[row.external_id],
                user_ids[annotation.user_key],
                annotation.version_id,
                annotation.created_at or now,
                annotation.created_at or now,
                annotation.duration_ms,
                annotation.skipped,
                annotation.skip_reason,
            )
            for row, annotation in pending
        ),
    )
    annotation_ids = {
        (item_id, annotator_id): pk
        for item_id, annotator_id, pk in Annotation.objects.filter(item__project=project, pk__gt=first_new_annotation)
        .order_by()
        .values_list("item_id", "annotator_id", "pk")
    }
    active_labels = [label for label in checker.labels.values() if label.is_active]
    label_ids = {name: label.pk for name, label in checker.labels.items()}
    judgments = [
        (
            annotation_ids[(item_ids[row.external_id], user_ids[annotation.user_key])],
            label_ids[name],
            value,
            default_confidence if confidence is None else confidence,
        )
        for row, annotation in pending
        for name, (value, confidence) in _answers_with_unticked(annotation, active_labels).items()
    ]
    insert_rows(Judgment, ["annotation_id", "label_id", "value", "confidence"], judgments)
    result.annotations_created = len(pending)
    result.judgments_created = len(judgments)


def _last_pk(model: type[models.Model]) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _answers_with_unticked(
    annotation: ParsedAnnotation, active_labels: list[Label]
) -> dict[str, tuple[int, float | None]]:
    """The annotation's answers; for a Label Studio import with unticked=negative, every other label says no."""
    if not annotation.untick_negative:
        return annotation.answers
    answers = dict(annotation.answers)
    for label in active_labels:
        introduced = label.introduced_in.number if label.introduced_in is not None else None
        if (
            introduced is not None
            and annotation.guideline_version is not None
            and introduced > annotation.guideline_version
        ):
            # A label that did not exist under this guideline version was not
            # offered, so leaving it unticked says nothing about it.
            continue
        answers.setdefault(label.name, (0, None))
    return answers


def _ensure_people(*, project: Project, checker: _Checker, result: ImportResult) -> dict[str, int]:
    """Create the annotators and memberships the import needs; return username -> user id."""
    user_model = get_user_model()
    ids: dict[str, int] = {}
    for person in checker.people.values():
        if person is None:
            continue
        if person.user_id is None:
            user = user_model(username=person.username, email=person.email)
            user.set_unusable_password()
            user.save()
            person.user_id = user.pk
            result.users_created += 1
        if person.needs_membership:
            Membership.objects.get_or_create(project=project, user_id=person.user_id, defaults={"role": Role.ANNOTATOR})
        ids[person.username] = person.user_id
    return ids


def _replace_existing_annotations(
    *,
    project: Project,
    rows: list[ParsedItem],
    item_ids: dict[str, int],
    user_ids: dict[str, int],
    actor: Any,
    result: ImportResult,
) -> None:
    """With update=true, the file's annotation by an annotator replaces theirs on that item; audit the earlier state."""
    wanted = {(item_ids[row.external_id], user_ids[a.user_key]) for row in rows for a in row.annotations}
    if not wanted:
        return
    for batch in _batches(sorted({item_id for item_id, _ in wanted}), 1000):
        old = [
            annotation
            for annotation in Annotation.objects.filter(item_id__in=batch).prefetch_related("judgments__label")
            if (annotation.item_id, annotation.annotator_id) in wanted
        ]
        events = [
            AuditEvent(
                project=project,
                actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
                action="annotation.replace",
                object_type=Annotation._meta.label,
                object_id=str(annotation.pk),
                before={
                    "item_id": annotation.item_id,
                    "annotator_id": annotation.annotator_id,
                    "skipped": annotation.skipped,
                    "answers": {j.label.name: [j.value, j.confidence] for j in annotation.judgments.all()},
                },
                after={"source": "import"},
            )
            for annotation in old
        ]
        # Audit events are append-only; bulk_create inserts and never updates.
        AuditEvent.objects.bulk_create(events)
        Annotation.objects.filter(pk__in=[annotation.pk for annotation in old]).delete()
        result.annotations_replaced += len(old)


def _recount_completed(item_ids: list[int]) -> None:
    """Set QueueEntry.completed to the number of non-skipped annotations, like a submit does.

    The entries are updated per distinct count (almost always 1 or 2), which
    is a plain indexed UPDATE instead of a correlated subquery per row.
    """
    counted = completed_counts(item_ids)
    by_count: dict[int, list[int]] = defaultdict(list)
    for item_id in item_ids:
        by_count[counted.get(item_id, 0)].append(item_id)
    for count, ids in by_count.items():
        for batch in _batches(ids, 1000):
            QueueEntry.objects.filter(item_id__in=batch).update(completed=count)


# ---------------------------------------------------------------------------
# Background imports
# ---------------------------------------------------------------------------


def start_import_job(
    *, project: Project, stream: IO[bytes], options: ImportOptions, actor: Any, total: int
) -> ImportJob:
    """Keep the file under the data directory and queue the import; the task starts once this transaction commits."""
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}.{options.format}"
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out, length=1 << 20)
    job = ImportJob.objects.create(
        project=project,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        format=options.format,
        options=options.as_dict(),
        path=str(target),
        total=total,
    )
    jobs.send_on_commit(jobs.IMPORT_ITEMS, job.pk)
    return job


def import_or_queue(
    *, project: Project, stream: IO[bytes], size: int, options: ImportOptions, actor: Any
) -> ImportResult | ImportJob:
    """Import a small file now (raising ImportFailed on errors), or queue a big one as an ImportJob.

    "Big" is more than TAGWISE_IMPORT_BACKGROUND_BYTES bytes or more than
    TAGWISE_IMPORT_BACKGROUND_ROWS lines, so a web request never holds a
    worker process for long.
    """
    rows = count_rows(stream, file_format=options.format)
    max_bytes, max_rows = background_thresholds()
    if size > max_bytes or rows > max_rows:
        return start_import_job(project=project, stream=stream, options=options, actor=actor, total=rows)
    return import_file(project=project, stream=stream, options=options, actor=actor)


def run_import_job(*, job_id: int) -> None:
    """Run a queued import job once; a second delivery of the same job finds it claimed and does nothing.

    Progress counts the rows checked so far; the write itself is one
    transaction, invisible to other connections until it commits, so while it
    runs the job shows every row processed and status "running".
    """
    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(status=ImportJob.Status.RUNNING):
        return
    job = ImportJob.objects.select_related("project", "created_by").get(pk=job_id)
    known = set(ImportOptions.__dataclass_fields__)
    options = ImportOptions(**{key: value for key, value in job.options.items() if key in known})

    def progress(count: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed=count)

    try:
        with open(job.path, "rb") as stream:
            result = import_file(
                project=job.project, stream=stream, options=options, actor=job.created_by, progress=progress
            )
    except ImportFailed as failure:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            errors=[asdict(error) for error in failure.errors],
            options={**job.options, "error_count": failure.total},
            finished_at=timezone.now(),
        )
    except Exception as exc:
        logger.exception("Import job %s stopped", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            errors=[asdict(RowError(line=0, field="", message=f"The import stopped: {exc}"))],
            options={**job.options, "error_count": 1},
            finished_at=timezone.now(),
        )
    else:
        done = result.items_created + result.items_updated
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.DONE,
            processed=done,
            total=max(job.total, done),
            options={**job.options, "result": result.as_dict()},
            finished_at=timezone.now(),
        )
    finally:
        Path(job.path).unlink(missing_ok=True)


def count_rows(stream: IO[bytes], *, file_format: str) -> int:
    """A cheap row count for progress and for choosing the background path (lines, less a CSV header)."""
    if file_format == "labelstudio":
        return 0
    count = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    stream.seek(0)
    return max(count - (1 if file_format == "csv" else 0), 0)


__all__ = [
    "FORMATS",
    "ImportFailed",
    "ImportOptions",
    "ImportResult",
    "RowError",
    "count_rows",
    "import_file",
    "read_and_check",
    "write_checked",
]
