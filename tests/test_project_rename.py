"""A manager renames a project on the settings page or by PATCH, under the rules of a new project's name (audited)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import AuditEvent, Project
from tests.api_support import api, clear_throttles, client_for  # noqa: F401
from tests.factories import make_project
from tests.test_project_settings_page import FORM as FOCUS_FORM

# The settings form as the page shows it for a new project: a save that changes nothing else.
FORM = {**FOCUS_FORM, "ask_mode": "all", "focus_size": "5", "exploration_share": "0.05"}


def settings_url(project):
    return reverse("project-settings", args=[project.pk])


def test_a_manager_renames_the_project_on_the_settings_page(client, project, manager):
    client.force_login(manager)
    assert 'name="name" value="Support inbox"' in client.get(settings_url(project)).content.decode()

    response = client.post(settings_url(project), {**FORM, "name": "  Customer mail "})

    assert response.status_code == 302
    assert Project.objects.get(pk=project.pk).name == "Customer mail"
    event = AuditEvent.objects.get(action="project.settings")
    assert (event.actor, event.before, event.after) == (manager, {"name": "Support inbox"}, {"name": "Customer mail"})
    assert "Saved: Name." in client.get(settings_url(project)).content.decode()


def test_changing_only_the_case_of_its_own_name_is_allowed(client, project, manager):
    client.force_login(manager)
    assert client.post(settings_url(project), {**FORM, "name": "SUPPORT INBOX"}).status_code == 302
    assert Project.objects.get(pk=project.pk).name == "SUPPORT INBOX"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("someone ELSE's project", "There is already a project named"),
        ("Support\u202einbox", "U+202E"),
        ("Support\u200binbox", "U+200B"),
        ("   ", "This field is required."),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_a_bad_name_is_refused_beside_the_field_and_changes_nothing(client, project, manager, name, message):
    make_project("Someone else's project")
    client.force_login(manager)
    response = client.post(settings_url(project), {**FORM, "name": name})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert">Nothing was saved. <a href="#id_name">' in page
    assert message in page.replace("&#x27;", "'")
    assert Project.objects.get(pk=project.pk).name == "Support inbox"
    assert not AuditEvent.objects.filter(action="project.settings").exists()


def test_a_line_break_in_the_name_is_refused_by_the_api(project, manager):
    answer = client_for(manager).patch(api("", project), {"name": "Support\ninbox"}, format="json")
    assert answer.status_code == 400
    assert "U+000A" in answer.json()["name"][0]
    assert Project.objects.get(pk=project.pk).name == "Support inbox"


def test_the_api_patch_renames_with_the_same_rules(project, manager):
    make_project("Someone else's project")
    client = client_for(manager)

    taken = client.patch(api("", project), {"name": "SOMEONE else's project", "overlap_count": 3}, format="json")
    assert taken.status_code == 400
    assert list(taken.json()) == ["name"] and "already a project" in taken.json()["name"][0]
    assert Project.objects.get(pk=project.pk).overlap_count == 2  # a refused PATCH changes nothing at all

    renamed = client.patch(api("", project), {"name": "Customer mail", "overlap_count": 3}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Customer mail"
    (event,) = AuditEvent.objects.filter(action="project.settings")
    assert event.before == {"name": "Support inbox", "overlap_count": 2}
    assert event.after == {"name": "Customer mail", "overlap_count": 3}


def test_a_reviewer_cannot_rename(project, reviewer):
    answer = client_for(reviewer).patch(api("", project), {"name": "Mine now"}, format="json")
    assert answer.status_code == 403
    assert Project.objects.get(pk=project.pk).name == "Support inbox"
