"""A manager signed in to the site (session and CSRF token, as in /api/docs/) can import a raw file body."""

import pytest
from django.test import Client

from annotate.models import Item

pytestmark = pytest.mark.django_db


def test_a_session_import_of_a_raw_body_with_the_csrf_token_works(project, labels, manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    client.get("/")  # a page sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/api/projects/{project.pk}/import?format=jsonl",
        data=b'{"external_id": "s1", "text": "Parcel late"}\n',
        content_type="application/x-ndjson",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201, response.content
    assert list(Item.objects.filter(project=project).values_list("external_id", flat=True)) == ["s1"]


def test_without_the_csrf_token_it_is_refused(project, labels, manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(
        f"/api/projects/{project.pk}/import?format=jsonl",
        data=b'{"external_id": "s1", "text": "Parcel late"}\n',
        content_type="application/x-ndjson",
    )
    assert response.status_code == 403
    assert not Item.objects.exists()
