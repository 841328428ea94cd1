"""The members page: managers add users by username, change roles and remove members; each is audited."""

from __future__ import annotations

from django.urls import reverse

from annotate.models import AuditEvent, Membership, Role
from tests.factories import make_user


def test_manager_adds_changes_and_removes_a_member(client, project, manager):
    newcomer = make_user("nina")
    client.force_login(manager)
    page = client.get(reverse("members", args=[project.pk])).content.decode()
    assert "manny" in page and "nina" not in page

    response = client.post(reverse("member-add", args=[project.pk]), {"username": "nina", "role": "reviewer"})
    assert response.status_code == 302
    membership = Membership.objects.get(project=project, user=newcomer)
    assert membership.role == Role.REVIEWER

    client.post(reverse("member-role", args=[project.pk, membership.pk]), {"role": "annotator"})
    assert Membership.objects.get(pk=membership.pk).role == Role.ANNOTATOR

    client.post(reverse("member-remove", args=[project.pk, membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "member.add",
        "member.role",
        "member.remove",
    ]


def test_refusals_are_explained_and_change_nothing(client, project, manager):
    client.force_login(manager)
    response = client.post(
        reverse("member-add", args=[project.pk]), {"username": "ghost", "role": "annotator"}, follow=True
    )
    assert "There is no user called “ghost”" in response.content.decode()
    own = Membership.objects.get(project=project, user=manager)
    response = client.post(reverse("member-role", args=[project.pk, own.pk]), {"role": "annotator"}, follow=True)
    assert "at least one manager" in response.content.decode()
    assert Membership.objects.get(pk=own.pk).role == Role.MANAGER
    assert not AuditEvent.objects.exists()


def test_a_membership_of_another_project_is_not_found(client, project, other_project, manager, outsider):
    theirs = Membership.objects.get(project=other_project, user=outsider)
    client.force_login(manager)
    response = client.post(reverse("member-remove", args=[project.pk, theirs.pk]))
    assert response.status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()
