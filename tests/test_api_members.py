"""Managers list, add, re-role and remove members through the API, as on the members page."""

from __future__ import annotations

from annotate.models import AuditEvent, Lease, Membership, Role
from annotate.work.queue import next_item
from tests.api_support import api, client_for
from tests.factories import make_user


def test_a_manager_adds_changes_and_removes_a_member(project, queue, manager, annotator):
    newcomer = make_user("nils", first_name="Nils", last_name="Berg")
    script = client_for(manager)

    added = script.post(api("/members", project), {"username": "nils", "role": "reviewer"}, format="json")
    assert added.status_code == 201
    assert {key: added.json()[key] for key in ("username", "name", "role", "is_active")} == {
        "username": "nils",
        "name": "Nils Berg",
        "role": "reviewer",
        "is_active": True,
    }
    listed = script.get(api("/members", project)).json()["results"]
    assert sorted(row["username"] for row in listed) == ["annie", "manny", "nils"]

    changed = script.patch(api(f"/members/{newcomer.pk}", project), {"role": "annotator"}, format="json")
    assert changed.json()["role"] == "annotator"

    next_item(annotator=annotator, project=project)
    assert script.delete(api(f"/members/{annotator.pk}", project)).status_code == 204
    assert not Membership.objects.filter(project=project, user=annotator).exists()
    assert not Lease.objects.filter(annotator=annotator).exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["member.add", "member.role", "member.remove"]


def test_bad_member_requests_change_nothing(project, manager, annotator, reviewer):
    script = client_for(manager)
    unknown = script.post(api("/members", project), {"username": "ghost", "role": "annotator"}, format="json")
    assert unknown.status_code == 400 and "username" in unknown.json()
    twice = script.post(api("/members", project), {"username": "annie", "role": "annotator"}, format="json")
    assert twice.status_code == 409
    bad_role = script.post(api("/members", project), {"username": "annie", "role": "owner"}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()
    last_manager = script.delete(api(f"/members/{manager.pk}", project))
    assert last_manager.status_code == 409
    assert client_for(reviewer).delete(api(f"/members/{annotator.pk}", project)).status_code == 403
    assert Membership.objects.filter(project=project).count() == 3
    assert Membership.objects.get(project=project, user=manager).role == Role.MANAGER
    assert not AuditEvent.objects.exists()


def test_a_member_is_found_by_the_name_the_login_reads(project, manager, annotator):
    """Fullwidth "annie" logs in as annie; adding a member by it said there was no such user."""
    Membership.objects.filter(user=annotator).delete()
    fullwidth = "\uff41\uff4e\uff4e\uff49\uff45"
    body = {"username": fullwidth, "role": "annotator"}
    response = client_for(manager).post(api("/members", project), body, format="json")
    assert response.status_code == 201
    assert Membership.objects.filter(project=project, user=annotator).exists()
