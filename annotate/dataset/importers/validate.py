"""The one set of rules for an import's fields, which every format's reader applies.

A reader knows its format's syntax (JSON lines, CSV cells, Label Studio's
tasks) and hands each value to the functions here; an annotation goes through
``parse_annotation`` whole, as a mapping with the JSONL field names. A rule
therefore reads the same in every format, and only the names of the fields in
the error messages differ (``Spelling``). The rules are those of docs/api.md.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, Literal

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from annotate.dataset.importers.base import AnnotatorRef, Errors, ParsedAnnotation, Spelling, max_text_chars
from annotate.models import Annotation
from annotate.text import is_whole_number

UNSTORABLE = "contains a NUL character or an unpaired surrogate, which cannot be stored"
# The largest value of the integer columns (PositiveIntegerField, 32 bits on PostgreSQL).
MAX_STORED_INT = 2**31 - 1
# "1.0" and "0.0" are how pandas (and the CSV export) write a column that has empty cells.
TRUE_WORDS = {"1", "1.0", "true", "yes", "y"}
FALSE_WORDS = {"0", "0.0", "false", "no", "n"}
# The longest skip reason the annotations table stores; a longer one is an
# error, never cut short, so that an import stores what the file says.
MAX_SKIP_REASON = Annotation.SKIP_REASON_MAX_CHARS


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


def json_error(exc: ValueError, *, with_line: bool = False) -> str:
    """A JSON parse error in full: json's own ``msg`` stops short ("Invalid control character at").

    The message names the column (and the line, for a whole-file format) and,
    for a raw control character such as a NUL byte, which one it is: a binary
    file or a text with a NUL byte is refused with words a person can act on.
    """
    if not isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc}"
    where = f"line {exc.lineno}, column {exc.colno}" if with_line else f"column {exc.colno}"
    if exc.msg.startswith("Invalid control character"):
        char = exc.doc[exc.pos] if exc.pos < len(exc.doc) else ""
        if char == "\x00":
            return (
                f"invalid JSON: a NUL byte (U+0000) inside a string at {where}; a NUL cannot be stored, "
                "so remove it (a file with NUL bytes may be a binary file, or UTF-16 rather than UTF-8)"
            )
        code = f"U+{ord(char):04X}" if char else "a control character"
        return (
            f"invalid JSON: a raw control character ({code}) inside a string at {where}; "
            "write it as an escape such as \\n or \\t"
        )
    return f"invalid JSON: {exc.msg} at {where}"


def may_hold_unstorable(raw: bytes) -> bool:
    """True when a JSON line has an escape that could be a NUL (\\u0000) or a surrogate (\\ud800-\\udfff)."""
    return b"\\u0000" in raw or b"\\ud" in raw or b"\\uD" in raw


def as_external_id(value: Any, line: int, errors: Errors) -> str | None:
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


def as_text(value: Any, line: int, errors: Errors, limit: int | None = None, *, field_name: str = "text") -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.add(line, field_name, "is required and must be a non-empty string")
        return None
    limit = max_text_chars() if limit is None else limit
    if len(value) > limit:
        errors.add(line, field_name, f"is {len(value):,} characters long; the limit is {limit:,}")
        return None
    return value


def as_metadata(value: Any, line: int, errors: Errors) -> dict[str, Any] | None:
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


def as_confidence(value: Any, line: int, field_name: str, errors: Errors) -> float | None:
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


def as_int(value: Any, line: int, field_name: str, errors: Errors, *, minimum: int = 0) -> int | None:
    if isinstance(value, str) and is_whole_number(value.strip().removeprefix("-")):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_STORED_INT:
        errors.add(line, field_name, f"must be an integer from {minimum} to {MAX_STORED_INT}")
        return None
    return value


def as_datetime(value: Any, line: int, field_name: str, errors: Errors) -> datetime | None:
    """An ISO 8601 date and time, or a date (its midnight); without a UTC offset, in the site's TIME_ZONE.

    Exports of other tools often leave the offset out; reading such a time in
    the configured time zone (docs/api.md) is what their users expect.
    """
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        day = parse_date(value) if isinstance(value, str) and parsed is None else None
    except ValueError:
        parsed = day = None  # well formed but impossible, such as month 13
    if day is not None:
        parsed = datetime.combine(day, time())
    if parsed is None:
        errors.add(line, field_name, "must be an ISO 8601 date and time")
        return None
    parsed = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    # A day of slack for clocks and time zones; an answer from next year is a typo.
    if parsed > timezone.now() + timedelta(days=1):
        errors.add(line, field_name, "is in the future")
        return None
    return parsed


def as_answer(value: Any) -> int | str | None:
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


def as_flag(value: Any, line: int, field_name: str, errors: Errors) -> bool | None:
    """True or False from a JSON boolean, or a 1, 0 or yes/no word read like an answer; None after an error."""
    if value is True or value is False:
        return value
    answer = as_answer(value)
    if answer == 1 or answer == 0:
        return bool(answer)
    errors.add(line, field_name, "must be true or false (or 1 or 0)")
    return None


def as_duration(
    value: Any, line: int, field_name: str, errors: Errors, *, unit: Literal["ms", "s"] = "ms"
) -> int | None:
    """Milliseconds from a whole number of milliseconds, or from any number of seconds, that fit the column.

    Label Studio measures in seconds with a fraction; the stored figure is
    milliseconds either way, from 0 to the largest value of a 32-bit column.
    """
    if unit == "ms":
        return as_int(value, line, field_name, errors)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_STORED_INT / 1000  # also refuses NaN
    ):
        errors.add(line, field_name, f"must be a number of seconds from 0 to {MAX_STORED_INT // 1000}")
        return None
    return round(value * 1000)


def as_skip_reason(value: Any, line: int, field_name: str, errors: Errors) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_SKIP_REASON:
        errors.add(line, field_name, f"must be a string of at most {MAX_SKIP_REASON} characters")
        return None
    return value


JSON_SPELLING = Spelling()


def parse_annotation(
    raw: Mapping[str, Any], *, line: int, where: str, errors: Errors, spelling: Spelling = JSON_SPELLING
) -> ParsedAnnotation | None:
    """One annotation checked by the rules every format shares; None once its errors are reported.

    ``raw`` has the JSONL field names (docs/api.md): ``annotator`` (a username,
    or an ``AnnotatorRef`` a reader built), ``labels`` (label name to 1, 0 or
    null), ``confidence`` (one number, or an object with one per answered
    label), ``guideline_version``, ``duration_ms`` (or ``duration_seconds``),
    ``skipped``, ``skip_reason``, ``created_at`` and (Label Studio) ``updated_at``. An absent field is not
    given, and so is a null confidence, guideline version, duration or date.
    """
    ok = True
    annotator = raw.get("annotator")
    who: AnnotatorRef | None = None
    if isinstance(annotator, AnnotatorRef):
        who = annotator
    elif isinstance(annotator, str) and annotator.strip():
        who = AnnotatorRef(username=annotator.strip())
    else:
        errors.add(line, spelling.name(where, "annotator"), f"is required: {spelling.annotator}")
        ok = False
    skipped = raw.get("skipped", False)
    if skipped is not True and skipped is not False:
        skipped = as_flag(skipped, line, spelling.name(where, "skipped"), errors)
        if skipped is None:
            skipped, ok = False, False
    labels = raw.get("labels", {})
    if not isinstance(labels, dict):
        errors.add(line, spelling.name(where, "labels"), f"must be an object of label name to 1, 0 or {spelling.blank}")
        labels, ok = {}, False
    confidence = raw.get("confidence")
    default_confidence: float | None = None
    per_label: dict[str, Any] = {}
    if isinstance(confidence, dict):
        per_label = confidence
    elif confidence is not None:
        default_confidence = as_confidence(confidence, line, spelling.name(where, "confidence"), errors)
        ok = ok and default_confidence is not None
    answers: dict[str, tuple[int, float | None]] = {}
    for name, cell in labels.items():
        value = as_answer(cell)
        if value == "bad":
            errors.add(line, spelling.label(where, name), f"must be 1, 0 or {spelling.blank}")
            ok = False
            continue
        if value is None:
            continue
        label_confidence = default_confidence
        if name in per_label:
            label_confidence = as_confidence(per_label[name], line, spelling.name(where, f"confidence.{name}"), errors)
            ok = ok and label_confidence is not None
        answers[str(name)] = (int(value), label_confidence)
    # A confidence belongs to an answer; one for a label left out, null or
    # empty would be dropped without a word.
    for name in per_label:
        if name not in answers and (name not in labels or as_answer(labels[name]) is None):
            errors.add(
                line,
                spelling.name(where, f"confidence.{name}"),
                "gives a confidence for a label without an answer",
            )
            ok = False
    if skipped and answers:
        errors.add(line, spelling.name(where, "skipped"), "a skipped annotation cannot have answers")
        ok = False
    version = raw.get("guideline_version")
    if version is not None:
        version = as_int(version, line, spelling.name(where, "guideline_version"), errors, minimum=1)
        ok = ok and version is not None
    duration: int | None = 0
    if raw.get("duration_ms") is not None:
        duration = as_duration(raw["duration_ms"], line, spelling.name(where, "duration_ms"), errors)
    elif raw.get("duration_seconds") is not None:
        duration = as_duration(
            raw["duration_seconds"], line, spelling.name(where, "duration_seconds"), errors, unit="s"
        )
    created_at = None
    if raw.get("created_at") is not None:
        created_at = as_datetime(raw["created_at"], line, spelling.name(where, "created_at"), errors)
        ok = ok and created_at is not None
    updated_at = None
    if raw.get("updated_at") is not None:
        updated_at = as_datetime(raw["updated_at"], line, spelling.name(where, "updated_at"), errors)
        ok = ok and updated_at is not None
    skip_reason: str | None = ""
    if "skip_reason" in raw:
        skip_reason = as_skip_reason(raw["skip_reason"], line, spelling.name(where, "skip_reason"), errors)
    if not ok or who is None or duration is None or skip_reason is None:
        return None
    return ParsedAnnotation(
        annotator=who,
        answers=answers,
        guideline_version=version,
        duration_ms=duration,
        skipped=skipped,
        skip_reason=skip_reason,
        created_at=created_at,
        updated_at=updated_at,
        where=where,
        spelling=spelling,
    )
