"""Deleting a project needs its name typed, offers the export first, and leaves a site-level audit event."""

from __future__ import annotations

from django.urls import reverse

from annotate.models import Annotation, AuditEvent, Item, Label, Project
from tests.api_support import api, client_for
from tests.factories import annotate_item


def test_the_page_offers_the_export_and_a_wrong_name_deletes_nothing(client, project, items, manager):
    client.force_login(manager)
    page = client.get(reverse("project-delete", args=[project.pk])).content.decode()
    assert reverse("export", args=[project.pk]) in page

    response = client.post(reverse("project-delete", args=[project.pk]), {"confirmation": "support inbox"})
    assert response.status_code == 400
    assert "Type the project" in response.content.decode()
    assert Project.objects.filter(pk=project.pk).exists() and Item.objects.count() == 10


def test_the_typed_name_deletes_everything_and_the_audit_event_stays_at_site_level(
    client, project, items, labels, guideline, annotator, manager
):
    annotate_item(items[0], annotator, {labels[0]: 1, labels[1]: 0}, guideline=guideline)
    client.force_login(manager)
    client.post(reverse("members", args=[project.pk]))  # any earlier event of the project
    client.post(reverse("project-archive", args=[project.pk]), {"archived": "1"})
    project_id = project.pk

    response = client.post(reverse("project-delete", args=[project_id]), {"confirmation": project.name})

    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert not Project.objects.filter(pk=project_id).exists()
    assert not Item.objects.exists() and not Annotation.objects.exists() and not Label.objects.exists()
    event = AuditEvent.objects.get(action="project.delete")
    assert event.project is None and event.actor == manager
    assert event.before == {
        "id": project_id,
        "name": "Support inbox",
        "items": 10,
        "annotations": 1,
        "labels": 5,
        "members": 2,
    }
    # The project's own trail is kept too, no longer attached to it.
    assert AuditEvent.objects.get(action="project.archive").project is None


def test_the_api_deletes_only_with_the_name_and_only_for_managers(project, items, reviewer, manager):
    assert client_for(reviewer).delete(api("", project) + "?confirm=Support+inbox").status_code == 403
    wrong = client_for(manager).delete(api("", project) + "?confirm=Support")
    assert wrong.status_code == 400 and "confirmation" in wrong.json()
    assert client_for(manager).delete(api("", project)).status_code == 400
    assert Project.objects.filter(pk=project.pk).exists()
    assert client_for(manager).delete(api("", project) + "?confirm=Support+inbox").status_code == 204
    assert not Project.objects.exists()
    assert AuditEvent.objects.filter(action="project.delete", project=None).count() == 1
