"""Token and session authentication, the token page's API twin, and throttling of logins."""

from __future__ import annotations

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.api_support import clear_throttles, client_for  # noqa: F401


@pytest.mark.django_db
def test_token_from_username_and_password(project, annotator):
    client = APIClient()
    answer = client.post("/api/auth/token", {"username": "annie", "password": "pw-annie"}, format="json")
    assert answer.status_code == 200
    token = answer.json()["token"]
    assert AuthToken.objects.get(user=annotator).token_key == token[:15]
    assert answer.json()["expiry"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    projects = client.get("/api/projects").json()["results"]
    assert [p["name"] for p in projects] == ["Support inbox"]
    assert projects[0]["role"] == "annotator"


@pytest.mark.django_db
def test_wrong_password_and_anonymous_requests_are_refused(project, annotator):
    client = APIClient()
    assert client.post("/api/auth/token", {"username": "annie", "password": "nope"}, format="json").status_code == 401
    anonymous = client.get("/api/projects")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Token")
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/projects").status_code == 401


@pytest.mark.django_db
def test_session_authentication_works_for_the_browser(client, project, annotator):
    client.force_login(annotator)
    assert client.get(f"/api/projects/{project.pk}").json()["name"] == "Support inbox"


@pytest.mark.django_db
def test_revoking_the_token_sent_leaves_the_others(project, annotator):
    client, other = client_for(annotator), client_for(annotator)
    assert client.delete("/api/auth/token").status_code == 204
    assert client.get("/api/projects").status_code == 401
    assert other.get("/api/projects").status_code == 200
    assert AuthToken.objects.filter(user=annotator).count() == 1


@pytest.mark.django_db
def test_logins_are_throttled(project, annotator, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min", "expensive": "60/min"})
    client = APIClient()
    codes = [
        client.post("/api/auth/token", {"username": "annie", "password": "wrong"}, format="json").status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


@pytest.mark.django_db
def test_a_forged_x_forwarded_for_does_not_reset_the_api_throttle(project, annotator, monkeypatch, settings):
    """Each request claims another address; with no trusted proxy the claim is ignored and the count goes on."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min", "expensive": "60/min"})
    client = APIClient()
    codes = [
        client.post(
            "/api/auth/token",
            {"username": "annie", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(4)
    ]
    assert codes == [401, 401, 401, 429]
