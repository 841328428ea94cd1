"""Deactivating a person stops their logins, gives back the items they hold, and keeps their answers."""

from __future__ import annotations

from django.urls import reverse

from annotate.models import Annotation, AuditEvent, Lease, Membership
from annotate.work.queue import next_item
from tests.factories import annotate_item


def test_deactivation_releases_leases_keeps_answers_and_can_be_undone(
    client, project, queue, labels, annotator, second_annotator, manager
):
    annotate_item(queue[5], annotator, {labels[0]: 1})
    assert next_item(annotator=annotator, project=project) is not None
    membership = Membership.objects.get(project=project, user=annotator)
    client.force_login(manager)

    response = client.post(reverse("person-active", args=[project.pk, membership.pk]), {"active": "0"}, follow=True)

    assert "1 item(s) they held went back" in response.content.decode()
    annotator.refresh_from_db()
    assert not annotator.is_active
    assert not Lease.objects.filter(annotator=annotator).exists()
    assert Annotation.objects.filter(annotator=annotator).count() == 1
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not client.login(username="annie", password="pw-annie")
    assert AuditEvent.objects.filter(action="person.deactivate", project=project).count() == 1

    client.force_login(manager)
    client.post(reverse("person-active", args=[project.pk, membership.pk]), {"active": "1"})
    assert client.login(username="annie", password="pw-annie")


def test_a_deactivated_persons_api_token_stops_working(project, annotator, manager):
    from annotate.setup.accounts import deactivate_person
    from tests.api_support import api, client_for

    script = client_for(annotator)
    assert script.get(api("/projects")).status_code == 200
    deactivate_person(person=annotator, actor=manager)
    assert script.get(api("/projects")).status_code == 401


def test_managers_cannot_deactivate_themselves(client, project, manager):
    client.force_login(manager)
    membership = Membership.objects.get(project=project, user=manager)
    client.post(reverse("person-active", args=[project.pk, membership.pk]), {"active": "0"})
    manager.refresh_from_db()
    assert manager.is_active


def test_the_admin_action_deactivates_and_releases_leases_too(client, project, queue, annotator):
    from tests.factories import make_user

    root = make_user("root", is_superuser=True, is_staff=True)
    assert next_item(annotator=annotator, project=project) is not None
    client.force_login(root)
    response = client.post(
        reverse("admin:auth_user_changelist"), {"action": "deactivate_people", "_selected_action": [annotator.pk]}
    )
    assert response.status_code == 302
    annotator.refresh_from_db()
    assert not annotator.is_active
    assert not Lease.objects.filter(annotator=annotator).exists()


def test_the_login_page_says_the_account_is_deactivated_only_to_the_right_password(client, annotator, manager):
    """It gave the generic "correct username and password" message, so the person kept trying (issue 14)."""
    from annotate.setup.accounts import deactivate_person

    deactivate_person(person=annotator, actor=manager)
    url = reverse("login")
    right = client.post(url, {"username": "annie", "password": "pw-annie"})
    assert right.status_code == 200
    assert "This account is deactivated" in right.content.decode()
    wrong = client.post(url, {"username": "annie", "password": "guess"})
    assert "This account is deactivated" not in wrong.content.decode()
    assert "correct username and password" in wrong.content.decode()
    assert "_auth_user_id" not in client.session
