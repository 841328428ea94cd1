"""Managers choose what annotators are asked, on the settings page and through the API; each change is audited."""

from django.urls import reverse

from annotate.models import AskMode, AuditEvent, Project
from tests.api_support import api, client_for

FORM = {
    "name": "Support inbox",
    "skip_reasons": "unclear\nnot in English\nspam",
    "description": "",
    "overlap_count": "2",
    "overlap_fraction": "0.2",
    "retrain_every": "50",
    "default_confidence": "0.8",
    "lease_minutes": "30",
    "ask_mode": "focus",
    "focus_size": "4",
    "exploration_share": "0.15",
    "allow_focus_only": "on",
}


def test_a_manager_switches_to_focus_labels_and_a_retrain_follows(
    client, project, manager, sent_tasks, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    assert client.get(reverse("project-settings", args=[project.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("project-settings", args=[project.pk]), FORM)
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.ask_mode, project.focus_size, project.exploration_share) == (AskMode.FOCUS, 4, 0.15)
    event = AuditEvent.objects.get(action="project.settings")
    assert event.before == {"ask_mode": "all", "focus_size": 5, "exploration_share": 0.05}
    assert event.after == {"ask_mode": "focus", "focus_size": 4, "exploration_share": 0.15}
    assert sent_tasks == [("learner.tasks.retrain", (), {"project_id": project.pk, "trigger": "settings"})]


def test_an_out_of_range_setting_is_a_form_error_and_changes_nothing(client, project, manager):
    client.force_login(manager)
    response = client.post(reverse("project-settings", args=[project.pk]), {**FORM, "exploration_share": "1.5"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value is less than or equal to 1" in html
    # Said at the top too, with a link to the field, which may be below the fold.
    assert 'role="alert">Nothing was saved. <a href="#id_exploration_share">' in html
    assert Project.objects.get(pk=project.pk).ask_mode == AskMode.ALL
    assert not AuditEvent.objects.filter(action="project.settings").exists()


def test_the_api_patch_sets_the_ask_mode_and_refuses_an_unknown_one(project, manager, sent_tasks):
    client = client_for(manager)
    bad = client.patch(api("", project), {"ask_mode": "some"}, format="json")
    assert bad.status_code == 400 and "ask_mode" in bad.json()
    good = client.patch(api("", project), {"ask_mode": "focus", "focus_size": 3}, format="json")
    assert good.status_code == 200
    assert (good.json()["ask_mode"], good.json()["focus_size"]) == ("focus", 3)


def test_a_description_over_the_limit_is_a_form_error_not_a_server_error(client, project, manager):
    client.force_login(manager)
    response = client.post(reverse("project-settings", args=[project.pk]), {**FORM, "description": "x" * 10_001})
    assert response.status_code == 400
    assert "at most 10000 characters" in response.content.decode()
    assert Project.objects.get(pk=project.pk).description == ""
    assert not AuditEvent.objects.filter(action="project.settings").exists()
