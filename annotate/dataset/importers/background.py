"""Imports too big for a web request: kept on disk and run by a worker as an ImportJob."""

from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils import timezone

from annotate import jobs
from annotate.dataset.importers.base import ImportFailed, ImportOptions, ImportResult, RowError
from annotate.dataset.importers.writing import import_file
from annotate.models import ImportJob, Project

logger = logging.getLogger(__name__)


def background_thresholds() -> tuple[int, int]:
    """(bytes, rows) above which an API import runs as a background task instead of in the request."""
    return (
        int(getattr(settings, "TAGWISE_IMPORT_BACKGROUND_BYTES", 5 * 1024 * 1024)),
        int(getattr(settings, "TAGWISE_IMPORT_BACKGROUND_ROWS", 20_000)),
    )


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


# A Label Studio file waits here between the import page's two steps
# (upload, then the choice of text key and annotators).
STAGED_FOLDER = "imports/staged"
# Staged files nobody confirmed are removed when a later file is staged.
STAGED_MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def stage_upload(stream: IO[bytes]) -> str:
    """Keep an uploaded file for the import page's second step; return its token."""
    folder = Path(settings.DATA_DIR) / STAGED_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - STAGED_MAX_AGE_SECONDS
    for old in folder.glob("*.json"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = uuid.uuid4().hex
    with (folder / f"{token}.json").open("wb") as out:
        shutil.copyfileobj(stream, out, length=1 << 20)
    return token


def staged_path(token: str) -> Path | None:
    """The staged file of a token, or None when the token is malformed or its file is gone."""
    if not _TOKEN.match(token):
        return None
    path = Path(settings.DATA_DIR) / STAGED_FOLDER / f"{token}.json"
    return path if path.exists() else None


def discard_staged(token: str) -> None:
    if (path := staged_path(token)) is not None:
        path.unlink(missing_ok=True)
