"""The CSV reader: a header, then one item a row with at most one annotation (docs/api.md)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

from annotate.dataset.importers.base import Errors, ParsedAnnotation, ParsedItem
from annotate.dataset.importers.validate import (
    UNSTORABLE,
    Spelling,
    as_answer,
    as_external_id,
    as_metadata,
    as_text,
    parse_annotation,
)

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
# The columns of a row's annotation, named as ``parse_annotation`` names its fields.
ANNOTATION_COLUMNS = (
    "annotator",
    "confidence",
    "guideline_version",
    "duration_ms",
    "skipped",
    "skip_reason",
    "created_at",
)
# A label's column is named by the label, and an empty cell is "not answered".
CSV_SPELLING = Spelling(
    labels="", blank="empty", annotator="the annotator's username when the row has answers or is skipped"
)


def read_csv(stream: IO[bytes], errors: Errors) -> Iterator[ParsedItem]:
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
    errors.locate = locate_in_csv
    text_stream = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from _read_csv_rows(csv.reader(text_stream), errors)
    finally:
        # Hand the byte stream back to its owner instead of closing it with the wrapper.
        text_stream.detach()


def locate_in_csv(line: int, field_name: str) -> str:
    """A CSV location: the line (the header is line 1) and the column's header."""
    return f"line {line}, column '{field_name}'" if field_name else f"line {line}"


def _hint(columns: list[str]) -> str:
    """The likely cause of a header without the required columns, when the file says it."""
    joined = ",".join(columns)
    for separator, name in ((";", "semicolon"), ("\t", "tab")):
        if separator in joined and {"text", "id", "external_id"} & {part.strip() for part in joined.split(separator)}:
            return (
                f"; this looks like a {name}-separated file: save it with commas between the columns "
                "(in a spreadsheet: CSV UTF-8, comma-delimited)"
            )
    if columns and columns[0].startswith(("{", "[")):
        return "; this looks like JSON: import it with format=jsonl or format=labelstudio"
    return ""


def _read_csv_rows(reader: Any, errors: Errors) -> Iterator[ParsedItem]:
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as exc:
        errors.add(1, "", f"cannot read the header: {exc}")
        return
    columns = [name.strip() for name in header]
    if "text" not in columns or not ({"external_id", "id"} & set(columns)):
        errors.add(1, "", "the header must name an external_id (or id) column and a text column" + _hint(columns))
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
    headers = {name: columns[index] for index, name in label_columns.items()}
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

        external_id = as_external_id(cells[id_column], line, errors)
        text = as_text(cell("text"), line, errors)
        metadata = as_metadata(cell("metadata"), line, errors)
        annotation = _csv_annotation(cells, cell, label_columns, line, errors)
        if annotation:
            # One dict for every row: errors about a label name its column's header.
            annotation.label_spots = headers
        if external_id is None or text is None or metadata is None or annotation is False:
            continue
        yield ParsedItem(line, external_id, text, metadata, [annotation] if annotation else [])


def _csv_annotation(
    cells: list[str], cell: Callable[[str], str], label_columns: dict[int, str], line: int, errors: Errors
) -> ParsedAnnotation | bool | None:
    """The row's annotation, None when the row has none, or False when it has errors.

    An empty cell is a field not given. A row without an annotator, answers
    or a true ``skipped`` cell carries no annotation, and its other annotation
    cells are not read.
    """
    labels = {name: cells[index] for index, name in label_columns.items() if cells[index].strip()}
    raw: dict[str, Any] = {key: value for key in ANNOTATION_COLUMNS if (value := cell(key).strip())}
    if "annotator" not in raw and not labels and as_answer(raw.get("skipped")) in (None, 0):
        return None
    raw["labels"] = labels
    annotation = parse_annotation(raw, line=line, where="", errors=errors, spelling=CSV_SPELLING)
    return False if annotation is None else annotation
