"""An upload over TAGWISE_IMPORT_MAX_BYTES is refused from its Content-Length before it is read; chunked gets 411."""

from __future__ import annotations

import pytest

from annotate.models import Item
from tests.api_support import api, clear_throttles, client_for  # noqa: F401

# The test client's body is a FakePayload that fails the test if anything
# reads past what was sent: claiming a terabyte while sending a few bytes
# proves the refusal came from the header alone.
TERABYTE = str(10**12)


@pytest.mark.django_db
def test_the_api_refuses_a_declared_oversize_body_without_reading_it(project, labels, manager):
    answer = client_for(manager).generic(
        "POST",
        api("/import?format=jsonl", project),
        b'{"text": "hello"}\n',
        content_type="application/x-ndjson",
        CONTENT_LENGTH=TERABYTE,
    )
    assert answer.status_code == 413
    assert "1,000,000,000,000 bytes" in answer.json()["detail"]
    assert "TAGWISE_IMPORT_MAX_BYTES" in answer.json()["detail"]
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_the_import_page_refuses_it_with_a_page_that_says_why(client, project, labels, manager):
    client.force_login(manager)
    answer = client.generic(
        "POST",
        f"/projects/{project.pk}/import/",
        b"--x--",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=TERABYTE,
    )
    assert answer.status_code == 413
    assert b"The file is too large" in answer.content
    assert b"largest accepted is" in answer.content
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_the_limit_is_the_setting(project, labels, manager, settings):
    settings.TAGWISE_IMPORT_MAX_BYTES = 100
    client = client_for(manager)
    body = b'{"external_id": "a", "text": "A"}\n{"external_id": "b", "text": "B"}\n'
    assert 50 < len(body) <= 100
    url = api("/import?format=jsonl", project)
    assert client.generic("POST", url, body, content_type="application/x-ndjson").status_code == 201
    assert client.generic("POST", url, body * 2, content_type="application/x-ndjson").status_code == 413


@pytest.mark.django_db
def test_a_chunked_upload_gets_411_with_the_reason(project, labels, manager):
    answer = client_for(manager).generic(
        "POST",
        api("/import?format=jsonl", project),
        b"",
        content_type="application/x-ndjson",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert answer.status_code == 411
    assert "Content-Length" in answer.json()["detail"]
