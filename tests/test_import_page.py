"""The import page for managers: upload, all-or-nothing errors on the page, background jobs that poll until done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.dataset.importers import run_import_job
from annotate.models import ImportJob, Item

FIXTURES = Path(__file__).parent / "fixtures"


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


@pytest.mark.django_db
def test_managers_upload_a_file(client, project, labels, annotator, manager):
    client.force_login(manager)
    page = client.get(f"/projects/{project.pk}/import/")
    assert page.status_code == 200
    assert b"Upload a file" in page.content

    row = {"external_id": "p1", "text": "Late", "annotations": [{"annotator": "annie", "labels": {"shipping": 1}}]}
    answer = client.post(
        f"/projects/{project.pk}/import/",
        {"file": upload("batch.jsonl", json.dumps(row).encode()), "unticked": "unobserved"},
        follow=True,
    )
    assert answer.status_code == 200
    assert b"Imported 1 new and 0 updated items with 1 annotations." in answer.content
    assert Item.objects.filter(project=project, external_id="p1").exists()


@pytest.mark.django_db
def test_a_bad_file_shows_every_error_and_imports_nothing(client, project, labels, annotator, manager):
    client.force_login(manager)
    answer = client.post(
        f"/projects/{project.pk}/import/",
        {"file": upload("bad.jsonl", (FIXTURES / "bad_import.jsonl").read_bytes()), "unticked": "unobserved"},
    )
    assert answer.status_code == 400
    text = answer.content.decode()
    assert "Nothing was imported: the file has 4 errors" in text
    for expected in ("unknown label &#x27;weather&#x27;", "invalid JSON", "the limit is 50,000", "is required"):
        assert expected in text
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_only_managers_see_the_import_page(client, project, reviewer, outsider):
    client.force_login(reviewer)
    assert client.get(f"/projects/{project.pk}/import/").status_code == 403
    assert client.get(f"/projects/{project.pk}/export/").status_code == 200
    client.force_login(outsider)
    assert client.get(f"/projects/{project.pk}/import/").status_code == 404


@pytest.mark.django_db
def test_job_rows_poll_until_the_job_is_done(
    client, project, labels, manager, settings, django_capture_on_commit_callbacks
):
    settings.TAGWISE_IMPORT_BACKGROUND_ROWS = 5
    client.force_login(manager)
    data = "".join(json.dumps({"external_id": f"b{n}", "text": "t"}) + "\n" for n in range(20)).encode()
    with django_capture_on_commit_callbacks(execute=False):
        answer = client.post(
            f"/projects/{project.pk}/import/",
            {"file": upload("big.jsonl", data), "unticked": "unobserved"},
            follow=True,
        )
    assert b"imported in the background" in answer.content
    job = ImportJob.objects.get()
    row_url = f"/projects/{project.pk}/import/jobs/{job.pk}/"
    queued = client.get(row_url, HTTP_HX_REQUEST="true").content.decode()
    assert queued.lstrip().startswith("<tr") and 'hx-trigger="every 1s"' in queued

    run_import_job(job_id=job.pk)
    done = client.get(row_url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done  # the finished row stops polling
    assert "20 new" in done
