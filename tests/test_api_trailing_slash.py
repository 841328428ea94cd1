"""An API path written with a trailing slash (/api/projects/) answers a 308 to its path, which keeps method and body."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from annotate.models import Project
from tests.api_support import client_for

pytestmark = pytest.mark.django_db


def test_a_post_with_a_trailing_slash_is_redirected_keeping_method_and_body(manager):
    manager.user_permissions.add(Permission.objects.get(content_type__app_label="annotate", codename="add_project"))
    client = client_for(manager)
    body = {"name": "Tickets", "labels": [{"name": "refund"}, {"name": "shipping"}]}
    response = client.post("/api/projects/?x=1", body, format="json")
    assert response.status_code == 308
    assert response["Location"] == "/api/projects?x=1"
    assert "no trailing slash" in response.json()["detail"]
    assert not Project.objects.filter(name="Tickets").exists()
    # Followed as HTTP clients follow a 308: the same method and body.
    assert client.post("/api/projects", body, format="json").status_code == 201


def test_a_path_that_does_not_exist_either_way_is_a_plain_404(manager):
    response = client_for(manager).get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
