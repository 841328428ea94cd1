"""The browser page where a user creates, lists and revokes their API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.api_support import clear_throttles  # noqa: F401


def shown_token(page) -> str:
    return re.search(rb'id="new-token" class="token" value="([0-9a-f]+)"', page.content).group(1).decode()


@pytest.mark.django_db
def test_create_use_and_revoke_a_token(client, project, annotator):
    client.force_login(annotator)
    assert b"You have no token." in client.get("/account/tokens/").content

    page = client.post("/account/tokens/", {"action": "create", "days": "30"})
    assert page.status_code == 200
    key = shown_token(page)
    token = AuthToken.objects.get(user=annotator)
    assert timedelta(days=29, hours=23) < token.expiry - timezone.now() <= timedelta(days=30)
    # Shown in full once; afterwards only its start.
    again = client.get("/account/tokens/").content
    assert key.encode() not in again and key[:8].encode() in again

    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert script.get("/api/projects").status_code == 200

    second = shown_token(client.post("/account/tokens/", {"action": "create", "days": "90"}))
    assert AuthToken.objects.filter(user=annotator).count() == 2

    client.post("/account/tokens/", {"action": "revoke", "token": token.token_key})
    assert script.get("/api/projects").status_code == 401
    assert list(AuthToken.objects.filter(user=annotator).values_list("token_key", flat=True)) == [second[:15]]


@pytest.mark.django_db
def test_a_token_of_someone_else_cannot_be_revoked(client, project, annotator, manager):
    _, text = AuthToken.objects.create(user=manager)
    client.force_login(annotator)
    client.post("/account/tokens/", {"action": "revoke", "token": text[:15]})
    assert AuthToken.objects.filter(user=manager).count() == 1


@pytest.mark.django_db
def test_an_expiry_outside_the_choices_is_a_400_that_makes_no_token(client, project, annotator):
    client.force_login(annotator)
    page = client.post("/account/tokens/", {"action": "create", "days": "100000"})
    assert page.status_code == 400
    assert b"Select a valid choice" in page.content
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_the_token_page_needs_a_login(client):
    assert client.get("/account/tokens/").status_code == 302
