"""The browser page where a user creates, sees and revokes their API token."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api_support import clear_throttles  # noqa: F401


@pytest.mark.django_db
def test_create_use_and_revoke_a_token(client, project, annotator):
    client.force_login(annotator)
    assert b"You have no token." in client.get("/account/tokens/").content

    page = client.post("/account/tokens/", {"action": "create"}, follow=True)
    key = Token.objects.get(user=annotator).key
    assert key.encode() in page.content
    # Shown in full once; afterwards only its start.
    again = client.get("/account/tokens/").content
    assert key.encode() not in again and key[:6].encode() in again

    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert script.get("/api/projects").status_code == 200

    client.post("/account/tokens/", {"action": "regenerate"})
    assert Token.objects.get(user=annotator).key != key
    assert script.get("/api/projects").status_code == 401

    client.post("/account/tokens/", {"action": "revoke"})
    assert not Token.objects.filter(user=annotator).exists()


@pytest.mark.django_db
def test_the_token_page_needs_a_login(client):
    assert client.get("/account/tokens/").status_code == 302
