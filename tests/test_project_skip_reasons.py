"""Skip reasons are a project setting: set on the settings page and by PATCH, offered on the annotate page, enforced."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from annotate.models import Annotation, AuditEvent, Project
from annotate.setup.project_settings import change_settings
from tests.api_support import api, clear_throttles, client_for  # noqa: F401
from tests.test_project_settings_page import FORM as FOCUS_FORM

# The settings form as the page shows it for a new project: a save that changes nothing else.
FORM = {**FOCUS_FORM, "ask_mode": "all", "focus_size": "5", "exploration_share": "0.05"}

HTMX = {"HTTP_HX_REQUEST": "true"}


def settings_url(project):
    return reverse("project-settings", args=[project.pk])


def skip(client, project, item, **fields):
    data = {"idempotency_key": str(uuid.uuid4()), "duration_ms": "900", **fields}
    return client.post(reverse("annotate-skip", args=[project.pk, item.pk]), data, **HTMX)


def test_a_new_project_offers_the_three_reasons_of_before(project):
    assert Project.objects.get(pk=project.pk).skip_reasons == ["unclear", "not in English", "spam"]


def test_a_manager_sets_the_reasons_one_per_line_and_one_audit_event_records_them(client, project, manager):
    client.force_login(manager)
    page = client.get(settings_url(project)).content.decode()
    assert re.search(r'<textarea name="skip_reasons"[^>]*>\s*unclear\nnot in English\nspam</textarea>', page)

    response = client.post(
        settings_url(project), {**FORM, "skip_reasons": "  Duplicate  \r\n\r\nWrong   language\r\nunclear\r\n"}
    )

    assert response.status_code == 302
    assert Project.objects.get(pk=project.pk).skip_reasons == ["Duplicate", "Wrong language", "unclear"]
    event = AuditEvent.objects.get(action="project.settings")
    assert event.actor == manager
    assert event.before == {"skip_reasons": ["unclear", "not in English", "spam"]}
    assert event.after == {"skip_reasons": ["Duplicate", "Wrong language", "unclear"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "from 1 to 12 skip reasons"),
        ("\n".join(f"reason {n}" for n in range(13)), "from 1 to 12 skip reasons; this list has 13"),
        ("spam\nSPAM", "“SPAM” is listed twice"),
        ("x" * 81, "over 80 characters"),
        ("spam\nsp\u202eam", "U+202E"),
        ("spam\nzero\u200bwidth", "U+200B"),
        ("spam\ntab\there", "U+0009"),
        ("spam\nOther", "“Other” is always offered"),
    ],
)
def test_a_bad_list_is_refused_beside_the_field_and_changes_nothing(client, project, manager, text, message):
    client.force_login(manager)
    response = client.post(settings_url(project), {**FORM, "skip_reasons": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert">Nothing was saved. <a href="#id_skip_reasons">' in page
    assert message in page.replace("&#x27;", "'")
    assert Project.objects.get(pk=project.pk).skip_reasons == ["unclear", "not in English", "spam"]
    assert not AuditEvent.objects.filter(action="project.settings").exists()


def test_the_api_patch_sets_the_reasons_and_refuses_a_bad_list_naming_the_field(project, manager):
    client = client_for(manager)
    good = client.patch(api("", project), {"skip_reasons": ["Duplicate", " Wrong  language "]}, format="json")
    assert good.status_code == 200
    assert good.json()["skip_reasons"] == ["Duplicate", "Wrong language"]
    for bad in (["a", "A"], [], ["x" * 81], "spam", ["sp\u202eam"], ["other"], [f"r{n}" for n in range(13)]):
        answer = client.patch(api("", project), {"skip_reasons": bad}, format="json")
        assert answer.status_code == 400, bad
        assert list(answer.json()) == ["skip_reasons"], bad
    assert Project.objects.get(pk=project.pk).skip_reasons == ["Duplicate", "Wrong language"]
    assert AuditEvent.objects.filter(action="project.settings").count() == 1


def test_the_schema_documents_the_reasons(client):
    schema = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    field = schema["PatchedProjectSettingsRequest"]["properties"]["skip_reasons"]
    assert (field["type"], field["minItems"], field["maxItems"]) == ("array", 1, 12)
    assert field["items"]["maxLength"] == 80
    assert "skip_reasons" in schema["Project"]["properties"]


def test_the_annotate_page_offers_the_projects_reasons(client, project, queue, annotator, manager):
    change_settings(project=project, actor=manager, changes={"skip_reasons": ["Duplicate", "Wrong language"]})
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content.decode()
    skip_form = re.search(r'<details id="skip".*?</details>', page, flags=re.S).group(0)
    assert re.findall(r'name="reason" value="([^"]*)"', skip_form) == ["Duplicate", "Wrong language", "other"]


def test_a_reason_the_project_does_not_offer_is_a_400_naming_it_and_stores_nothing(
    client, project, queue, annotator, manager
):
    change_settings(project=project, actor=manager, changes={"skip_reasons": ["Duplicate"]})
    client.force_login(annotator)
    client.get(reverse("annotate", args=[project.pk]))

    response = skip(client, project, queue[0], reason="spam")

    assert response.status_code == 400
    page = response.content.decode().replace("&#x27;", "'")
    assert "The skip reason “spam” is not one of this project's" in page
    # The work area comes back with the reasons as they are now, the skip panel open.
    assert 'id="annotate-work"' in page and '<details id="skip" class="skip card" open>' in page
    assert 'value="Duplicate"' in page and 'value="spam"' not in page
    assert not Annotation.objects.exists()


def test_a_listed_reason_and_other_in_own_words_still_skip(client, project, queue, annotator, manager):
    change_settings(project=project, actor=manager, changes={"skip_reasons": ["Duplicate"]})
    client.force_login(annotator)
    client.get(reverse("annotate", args=[project.pk]))
    assert skip(client, project, queue[0], reason="Duplicate").status_code == 200
    assert skip(client, project, queue[1], reason="other", reason_other="  Not a   ticket ").status_code == 200
    assert skip(client, project, queue[2], reason="other", reason_other=" ").status_code == 422
    assert sorted(Annotation.objects.values_list("skip_reason", flat=True)) == ["Duplicate", "Not a ticket"]


def test_earlier_skips_keep_their_reason_when_the_list_changes(client, project, queue, annotator, manager):
    client.force_login(annotator)
    client.get(reverse("annotate", args=[project.pk]))
    assert skip(client, project, queue[0], reason="spam").status_code == 200
    change_settings(project=project, actor=manager, changes={"skip_reasons": ["Duplicate"]})
    assert Annotation.objects.get().skip_reason == "spam"
    mine = client.get(reverse("my-annotations", args=[project.pk])).content.decode()
    assert "spam" in mine


def test_a_clone_copies_the_reasons(client, project, labels, manager):
    manager.user_permissions.add(Permission.objects.get(content_type__app_label="annotate", codename="add_project"))
    change_settings(project=project, actor=manager, changes={"skip_reasons": ["Duplicate", "Wrong language"]})
    client.force_login(manager)
    client.post(reverse("project-clone", args=[project.pk]), {"name": "Support inbox 2027"})
    assert Project.objects.get(name="Support inbox 2027").skip_reasons == ["Duplicate", "Wrong language"]
