"""The shapes an import passes along: its options, its errors, the parsed rows and the result."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from annotate.text import visible

FORMATS = ("jsonl", "csv", "labelstudio", "doccano", "prodigy")
# The format a file name's extension stands for, for the import page and the API.
FORMAT_BY_EXTENSION = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "labelstudio"}
UNTICKED_CHOICES = ("unobserved", "negative")
# The response lists this many errors; the total count is reported too.
MAX_ERRORS = 100
WRITE_BATCH = 2000


def format_for_filename(name: str) -> str | None:
    """The import format a file name's extension names, or None when it names none."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return FORMAT_BY_EXTENSION.get(suffix)


def max_text_chars() -> int:
    """The longest item text an import accepts, in characters."""
    return int(getattr(settings, "TAGWISE_IMPORT_MAX_TEXT_CHARS", 50_000))


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
    # Label Studio users mapped to usernames: the numeric ``completed_by`` id,
    # or the email of a ``completed_by`` object, to an existing user.
    annotator_map: dict[str, str] = field(default_factory=dict)
    # Label Studio: the ``data`` key that holds the text; empty means ``text``,
    # or the one key that holds a string in every task.
    text_key: str = ""
    # Label Studio: the ``from_name`` of the choices control whose ticks are
    # the labels; empty means the file's only choices control.
    choices_control: str = ""
    # doccano (and Prodigy lines without an annotator id): the username the
    # answers are credited to, since those files do not say who answered.
    annotator: str = ""

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
    # Where the error is in the file's own terms, such as "line 4, column 'shipping'"
    # in a CSV file or "task 3 (id 101), annotations[0] (id 12).result[1]" in a
    # Label Studio file (docs/api.md).
    location: str = ""

    def where(self) -> str:
        return self.location or f"line {self.line} {self.field}".strip()


class ImportFailed(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[RowError], total: int) -> None:
        shown = "; ".join(f"{e.where()}: {e.message}" for e in errors[:3])
        super().__init__(f"{total} error(s) in the file; nothing was imported. {shown}")
        self.errors = errors
        self.total = total


class Errors:
    """Collects errors, keeping the first MAX_ERRORS and counting the rest."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.total = 0
        # The reader's way of naming a (line, field) in its format's terms.
        self.locate: Callable[[int, str], str] = locate_in_lines

    def add(self, line: int, field_name: str, message: str) -> None:
        self.total += 1
        if len(self.kept) < MAX_ERRORS:
            # Messages and field paths repeat names from the file: a U+202E in one
            # would reverse the rest of the message where it is shown.
            field_name, message = visible(field_name), visible(message)
            location = self.locate(line, field_name) if line else ""
            self.kept.append(RowError(line=line, field=field_name, message=message, location=location))


def locate_in_lines(line: int, field_name: str) -> str:
    """A JSON lines location: the line, and the field's path in that line's object."""
    return f"line {line}, {field_name}" if field_name else f"line {line}"


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
    updated_at: datetime | None = None
    # Label Studio: fill the labels nobody ticked with "no" (set by the reader).
    untick_negative: bool = False
    # Where the annotation is in its row ("annotations[0]", or "" for a CSV
    # row), and how its format names fields there, for the checker's errors.
    where: str = ""
    spelling: Spelling | None = None
    # Prodigy: the line of this answer, when it is not the item's first line.
    line: int = 0
    # Label Studio: the result that ticked each label, such as "annotations[0].result[1]".
    label_spots: dict[str, str] | None = None
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
    # What the file held beside the imported answers, counted instead of
    # dropped without a word: for Label Studio, the predictions and drafts
    # (not imported), the results of other controls (ignored), the cancelled
    # annotations (imported as skips) and those marked ground truth (imported
    # as ordinary annotations). docs/api.md lists the keys.
    notes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The counts a reader keeps for ``ImportResult.notes``.
Notes = Counter[str]


@dataclass(frozen=True)
class Spelling:
    """How one format names an annotation's fields in its errors.

    ``where`` (given per annotation) places the annotation in its row, such
    as "annotations[0]" in the JSON formats, or nothing for a CSV row.
    """

    # Before a label's name: "labels." in JSON; nothing in CSV, whose label columns carry the name.
    labels: str = "labels."
    # How the format writes "not answered".
    blank: str = "null"
    # What the format expects for the annotator, for the error when there is none.
    annotator: str = "the annotator's username"
    # The format's own name of a field, such as Label Studio's completed_by for the annotator.
    renamed: Mapping[str, str] = field(default_factory=dict)

    def name(self, where: str, key: str) -> str:
        key = self.renamed.get(key, key)
        return f"{where}.{key}" if where else key

    def label(self, where: str, label: str) -> str:
        return f"{where}.{self.labels}{label}" if where else f"{self.labels}{label}"
