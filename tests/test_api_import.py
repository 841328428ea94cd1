"""POST /api/projects/{id}/import: multipart or raw body, all or nothing, 413 over the limit, 202 for big files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.dataset.importers import run_import_job
from annotate.models import ImportJob, Item
from tests.api_support import api, clear_throttles, client_for  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"


def jsonl(count: int, prefix: str = "api") -> bytes:
    return "".join(
        json.dumps({"external_id": f"{prefix}-{n}", "text": f"Text {n}"}) + "\n" for n in range(count)
    ).encode()


@pytest.mark.django_db
def test_multipart_upload_with_format_from_the_file_name(project, labels, manager):
    upload = SimpleUploadedFile("batch.jsonl", jsonl(3), content_type="application/x-ndjson")
    answer = client_for(manager).post(api("/import", project), {"file": upload}, format="multipart")
    assert answer.status_code == 201, answer.content
    assert answer.json()["items_created"] == 3
    assert Item.objects.filter(project=project).count() == 3


@pytest.mark.django_db
def test_raw_body_csv(project, labels, annotator, manager):
    body = b"external_id,text,annotator,shipping,refund\nc1,Late parcel,annie,1,0\n"
    answer = client_for(manager).generic("POST", api("/import?format=csv", project), body, content_type="text/csv")
    assert answer.status_code == 201, answer.content
    assert answer.json()["judgments_created"] == 2


@pytest.mark.django_db
def test_bad_file_answers_400_with_errors_and_writes_nothing(project, labels, annotator, manager):
    body = (FIXTURES / "bad_import.jsonl").read_bytes()
    answer = client_for(manager).generic(
        "POST", api("/import?format=jsonl", project), body, content_type="application/x-ndjson"
    )
    assert answer.status_code == 400
    data = answer.json()
    assert data["error_count"] == 4
    assert [error["line"] for error in data["errors"]] == [12, 23, 40, 57]
    assert Item.objects.filter(project=project).count() == 0


@pytest.mark.django_db
def test_label_studio_with_options(project, labels, annotator, second_annotator, manager):
    annotator.email, second_annotator.email = "annie@example.com", "arthur@example.com"
    annotator.save()
    second_annotator.save()
    upload = SimpleUploadedFile("ls.json", (FIXTURES / "labelstudio_export.json").read_bytes())
    answer = client_for(manager).post(
        api("/import?format=labelstudio&unticked=negative", project), {"file": upload}, format="multipart"
    )
    assert answer.status_code == 201, answer.content
    # 4 annotations with answers x 5 labels; the cancelled one has none.
    assert answer.json()["judgments_created"] == 20


@pytest.mark.django_db
def test_only_managers_import(project, labels, reviewer, outsider):
    body = jsonl(1)
    url = api("/import?format=jsonl", project)
    assert client_for(reviewer).generic("POST", url, body, content_type="application/x-ndjson").status_code == 403
    assert client_for(outsider).generic("POST", url, body, content_type="application/x-ndjson").status_code == 404


@pytest.mark.django_db
def test_files_over_the_size_limit_answer_413(project, labels, manager, settings):
    settings.TAGWISE_IMPORT_MAX_BYTES = 1000
    client = client_for(manager)
    raw = client.generic("POST", api("/import?format=jsonl", project), jsonl(100), content_type="application/x-ndjson")
    assert raw.status_code == 413
    upload = SimpleUploadedFile("big.jsonl", jsonl(100))
    assert client.post(api("/import", project), {"file": upload}, format="multipart").status_code == 413
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_big_files_become_a_background_job(project, labels, manager, settings, django_capture_on_commit_callbacks):
    settings.TAGWISE_IMPORT_BACKGROUND_ROWS = 10
    client = client_for(manager)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = client.generic(
            "POST", api("/import?format=jsonl", project), jsonl(25), content_type="application/x-ndjson"
        )
    assert answer.status_code == 202
    job = answer.json()
    assert job["status"] == "queued" and job["total"] == 25
    assert answer["Location"] == job["url"]
    assert len(callbacks) == 1  # the task is sent only once the job row is committed
    assert Item.objects.count() == 0

    # What the worker does (tests/test_api_import_worker.py runs a real one).
    run_import_job(job_id=job["id"])
    done = client.get(job["url"]).json()
    assert done["status"] == "done" and done["processed"] == 25
    assert done["result"]["items_created"] == 25
    assert not Path(ImportJob.objects.get().path).exists()
    # A second delivery of the task does nothing.
    run_import_job(job_id=job["id"])
    assert Item.objects.filter(project=project).count() == 25


@pytest.mark.django_db
def test_a_failed_background_job_keeps_its_errors(
    project, labels, annotator, manager, settings, django_capture_on_commit_callbacks
):
    settings.TAGWISE_IMPORT_BACKGROUND_ROWS = 10
    body = (FIXTURES / "bad_import.jsonl").read_bytes()
    client = client_for(manager)
    with django_capture_on_commit_callbacks(execute=False):
        job = client.generic("POST", api("/import?format=jsonl", project), body, content_type="x/y").json()
    run_import_job(job_id=job["id"])
    failed = client.get(job["url"]).json()
    assert failed["status"] == "failed"
    assert [error["line"] for error in failed["errors"]] == [12, 23, 40, 57]
    assert client.get(api("/imports", project)).json()["results"][0]["id"] == job["id"]
    assert Item.objects.count() == 0
