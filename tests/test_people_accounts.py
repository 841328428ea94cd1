"""A manager creates an account for a new person, who sets a password by a one-time link; managers issue new links."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone

from annotate.models import AuditEvent, Membership, Role
from tests.factories import add_member, make_user

User = get_user_model()


def create_person(client, project, manager, **fields: str):
    client.force_login(manager)
    data = {"username": "nora", "full_name": "Nora Quist", "email": "", "role": "annotator", **fields}
    return client.post(reverse("person-create", args=[project.pk]), data)


def link_in(response) -> str:
    match = re.search(r'value="(http://testserver/accounts/reset/[^"]+)"', response.content.decode())
    assert match, "the page shows no one-time link"
    return match.group(1).removeprefix("http://testserver")


def set_password(client, link: str, password: str = "a long new passphrase"):
    client.logout()
    form_page = client.get(link, follow=True)
    return client.post(
        form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}, follow=True
    )


def test_the_new_person_gets_an_account_a_membership_and_a_link_that_works_once(client, project, manager):
    response = create_person(client, project, manager)

    assert response.status_code == 200
    nora = User.objects.get(username="nora")
    assert (nora.get_full_name(), nora.has_usable_password()) == ("Nora Quist", False)
    assert Membership.objects.get(project=project, user=nora).role == Role.ANNOTATOR
    assert {"person.create", "member.add"} <= set(AuditEvent.objects.values_list("action", flat=True))
    link = link_in(response)
    assert link.split("/")[-2] not in str(list(AuditEvent.objects.values_list("after", flat=True)))

    done = set_password(client, link)
    assert "Password set" in done.content.decode()
    assert client.login(username="nora", password="a long new passphrase")

    client.logout()
    again = client.get(link, follow=True)
    assert "This link does not work" in again.content.decode()


def test_a_link_expires(project, manager):
    nora = make_user("nora")
    token = default_token_generator.make_token(nora)
    later = timezone.now() + timedelta(days=4)
    generator = type(default_token_generator)()
    generator._now = lambda: later.replace(tzinfo=None)  # type: ignore[method-assign]
    assert default_token_generator.check_token(nora, token)
    assert not generator.check_token(nora, token)


def test_bad_input_creates_no_account(client, project, manager, annotator):
    for fields in ({"username": "annie"}, {"username": "no spaces"}, {"email": "not-an-address"}, {"role": "boss"}):
        response = create_person(client, project, manager, **fields)
        assert response.status_code == 400
    assert not User.objects.filter(username__in=["nora", "no spaces"]).exists()
    assert not AuditEvent.objects.filter(action="person.create").exists()


def test_a_refused_new_person_keeps_what_was_typed_with_the_message_beside_its_field(client, project, manager):
    response = create_person(client, project, manager, username="nora quist", email="nora@example.org", role="reviewer")
    assert response.status_code == 400
    html = response.content.decode()
    # The members page again, not a redirect that empties the form: the manager fixes one field.
    assert re.search(r'<input id="new-username"[^>]* value="nora quist"', html)
    assert re.search(r'<input id="new-full-name"[^>]* value="Nora Quist"', html)
    assert re.search(r'<input id="new-email"[^>]* value="nora@example.org"', html)
    assert '<option value="reviewer" selected>' in html
    error = '<p class="field-error" role="alert" id="new-username-error">'
    assert error + "A username has letters, digits and @ . + - _ only" in html


def test_the_link_is_also_e_mailed_when_e_mail_is_configured(client, project, manager, settings, mailoutbox):
    settings.EMAIL_CONFIGURED = True
    response = create_person(client, project, manager, email="nora@example.org")
    assert "also e-mailed" in response.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["nora@example.org"]
    assert link_in(response).split("/")[-2] in mailoutbox[0].body


def test_without_e_mail_nothing_is_sent_and_the_reset_page_says_to_ask_a_manager(client, project, manager, mailoutbox):
    create_person(client, project, manager, email="nora@example.org")
    assert mailoutbox == []
    client.logout()
    assert "Ask a manager" in client.get(reverse("password_reset")).content.decode()


def test_a_manager_issues_a_new_link_that_resets_a_forgotten_password(client, project, manager, annotator):
    client.force_login(manager)
    membership = Membership.objects.get(project=project, user=annotator)
    response = client.post(reverse("person-password-link", args=[project.pk, membership.pk]))
    assert response.status_code == 200
    set_password(client, link_in(response), "another long passphrase")
    assert client.login(username="annie", password="another long passphrase")
    assert AuditEvent.objects.filter(action="person.password_link", object_id=str(annotator.pk)).exists()


def test_a_manager_cannot_take_over_people_who_are_also_in_projects_they_do_not_manage(
    client, project, other_project, manager, annotator
):
    add_member(other_project, annotator, Role.ANNOTATOR)
    admin = make_user("root", is_staff=True)
    add_member(project, admin, Role.ANNOTATOR)
    client.force_login(manager)
    for person in (annotator, admin):
        membership = Membership.objects.get(project=project, user=person)
        response = client.post(reverse("person-password-link", args=[project.pk, membership.pk]), follow=True)
        assert "ask an admin" in response.content.decode()
        assert "/accounts/reset/" not in response.content.decode()


def test_a_username_in_another_unicode_form_is_refused_naming_the_one_the_login_reads(client, project, manager):
    """An account "ｆｕｌｌ" could never log in on the page, which reads it as "full" (NFKC), and passed for "full"."""  # noqa: RUF002
    fullwidth = "\uff46\uff55\uff4c\uff4c"
    response = create_person(client, project, manager, username=fullwidth)
    assert response.status_code == 400
    assert "as the login reads it: “full” rather than" in response.content.decode()
    assert not User.objects.filter(username=fullwidth).exists()
    # Its normal form is an ordinary name.
    assert create_person(client, project, manager, username="full").status_code == 200
