"""Requests that would silently do nothing are refused: unknown settings, an export of a missing guideline version."""

from __future__ import annotations

import pytest

from annotate.models import AuditEvent, Project
from tests.api_support import api, clear_throttles, client_for  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body", [{"created_at": "2020-01-01T00:00:00Z"}, {"id": 99}, {"overlap_cuont": 3}])
def test_a_settings_patch_with_a_field_it_cannot_change_is_a_400_naming_it(project, manager, body):
    answer = client_for(manager).patch(api("", project), body, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == list(body)
    assert Project.objects.get(pk=project.pk).name == project.name
    assert not AuditEvent.objects.filter(action="project.settings").exists()


def test_an_export_of_a_guideline_version_that_does_not_exist_is_a_404(project, guideline, manager):
    answer = client_for(manager).get(api("/export?guideline_version=99", project))
    assert answer.status_code == 404
    assert "no published guideline version 99" in answer.json()["detail"]
    assert not AuditEvent.objects.filter(action="export").exists()
    assert client_for(manager).get(api(f"/export?guideline_version={guideline.number}", project)).status_code == 200


def test_the_schema_says_the_settings_patch_takes_no_other_fields(client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["PatchedProjectSettingsRequest"]["additionalProperties"] is False
