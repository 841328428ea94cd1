"""The shapes an import passes along: its options, its errors, the parsed rows and the result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

FORMATS = ("jsonl", "csv", "labelstudio")
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


class Errors:
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
