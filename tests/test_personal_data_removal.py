"""Removing a person's personal data: a pseudonym replaces what identified them, their answers stay and count."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from knox.models import AuthToken

from annotate.models import Annotation, AuditEvent, Lease, Role
from annotate.setup import members
from annotate.setup.privacy import may_remove, remove_personal_data
from tests.factories import add_member, annotate_item, make_user

User = get_user_model()


@pytest.fixture
def answered(project, labels, guideline, items, annotator, manager):
    """Annie answered two items and was added through the members page (so the audit trail names her)."""
    annotator.email, annotator.first_name, annotator.last_name = "annie@example.com", "Annie", "Example"
    annotator.save()
    shipping, refund, *_ = labels
    for item in items[:2]:
        annotate_item(item, annotator, {shipping: 1, refund: 0}, guideline=guideline)
    members.change_role(membership=annotator.memberships.get(), role=Role.REVIEWER, actor=manager)
    AuthToken.objects.create(user=annotator)
    AccessAttempt.objects.create(
        username="annie", ip_address="192.0.2.1", user_agent="ua", failures_since_start=1, get_data="", post_data=""
    )
    return annotator


@pytest.mark.django_db
def test_the_person_becomes_a_pseudonym_and_their_answers_stay(answered, manager, client):
    annie = answered
    before = list(Annotation.objects.filter(annotator=annie).values_list("pk", flat=True))
    name = remove_personal_data(person=annie, actor=manager)

    annie.refresh_from_db()
    assert name == annie.username == f"removed-{annie.pk}"
    assert (annie.email, annie.first_name, annie.last_name) == ("", "", "")
    assert not annie.is_active and not annie.has_usable_password()
    assert list(Annotation.objects.filter(annotator=annie).values_list("pk", flat=True)) == before
    assert not AuthToken.objects.filter(user=annie).exists()
    assert not AccessAttempt.objects.filter(username="annie").exists()
    # The trail: nothing names her any more, and the removal itself is recorded without the old name.
    assert not AuditEvent.objects.filter(before__icontains="annie").exists()
    assert not AuditEvent.objects.filter(after__icontains="annie").exists()
    event = AuditEvent.objects.get(action="person.personal_data_removed")
    assert event.actor == manager
    assert event.after == {"pseudonym": name, "audit_events_rewritten": 1}
    assert client.login(username="annie", password="pw-annie") is False


@pytest.mark.django_db
def test_her_sessions_end_and_her_leases_are_released(answered, manager, client, items):
    client.force_login(answered)
    Lease.objects.create(item=items[3], annotator=answered, expires_at=items[3].created_at)
    remove_personal_data(person=answered, actor=manager)
    assert client.get("/").status_code == 302
    assert not Lease.objects.filter(annotator=answered).exists()


@pytest.mark.django_db
def test_who_may_remove_whom(project, other_project, annotator, manager, reviewer):
    admin = make_user("root", is_staff=True)
    assert may_remove(actor=manager, person=annotator)
    assert not may_remove(actor=reviewer, person=annotator)
    assert not may_remove(actor=manager, person=manager)
    assert may_remove(actor=admin, person=annotator)
    # Someone who also works in a project the manager does not run is not theirs to remove.
    add_member(other_project, annotator, Role.ANNOTATOR)
    assert not may_remove(actor=manager, person=annotator)
    assert may_remove(actor=admin, person=annotator)


@pytest.mark.django_db
def test_the_page_asks_for_the_username_then_removes(client, answered, manager, project):
    client.force_login(manager)
    url = f"/people/{answered.pk}/remove-personal-data/"
    page = client.get(url)
    assert page.status_code == 200 and b"2 annotations" in page.content
    wrong = client.post(url, {"confirm": "anni"})
    assert wrong.status_code == 400
    assert User.objects.get(pk=answered.pk).username == "annie"
    done = client.post(url, {"confirm": "annie", "back": f"/projects/{project.pk}/members/"})
    assert done.status_code == 302 and done["Location"] == f"/projects/{project.pk}/members/"
    members_page = client.get(f"/projects/{project.pk}/members/").content
    assert f"removed-{answered.pk}".encode() in members_page and b"annie" not in members_page


@pytest.mark.django_db
def test_the_page_refuses_a_manager_who_does_not_run_all_her_projects(client, answered, reviewer, other_project):
    client.force_login(reviewer)
    url = f"/people/{answered.pk}/remove-personal-data/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"confirm": "annie"}).status_code == 403
    assert User.objects.get(pk=answered.pk).username == "annie"


@pytest.mark.django_db
def test_the_page_never_redirects_elsewhere(client, answered, manager):
    client.force_login(manager)
    done = client.post(
        f"/people/{answered.pk}/remove-personal-data/", {"confirm": "annie", "back": "https://evil.example/"}
    )
    assert done["Location"] == "/"


@pytest.mark.django_db
def test_the_management_command(answered, manager, capsys):
    call_command("remove_personal_data", "annie", "--user", "manny", "--yes")
    assert f"removed-{answered.pk}" in capsys.readouterr().out
    assert User.objects.get(pk=answered.pk).email == ""
    assert AuditEvent.objects.get(action="person.personal_data_removed").actor == manager


@pytest.mark.django_db
def test_the_command_holds_the_named_actor_to_the_rule_and_keeps_an_admin(answered, other_project, manager):
    """It removed the only admin, named by themselves, and --user was recorded but never checked (issue 16)."""
    from django.core.management.base import CommandError

    stranger = make_user("stan")
    add_member(other_project, stranger, Role.MANAGER)
    with pytest.raises(CommandError, match="stan may not remove annie"):
        call_command("remove_personal_data", "annie", "--user", "stan", "--yes")
    admin = User.objects.create_superuser("root", "", "a long admin passphrase")
    with pytest.raises(CommandError, match="root may not remove root"):
        call_command("remove_personal_data", "root", "--user", "root", "--yes")
    with pytest.raises(CommandError, match="root is the only active admin"):
        call_command("remove_personal_data", "root", "--yes")
    assert User.objects.filter(username__in=["annie", "root"]).count() == 2
    assert not AuditEvent.objects.filter(action="person.personal_data_removed").exists()
    # With another admin, the operator may remove this one.
    User.objects.create_superuser("root2", "", "another long passphrase")
    call_command("remove_personal_data", "root", "--user", "root2", "--yes")
    assert not User.objects.get(pk=admin.pk).is_superuser


@pytest.mark.django_db
def test_a_person_created_in_the_app_leaves_no_name_or_address_in_the_trail(project, manager):
    """The creation event kept the full name after a removal (issue 16); a name changed since is emptied too."""
    from annotate.setup.accounts import create_person

    create_person(
        project=project,
        actor=manager,
        username="zoe",
        full_name="Zoë  van   Dijk",
        email="zoe@example.com",
        role=Role.ANNOTATOR,
        base_url="http://testserver",
    )
    zoe = User.objects.get(username="zoe")
    zoe.first_name, zoe.last_name = "Zoë", "de Vries"  # married since: the trail still holds the old name
    zoe.save()
    remove_personal_data(person=zoe, actor=manager)
    for text in ("Zoë", "Dijk", "Vries", "zoe@example.com", '"zoe"'):
        assert not AuditEvent.objects.filter(before__icontains=text).exists(), text
        assert not AuditEvent.objects.filter(after__icontains=text).exists(), text
    created = AuditEvent.objects.get(action="person.create")
    assert created.after == {"user": f"removed-{zoe.pk}", "name": "", "email": "", "role": Role.ANNOTATOR}
