"""Scripts create accounts for new people, issue password links and deactivate people through the API."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from annotate.models import Lease, Membership, Role
from annotate.work.queue import next_item
from tests.api_support import api, client_for
from tests.factories import add_member

User = get_user_model()


def test_a_new_person_gets_an_account_a_membership_and_a_working_link(client, project, manager):
    response = client_for(manager).post(
        api("/people", project), {"username": "nora", "full_name": "Nora Quist", "role": "reviewer"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    nora = User.objects.get(username="nora")
    assert (body["user_id"], body["username"], body["emailed"]) == (nora.pk, "nora", False)
    assert Membership.objects.get(project=project, user=nora).role == Role.REVIEWER
    link = body["password_link"].removeprefix("http://testserver")
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "a long passphrase", "new_password2": "a long passphrase"}
    )
    assert client.login(username="nora", password="a long passphrase")


def test_bad_people_requests_create_nothing(project, manager, annotator):
    script = client_for(manager)
    taken = script.post(api("/people", project), {"username": "annie", "role": "annotator"}, format="json")
    assert taken.status_code == 400 and "username" in taken.json()
    bad_email = script.post(
        api("/people", project), {"username": "x1", "email": "nope", "role": "annotator"}, format="json"
    )
    assert bad_email.status_code == 400 and "email" in bad_email.json()
    assert not User.objects.filter(username="x1").exists()


def test_password_links_and_deactivation_only_for_people_the_manager_fully_manages(
    project, other_project, queue, manager, annotator, second_annotator
):
    script = client_for(manager)
    link = script.post(api(f"/members/{annotator.pk}/password-link", project))
    assert link.status_code == 200 and "/accounts/reset/" in link.json()["password_link"]

    next_item(annotator=annotator, project=project)
    off = script.post(api(f"/members/{annotator.pk}/active", project), {"active": False}, format="json")
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert not Lease.objects.filter(annotator=annotator).exists()
    on = script.post(api(f"/members/{annotator.pk}/active", project), {"active": True}, format="json")
    assert on.json()["is_active"] is True

    add_member(other_project, second_annotator, Role.ANNOTATOR)
    assert script.post(api(f"/members/{second_annotator.pk}/password-link", project)).status_code == 403
    refused = script.post(api(f"/members/{second_annotator.pk}/active", project), {"active": False}, format="json")
    assert refused.status_code == 403
    second_annotator.refresh_from_db()
    assert second_annotator.is_active


def test_acting_on_oneself_is_refused_as_such(project, manager):
    """It said "… is also in projects you do not manage"; the rule is that nobody acts on their own account."""
    script = client_for(manager)
    for path, body in [("password-link", None), ("active", {"active": False})]:
        refused = script.post(api(f"/members/{manager.pk}/{path}", project), body, format="json")
        assert refused.status_code == 403
        assert "Nobody acts on their own account" in str(refused.json())
    manager.refresh_from_db()
    assert manager.is_active
