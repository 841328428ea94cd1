"""Review by item: every open disputed label of an item together, and "accept the majority for this item"."""

from __future__ import annotations

import re

import pytest

from annotate.curation.review import resolution_state, review_by_item, set_resolution
from annotate.models import AuditEvent, Resolution, Role
from tests.factories import add_member, annotate_item, make_user


@pytest.fixture
def third_annotator(project):
    user = make_user("anton")
    add_member(project, user, Role.ANNOTATOR)
    return user


@pytest.fixture
def split_item(items, labels, guideline, annotator, second_annotator, third_annotator):
    """items[0] disputed on three labels: 2 yes / 1 no, 1 yes / 2 no, and an exact tie; items[1] on one."""
    shipping, refund, billing, bug, _ = labels
    annotate_item(items[0], annotator, {shipping: 1, refund: 1, billing: (1, 0.8)}, guideline=guideline)
    annotate_item(items[0], second_annotator, {shipping: 1, refund: 0, billing: (0, 0.8)}, guideline=guideline)
    annotate_item(items[0], third_annotator, {shipping: 0, refund: 0}, guideline=guideline)
    annotate_item(items[1], annotator, {bug: 1}, guideline=guideline)
    annotate_item(items[1], second_annotator, {bug: 0}, guideline=guideline)
    return items[0]


def test_each_item_comes_once_with_all_its_open_disputed_labels(project, split_item, items, labels):
    page = review_by_item(project=project, limit=10)
    # items[0] holds the entries with the most annotators, which the review order puts first.
    assert [review.item for review in page.items] == [split_item, items[1]]
    by_item = {review.item: review for review in page.items}
    assert {entry.label.name for entry in by_item[split_item].entries} == {"shipping", "refund", "billing"}
    assert [entry.label.name for entry in by_item[items[1]].entries] == ["bug"]
    assert page.total == 2 and not page.has_next
    majority = {entry.label.name: entry.majority for entry in by_item[split_item].entries}
    assert majority == {"shipping": 1, "refund": 0, "billing": None}


def test_an_item_whose_disputes_are_all_resolved_leaves_the_page_and_next_continues_after_the_last_item(
    project, split_item, items, labels, manager
):
    first = review_by_item(project=project, limit=1)
    assert len(first.items) == 1 and first.has_next
    for entry in first.items[0].entries:
        set_resolution(item=entry.item, label=entry.label, value=1, note="", reviewer=manager)
    after = review_by_item(project=project, limit=1, after=first.next_after)
    assert [review.item for review in after.items] != [first.items[0].item]
    assert len(after.items) == 1 and not after.has_next
    assert review_by_item(project=project, limit=10).total == 1


def seen_fields(entries):
    data = {"label": [entry.label.pk for entry in entries]}
    data |= {f"seen-{entry.label.pk}": entry.seen for entry in entries}
    return data


def test_accept_the_majority_resolves_each_label_to_its_majority_and_leaves_a_tie_open(
    client, project, split_item, labels, reviewer
):
    (review,) = [r for r in review_by_item(project=project, limit=10).items if r.item == split_item]
    client.force_login(reviewer)

    response = client.post(
        f"/projects/{project.pk}/review/majority/",
        {"item": split_item.pk, **seen_fields(review.entries)},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<section")
    assert "Left open, the answers are split evenly: billing." in html
    assert 'hx-swap-oob="true" aria-label="2 open">2</span>' in html  # billing here, bug on the other item
    decided = dict(Resolution.objects.filter(item=split_item).values_list("label__name", "value"))
    assert decided == {"shipping": 1, "refund": 0}
    assert set(Resolution.objects.values_list("note", flat=True)) == {"majority"}
    assert AuditEvent.objects.filter(action="resolution.set").count() == 2


def test_accept_the_majority_leaves_a_label_decided_since_the_page_loaded(
    client, project, split_item, labels, reviewer, manager
):
    shipping, refund, *_ = labels
    (review,) = [r for r in review_by_item(project=project, limit=10).items if r.item == split_item]
    set_resolution(item=split_item, label=shipping, value=0, note="sarcasm", reviewer=manager)
    client.force_login(reviewer)

    html = client.post(
        f"/projects/{project.pk}/review/majority/",
        {"item": split_item.pk, **seen_fields(review.entries)},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert "Decided by someone else since your page loaded: shipping." in html
    assert Resolution.objects.get(item=split_item, label=shipping).value == 0  # not overwritten
    assert Resolution.objects.get(item=split_item, label=refund).value == 0


@pytest.mark.parametrize(
    "data",
    [{}, {"label": ["x"]}, {"label": ["1"]}],
    ids=["no labels", "not a number", "no seen field"],
)
def test_a_malformed_majority_form_is_a_400_and_changes_nothing(client, project, split_item, reviewer, data):
    client.force_login(reviewer)
    response = client.post(f"/projects/{project.pk}/review/majority/", {"item": split_item.pk, **data})
    assert response.status_code == 400
    assert b"label" in response.content
    assert not Resolution.objects.exists()


def test_annotators_get_403_on_the_majority_action(client, project, split_item, labels, annotator):
    client.force_login(annotator)
    data = {"item": split_item.pk, "label": [labels[0].pk], f"seen-{labels[0].pk}": resolution_state(None)}
    assert client.post(f"/projects/{project.pk}/review/majority/", data).status_code == 403
    assert not Resolution.objects.exists()


def test_the_by_item_page_shows_the_text_once_keys_and_the_majority_button(client, project, split_item, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/review/?by=item").content.decode()
    section = html[html.index(f'id="item-{split_item.pk}"') :]
    section = section[: section.index("</section>")]
    assert section.count("Text number 0") == 1
    assert re.findall(r'<kbd class="entry-key" aria-hidden="true">(\d)</kbd>', section) == ["1", "2", "3"]
    assert "Accept the majority for this item <kbd>a</kbd>" in section
    assert "billing: tie, left open" in section
    # A decision posted from this page keeps the by-item layout in its answer.
    assert section.count('name="by" value="item"') == 3


def card_of(html: str, item) -> str:
    section = html[html.index(f'id="item-{item.pk}"') :]
    return section[: section.index("</section>")]


def test_a_decision_on_one_label_of_a_card_refreshes_its_header_and_majority_form(
    client, project, split_item, labels, reviewer
):
    shipping, refund, billing, *_ = labels
    client.force_login(reviewer)
    page = client.get(f"/projects/{project.pk}/review/?by=item").content.decode()
    assert "3 open of 3 disputed" in card_of(page, split_item)
    card = re.search(r'name="card" value="([\d,]+)"', card_of(page, split_item)).group(1)
    assert card.split(",") == [str(label.pk) for label in (shipping, refund, billing)]

    (review,) = [r for r in review_by_item(project=project, limit=10).items if r.item == split_item]
    refund_entry = next(entry for entry in review.entries if entry.label == refund)
    data = {"item": split_item.pk, "label": refund.pk, "value": 0, "seen": refund_entry.seen}
    html = client.post(
        f"/projects/{project.pk}/review/resolve/",
        {**data, "by": "item", "card": card, "next": f"/projects/{project.pk}/review/?by=item"},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert html.lstrip().startswith("<article")
    assert '<kbd class="entry-key" aria-hidden="true">2</kbd>' in html  # the entry keeps its key
    head = html[html.index(f'id="item-{split_item.pk}-head"') :]
    assert head.startswith(f'id="item-{split_item.pk}-head" hx-swap-oob="true"')
    assert "2 open of 3 disputed" in head[: head.index("</header>")]
    assert "Left open" not in html
    majority = html[html.index(f'id="item-{split_item.pk}-majority" hx-swap-oob="true"') :]
    # The majority form now lists only the labels still open, so "a" does not report refund as decided elsewhere.
    assert re.findall(r'name="label" value="(\d+)"', majority) == [str(shipping.pk), str(billing.pk)]
    assert "refund:" not in majority

    # Accept the majority: the card comes back with all three labels, billing (a tie) still open.
    (review,) = [r for r in review_by_item(project=project, limit=10).items if r.item == split_item]
    open_entries = [entry for entry in review.entries if entry.label != refund]
    html = client.post(
        f"/projects/{project.pk}/review/majority/",
        {"item": split_item.pk, "card": card, **seen_fields(open_entries)},
        headers={"HX-Request": "true"},
    ).content.decode()
    returned = card_of(html, split_item)
    assert "1 open of 3 disputed" in returned
    assert returned.count("data-entry") == 3


def test_a_card_whose_labels_are_all_decided_says_so_in_its_header(client, project, split_item, labels, reviewer):
    bug = labels[3]
    client.force_login(reviewer)
    (other,) = [r for r in review_by_item(project=project, limit=10).items if r.item != split_item]
    html = client.post(
        f"/projects/{project.pk}/review/resolve/",
        {
            "item": other.item.pk,
            "label": bug.pk,
            "value": 1,
            "seen": other.entries[0].seen,
            "by": "item",
            "card": str(bug.pk),
        },
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "1 disputed, all decided" in html
    assert f'id="item-{other.item.pk}-majority" hx-swap-oob="true">' in html and "accept-majority" not in html


@pytest.mark.parametrize("card", ["x,1", "", ",".join(["1"] * 501)], ids=["not a number", "empty", "too long"])
def test_a_malformed_card_list_still_decides_the_entry_without_the_card_parts(
    client, project, split_item, labels, reviewer, card
):
    shipping = labels[0]
    client.force_login(reviewer)
    (review,) = [r for r in review_by_item(project=project, limit=10).items if r.item == split_item]
    data = {"item": split_item.pk, "label": shipping.pk, "value": 1, "seen": review.entries[0].seen, "by": "item"}
    response = client.post(
        f"/projects/{project.pk}/review/resolve/", {**data, "card": card}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert f'id="item-{split_item.pk}-head"' not in response.content.decode()
    assert Resolution.objects.get(item=split_item, label=shipping).value == 1


def test_an_answer_without_a_measured_time_shows_a_dash_not_zero_seconds(
    client, project, items, labels, guideline, annotator, second_annotator, reviewer
):
    """Imported answers without a duration read "0.0 s", as if answered instantly (issue 14)."""
    from annotate.models import Annotation

    annotate_item(items[0], annotator, {labels[0]: 1}, guideline=guideline)
    annotate_item(items[0], second_annotator, {labels[0]: 0}, guideline=guideline)
    Annotation.objects.filter(annotator=annotator).update(duration_ms=4200)
    Annotation.objects.filter(annotator=second_annotator).update(duration_ms=0)
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/review/?by=item").content.decode()
    assert "4.2 s" in html
    assert "0.0 s" not in html
    assert 'title="Not measured (an import without a duration)">—' in html
