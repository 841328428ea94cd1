"""Cloning copies a project's settings, active labels with their rules and current guideline into an empty project."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.urls import reverse

from annotate.models import AuditEvent, Project, Role
from annotate.setup.labelset import retire_label
from annotate.setup.projects import NAME_MAX_CHARS, clone_project, copy_name
from tests.api_support import api, client_for
from tests.factories import make_guideline


def grant(user):
    user.user_permissions.add(Permission.objects.get(content_type__app_label="annotate", codename="add_project"))


def test_a_clone_has_the_settings_labels_rules_and_guideline_but_no_items_or_members(
    client, project, items, labels, annotator, manager
):
    grant(manager)
    make_guideline(project, 2, text="# Second version")
    project.overlap_count, project.retrain_every, project.require_all_labels = 3, 7, True
    project.save()
    labels[0].implies.add(labels[1])
    labels[2].excludes.add(labels[3])
    retire_label(label=labels[4], actor=manager)

    client.force_login(manager)
    response = client.post(reverse("project-clone", args=[project.pk]), {"name": "Support inbox 2027"})

    clone = Project.objects.get(name="Support inbox 2027")
    assert response.status_code == 302 and response["Location"] == reverse("project", args=[clone.pk])
    assert (clone.overlap_count, clone.retrain_every, clone.require_all_labels) == (3, 7, True)
    assert list(clone.labels.values_list("name", flat=True)) == ["shipping", "refund", "billing", "bug"]
    copied = {label.name: label for label in clone.labels.all()}
    assert list(copied["shipping"].implies.values_list("name", flat=True)) == ["refund"]
    assert list(copied["billing"].excludes.values_list("name", flat=True)) == ["bug"]
    guideline = clone.current_guideline()
    assert (guideline.number, guideline.text) == (1, "# Second version")
    assert not clone.items.exists()
    assert list(clone.memberships.values_list("user__username", "role")) == [("manny", Role.MANAGER)]
    event = AuditEvent.objects.get(action="project.create", project=clone)
    assert event.after["cloned_from"] == {"id": project.pk, "name": "Support inbox"}


def test_cloning_needs_the_permission_and_a_free_name(client, project, labels, manager):
    client.force_login(manager)
    assert client.post(reverse("project-clone", args=[project.pk]), {"name": "Copy"}).status_code == 403
    grant(manager)
    taken = client.post(reverse("project-clone", args=[project.pk]), {"name": "support inbox"})
    assert taken.status_code == 400 and "already a project" in taken.content.decode()
    response = client_for(manager).post(api("/clone", project), {"name": "Via API"}, format="json")
    assert response.status_code == 201 and response.json()["name"] == "Via API"
    assert Project.objects.count() == 2


def test_the_offered_name_is_free_and_within_the_limit(client, project, labels, manager):
    """A 200-character name was offered as 207 characters, and a second clone was offered a taken name."""
    grant(manager)
    client.force_login(manager)
    url = reverse("project-clone", args=[project.pk])
    assert copy_name(project) == "Support inbox (copy)"
    clone_project(source=project, creator=manager, name=copy_name(project))
    assert copy_name(project) == "Support inbox (copy 2)"
    project.name = "n" * NAME_MAX_CHARS
    project.save()
    offered = copy_name(project)
    assert len(offered) == NAME_MAX_CHARS and offered.endswith("n (copy)")
    assert f'value="{offered}"' in client.get(url).content.decode()
    assert client.post(url, {"name": offered}).status_code == 302
