"""The validation of an import's fields, shared by every format's reader."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotate.dataset.importers.base import Errors, max_text_chars

UNSTORABLE = "contains a NUL character or an unpaired surrogate, which cannot be stored"
# The largest value of the integer columns (PositiveIntegerField, 32 bits on PostgreSQL).
MAX_STORED_INT = 2**31 - 1
TRUE_WORDS = {"1", "true", "yes", "y"}
FALSE_WORDS = {"0", "false", "no", "n"}


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


def as_text(value: Any, line: int, errors: Errors, limit: int | None = None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.add(line, "text", "is required and must be a non-empty string")
        return None
    limit = max_text_chars() if limit is None else limit
    if len(value) > limit:
        errors.add(line, "text", f"is {len(value):,} characters long; the limit is {limit:,}")
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
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_STORED_INT:
        errors.add(line, field_name, f"must be an integer from {minimum} to {MAX_STORED_INT}")
        return None
    return value


def as_datetime(value: Any, line: int, field_name: str, errors: Errors) -> datetime | None:
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
