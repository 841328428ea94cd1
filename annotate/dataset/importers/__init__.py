"""Bulk import of items and their annotations: JSONL, CSV, Label Studio JSON, doccano and Prodigy JSONL.

An import is all or nothing. The whole file is parsed and every row checked
against the project (labels, annotators, guideline versions, external ids)
before anything is written; a file with any bad row writes nothing and the
caller gets the errors (line, field, message; the first ``MAX_ERRORS``). Only a
file without errors is written, in one transaction, with bulk inserts.

The formats are described in docs/api.md and docs/formats.md. In short, every row is an item with
an external id, a text, optional metadata and optional annotations; an
annotation names its annotator and gives each label it answered a 1 (yes) or
0 (no). A label an annotation does not mention stays unobserved: no judgment
row is written for it (docs/annotating.md).

The package follows the file's route:

- ``base``: the options, the errors and the parsed shapes;
- ``validate``: the one set of field rules every reader uses;
- ``jsonl``, ``csv_reader``, ``labelstudio``, ``doccano``, ``prodigy``: one
  reader per format, bytes to parsed rows, each naming its errors' places in
  its format's terms (``RowError.location``);
- ``checking``: the rows against the project (``read_and_check``);
- ``writing``: one transaction of bulk writes (``import_file``, ``write_checked``);
- ``background``: big files as an ImportJob for a worker.

Callers import from this package; the names below are its public surface.
"""

from __future__ import annotations

from annotate.dataset.importers.background import (
    background_thresholds,
    count_rows,
    discard_staged,
    import_or_queue,
    run_import_job,
    stage_upload,
    staged_path,
    start_import_job,
)
from annotate.dataset.importers.base import (
    FORMAT_BY_EXTENSION,
    FORMATS,
    MAX_ERRORS,
    UNTICKED_CHOICES,
    ImportFailed,
    ImportOptions,
    ImportResult,
    RowError,
    format_for_filename,
    max_text_chars,
)
from annotate.dataset.importers.checking import labelstudio_username, read_and_check
from annotate.dataset.importers.labelstudio import FoundUser, Survey, survey_file
from annotate.dataset.importers.validate import UNSTORABLE, unstorable_in
from annotate.dataset.importers.writing import import_file, write_checked

__all__ = [
    "FORMATS",
    "FORMAT_BY_EXTENSION",
    "MAX_ERRORS",
    "UNSTORABLE",
    "UNTICKED_CHOICES",
    "FoundUser",
    "ImportFailed",
    "ImportOptions",
    "ImportResult",
    "RowError",
    "Survey",
    "background_thresholds",
    "count_rows",
    "discard_staged",
    "format_for_filename",
    "import_file",
    "import_or_queue",
    "labelstudio_username",
    "max_text_chars",
    "read_and_check",
    "run_import_job",
    "stage_upload",
    "staged_path",
    "start_import_job",
    "survey_file",
    "unstorable_in",
    "write_checked",
]
