"""A big import runs in a real Celery worker, and its progress is visible through the API until it is done."""

from __future__ import annotations

import json

import pytest

from annotate.models import Item, QueueEntry
from tests.api_support import api, clear_throttles, client_for  # noqa: F401
from tests.conftest import wait_until


@pytest.mark.worker
def test_background_import_through_a_worker(celery_worker_process, project, labels, annotator, manager, settings):
    settings.TAGWISE_IMPORT_BACKGROUND_ROWS = 100
    rows = [
        {
            "external_id": f"w{n}",
            "text": f"Message number {n} about a late parcel",
            "annotations": [{"annotator": "annie", "labels": {"shipping": 1}}] if n % 10 == 0 else [],
        }
        for n in range(500)
    ]
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    client = client_for(manager)
    answer = client.generic("POST", api("/import?format=jsonl", project), body, content_type="application/x-ndjson")
    assert answer.status_code == 202
    url = answer.json()["url"]

    assert wait_until(lambda: client.get(url).json()["status"] in ("done", "failed"), timeout=90)
    job = client.get(url).json()
    assert job["status"] == "done", job
    assert job["processed"] == job["total"] == 500
    assert Item.objects.filter(project=project).count() == 500
    assert QueueEntry.objects.filter(project=project, completed=1).count() == 50
