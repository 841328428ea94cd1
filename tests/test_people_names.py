"""Pages show people by name (full name, else username); the API and exports keep the stable usernames."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from annotate.curation.flags import set_flag
from annotate.curation.review import set_resolution
from annotate.models import record_audit
from annotate.setup.labelset import merge_labels
from tests.api_support import api, client_for
from tests.factories import annotate_item, make_labels


def test_members_and_audit_pages_show_full_names_and_the_api_keeps_usernames(
    client, project, items, labels, annotator, manager
):
    annotator.first_name, annotator.last_name = "Annie", "Lindqvist"
    annotator.save()
    manager.first_name = "Manfred"
    manager.save()
    record_audit(action="member.role", actor=manager, project=project)
    annotate_item(items[0], annotator, {labels[0]: 1})
    client.force_login(manager)

    members = client.get(reverse("members", args=[project.pk])).content.decode()
    assert "Annie Lindqvist" in members
    audit = client.get(reverse("audit", args=[project.pk])).content.decode()
    assert "<td>Manfred</td>" in audit
    assert '<option value="manny">Manfred</option>' in audit
    assert client.get(reverse("audit", args=[project.pk]), {"actor": "manny"}).status_code == 200

    rows = client_for(manager).get(api("/annotations", project)).json()["results"]
    assert [row["annotator"] for row in rows] == ["annie"]
    exported = b"".join(
        client_for(manager).get(api("/export", project), {"include_judgments": "true"}).streaming_content
    )
    assert b"annie" in exported and b"Lindqvist" not in exported


def test_the_guideline_history_names_its_authors(client, project, annotator, manager):
    from tests.factories import make_guideline

    manager.first_name, manager.last_name = "Manfred", "Ost"
    manager.save()
    make_guideline(project, 1, author=manager)
    client.force_login(annotator)
    page = client.get(reverse("guideline", args=[project.pk])).content.decode()
    assert "Manfred Ost" in page


def name(user, first: str, last: str = "") -> None:
    user.first_name, user.last_name = first, last
    user.save()


@pytest.fixture
def named_dispute(project, items, labels, guideline, annotator, second_annotator, reviewer):
    """items[0] disputed on shipping between Annie and Sam, flagged by Annie, decided twice by Rita."""
    name(annotator, "Annie", "Lindqvist")
    name(second_annotator, "Samir", "Haddad")
    name(reviewer, "Rita", "Moreau")
    shipping = labels[0]
    annotate_item(items[0], annotator, {shipping: 1}, guideline=guideline)
    annotate_item(items[0], second_annotator, {shipping: 0}, guideline=guideline)
    set_flag(item=items[0], annotator=annotator, reason="unclear", comment="")
    return items[0], shipping


@pytest.mark.parametrize("query", ["", "?by=item"], ids=["by label", "by item"])
def test_the_review_page_names_annotators_and_reviewers(client, project, named_dispute, reviewer, query):
    client.force_login(reviewer)
    html = client.get(reverse("review", args=[project.pk]) + query).content.decode()
    assert "<td>Annie Lindqvist</td>" in html and "<td>Samir Haddad</td>" in html
    assert "<strong>Annie Lindqvist</strong>: unclear" in html  # the flag beside the answers
    assert ">annie<" not in html and ">arthur<" not in html


def test_a_decision_and_its_history_name_the_reviewer(client, project, named_dispute, reviewer, manager):
    item, shipping = named_dispute
    name(manager, "Manfred", "Ost")
    set_resolution(item=item, label=shipping, value=1, note="", reviewer=manager)
    set_resolution(item=item, label=shipping, value=0, note="", reviewer=reviewer)
    client.force_login(reviewer)
    html = client.get(reverse("review", args=[project.pk]), {"show": "resolved"}).content.decode()
    assert "by Rita Moreau," in html
    assert "yes by Manfred Ost," in html  # the earlier decision, from the audit trail
    assert "by rita" not in html and "by manny" not in html


def test_merge_conflicts_name_the_annotator_on_the_labels_and_review_pages(
    client, project, guideline, items, annotator, manager, reviewer
):
    name(annotator, "Annie", "Lindqvist")
    request, refund = make_labels(project, ["refund request", "refund"])
    annotate_item(items[0], annotator, {request: (1, 0.9), refund: (0, 0.8)}, guideline=guideline)
    merge_labels(source=request, target=refund, actor=manager)
    client.force_login(manager)
    labels_page = client.get(reverse("labels", args=[project.pk])).content.decode()
    assert "Annie Lindqvist said yes to “refund request”" in labels_page
    review = client.get(reverse("review", args=[project.pk])).content.decode()
    assert "Merge conflict: <strong>Annie Lindqvist</strong> said" in review


def test_the_dashboard_tables_name_annotators_and_follow_a_rename(client, project, named_dispute, reviewer):
    client.force_login(reviewer)
    html = client.get(reverse("dashboard", args=[project.pk])).content.decode()
    assert '<th scope="row">Annie Lindqvist</th>' in html and '<th scope="row">Samir Haddad</th>' in html
    assert "Annie Lindqvist · Samir Haddad" in html or "Samir Haddad · Annie Lindqvist" in html
    assert '<th scope="row">annie</th>' not in html

    # The charts are cached per generation of the answers; a new name alone shows at once.
    annie = get_user_model().objects.get(username="annie")
    name(annie, "Anna", "Berg")
    html = client.get(reverse("dashboard", args=[project.pk])).content.decode()
    assert '<th scope="row">Anna Berg</th>' in html
    # The JSON twin keeps the stable usernames.
    figures = client_for(reviewer).get(api("/agreement", project)).json()
    assert {row["username"] for row in figures["annotators"]} == {"annie", "arthur"}


def test_the_remove_personal_data_page_names_the_person_and_asks_for_the_username(client, annotator, manager):
    name(annotator, "Annie", "Lindqvist")
    client.force_login(manager)
    html = client.get(reverse("remove-personal-data", args=[annotator.pk])).content.decode()
    assert "<h1>Remove the personal data of Annie Lindqvist</h1>" in html
    assert "Type <code>annie</code> to confirm" in html  # the stable username is what is typed


def test_the_set_password_page_names_the_person_and_the_user_name_to_log_in_with(client, annotator):
    from annotate.setup.accounts import password_link_path

    name(annotator, "Annie", "Lindqvist")
    html = client.get(password_link_path(annotator), follow=True).content.decode()
    assert "For Annie Lindqvist: you log in with the user name <strong>annie</strong>." in html
