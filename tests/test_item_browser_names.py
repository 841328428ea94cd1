"""The item browser shows people by name (full name, else username); its annotator filter still sends the user's id."""

from __future__ import annotations

import re

import pytest

from annotate.curation.review import set_resolution
from tests.factories import add_member, annotate_item, make_user


def name(user, first: str, last: str = "") -> None:
    user.first_name, user.last_name = first, last
    user.save()


@pytest.fixture
def named(project, items, labels, guideline, annotator, second_annotator, reviewer, manager):
    """Annie and Rita and Manfred have full names, arthur has none; items[0] decided by Rita, then by Manfred."""
    name(annotator, "Annie", "Lindqvist")
    name(reviewer, "Rita", "Moreau")
    name(manager, "Manfred", "Ost")
    shipping = labels[0]
    annotate_item(items[0], annotator, {shipping: 1}, guideline=guideline)
    annotate_item(items[0], second_annotator, {shipping: 0}, guideline=guideline)
    set_resolution(item=items[0], label=shipping, value=0, note="", reviewer=reviewer)
    set_resolution(item=items[0], label=shipping, value=1, note="", reviewer=manager)
    return items


def options(html: str) -> list[tuple[str, str]]:
    select = re.search(r'<select id="f-annotator" name="annotator">(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', select)


def test_the_annotator_filter_offers_names_in_their_order_and_sends_ids(
    client, project, named, annotator, second_annotator, reviewer, manager
):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/").content.decode()
    assert options(html) == [
        ("", "Anyone"),
        (str(annotator.pk), "Annie Lindqvist"),
        (str(second_annotator.pk), "arthur"),
        (str(manager.pk), "Manfred Ost"),
        (str(reviewer.pk), "Rita Moreau"),
    ]
    html = client.get(f"/projects/{project.pk}/items/", {"annotator": annotator.pk}).content.decode()
    assert f'<option value="{annotator.pk}" selected>Annie Lindqvist</option>' in html
    assert re.findall(r'<code class="external-id">(item-\d+)</code>', html) == ["item-0"]


def test_the_item_page_names_annotators_and_deciders(client, project, named, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/{named[0].pk}/").content.decode()
    answers = html[html.index('class="table item-answers"') : html.index("</table>")]
    assert "Annie Lindqvist" in answers and "arthur" in answers
    assert "by Manfred Ost" in answers  # the decision
    assert "no by Rita Moreau" in answers  # the earlier decision
    annotations = html[html.index('class="annotation-list"') :]
    assert "<strong>Annie Lindqvist</strong>" in annotations and "<strong>arthur</strong>" in annotations
    assert ">annie<" not in html and "by manny" not in html and "by rita" not in html


def test_a_former_member_can_still_be_filtered_by_a_link(client, project, named, reviewer, other_project):
    # Removed from the project, Annie's answers stay: a link to her items keeps working and names her.
    annotator = named[0].annotations.get(annotator__username="annie").annotator
    annotator.memberships.filter(project=project).delete()
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/", {"annotator": annotator.pk}).content.decode()
    assert f'<option value="{annotator.pk}" selected>Annie Lindqvist</option>' in html
    assert re.findall(r'<code class="external-id">(item-\d+)</code>', html) == ["item-0"]
    # Someone who neither is nor was in the project is a value the form never sends.
    stranger = make_user("stan")
    add_member(other_project, stranger)
    response = client.get(f"/projects/{project.pk}/items/", {"annotator": stranger.pk})
    assert response.status_code == 400 and b'data-field="annotator"' in response.content


def test_two_people_of_the_same_name_are_told_apart_by_username(client, project, named, annotator, reviewer):
    namesake = make_user("annie2", first_name="Annie", last_name="Lindqvist")
    add_member(project, namesake)
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/").content.decode()
    assert (str(annotator.pk), "Annie Lindqvist (annie)") in options(html)
    assert (str(namesake.pk), "Annie Lindqvist (annie2)") in options(html)
    assert (str(reviewer.pk), "Rita Moreau") in options(html)
