"""Helpers for the API tests: a token client per user and a clean throttle cache."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from knox.models import AuthToken
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def clear_throttles():
    """Throttle counters live in the cache; start every test with none."""
    cache.clear()
    yield
    cache.clear()


def client_for(user: Any) -> APIClient:
    """An API client that sends the user's token, as a script would."""
    _, text = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {text}")
    return client


def api(path: str, project: Any = None) -> str:
    return f"/api/projects/{project.pk}{path}" if project is not None else f"/api{path}"
