"""After a page of disputes is resolved, "next" goes on with the entries still open, and the tab's count follows."""

from __future__ import annotations

import re

import pytest

from annotate.curation.review import review_queue, set_resolution
from annotate.views.review import ITEMS_PAGE_SIZE
from tests.factories import annotate_item, make_items


@pytest.fixture
def many_disputes(project, labels, guideline, annotator, second_annotator):
    """25 disputed entries, one per item, on the same label."""
    items = make_items(project, 25, prefix="d")
    for item in items:
        annotate_item(item, annotator, {labels[0]: 1}, guideline=guideline)
        annotate_item(item, second_annotator, {labels[0]: 0}, guideline=guideline)
    order = [(entry.item.pk, entry.label.pk) for entry in review_queue(project=project, limit=100).entries]
    assert len(order) == 25
    return order


def next_link(html: str) -> str:
    return re.search(r'<a href="([^"]+)" data-next-page>', html).group(1).replace("&amp;", "&")


def entry_ids(html: str) -> list[str]:
    return re.findall(r'id="entry-(\d+-\d+)"', html)


def test_next_after_resolving_the_whole_page_shows_the_remaining_open_entries(
    client, project, labels, many_disputes, reviewer
):
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/review/"
    first = client.get(url).content.decode()
    assert len(entry_ids(first)) == 20
    label = labels[0]
    for item_id, _ in many_disputes[:20]:
        client.post(
            f"{url}resolve/", {"item": item_id, "label": label.pk, "value": "1"}, headers={"HX-Request": "true"}
        )

    second = client.get(url + next_link(first)).content.decode()

    # With the old offset link (offset=20) these five were skipped: only five entries are open now.
    assert entry_ids(second) == [f"{i}-{lab}" for i, lab in many_disputes[20:]]
    assert 'aria-label="5 open">5</span>' in second


def test_next_leaves_the_entries_left_open_on_the_page_for_later_and_skips_none_after_it(
    client, project, labels, many_disputes, reviewer, manager
):
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/review/"
    first = client.get(url).content.decode()
    for item_id, _ in many_disputes[:15]:
        set_resolution(item=project.items.get(pk=item_id), label=labels[0], value=0, note="", reviewer=manager)

    second = client.get(url + next_link(first)).content.decode()

    assert entry_ids(second) == [f"{i}-{lab}" for i, lab in many_disputes[20:]]
    # The five left open on the first page head the queue again.
    assert entry_ids(client.get(url).content.decode())[:5] == [f"{i}-{lab}" for i, lab in many_disputes[15:20]]


def test_a_malformed_cursor_starts_from_the_beginning(client, project, many_disputes, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/review/?after=12-x").content.decode()
    assert entry_ids(html)[0] == "-".join(map(str, many_disputes[0]))


def test_each_decision_sends_the_open_count_out_of_band(client, project, labels, many_disputes, reviewer):
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/review/"
    assert '<span id="open-count" class="badge" aria-label="25 open">25</span>' in client.get(url).content.decode()
    item_id, label_id = many_disputes[0]

    resolved = client.post(
        f"{url}resolve/", {"item": item_id, "label": label_id, "value": "1"}, headers={"HX-Request": "true"}
    )
    assert (
        '<span id="open-count" class="badge" hx-swap-oob="true" aria-label="24 open">24</span>'
        in resolved.content.decode()
    )

    undone = client.post(
        f"{url}unresolve/", {"item": item_id, "label": label_id}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'hx-swap-oob="true" aria-label="25 open">25</span>' in undone


def test_the_resolved_tab_still_shows_the_open_count(client, project, many_disputes, labels, reviewer, manager):
    item_id, _ = many_disputes[0]
    set_resolution(item=project.items.get(pk=item_id), label=labels[0], value=1, note="", reviewer=manager)
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/review/?show=resolved").content.decode()
    assert 'aria-label="24 open">24</span>' in html


def test_annotators_cannot_open_review_by_item(client, project, many_disputes, annotator):
    client.force_login(annotator)
    assert client.get(f"/projects/{project.pk}/review/?by=item").status_code == 403


def test_the_by_item_pager_counts_the_items_shown(client, project, many_disputes, reviewer):
    client.force_login(reviewer)
    text = re.sub(r"<[^>]+>", "", client.get(f"/projects/{project.pk}/review/?by=item").content.decode())
    # It printed "Items 1\u20130 of 25": the list itself was added before its length was taken. And
    # "of N" beside the range read "Items 1\u201310 of 2" once items were decided: the number still
    # open is the line above the cards alone.
    assert f"Items 1\u2013{ITEMS_PAGE_SIZE}\n" in text
    assert "Items with an open dispute: 25" in text


def test_the_number_of_items_still_open_follows_each_decision_by_item(client, project, many_disputes, reviewer):
    """The pager's "of 25" stayed 25 while items were decided on the page (issue 14)."""
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/review/?by=item").content.decode()
    assert re.findall(r'<span class="open-items">(\d+)</span>', html) == ["25"]  # above the cards
    item_id, label_id = many_disputes[0]
    data = {"item": item_id, "label": label_id, "value": "1", "seen": "none", "by": "item", "card": str(label_id)}
    decided = client.post(f"/projects/{project.pk}/review/resolve/", data, HTTP_HX_REQUEST="true")
    assert decided.status_code == 200
    assert '<span hx-swap-oob="innerHTML:.open-items">24</span>' in decided.content.decode()
    # The per-label order has no such count: nothing is swapped there.
    data = {"item": many_disputes[1][0], "label": many_disputes[1][1], "value": "0", "seen": "none"}
    per_label = client.post(f"/projects/{project.pk}/review/resolve/", data, HTTP_HX_REQUEST="true")
    assert "open-items" not in per_label.content.decode()


def test_the_disputed_pager_shows_its_range_and_leaves_the_count_to_the_badge(client, project, many_disputes, reviewer):
    """The pager read "1-20 of 70" after all 20 were decided while the badge said 50; the badge alone counts."""
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/review/").content.decode()
    pager = re.search(r'<nav class="pager".*?</nav>', html, flags=re.S).group(0)
    assert "Entries 1\u201320" in pager and " of " not in pager


def test_a_page_past_the_end_shows_no_range(client, project, many_disputes, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/review/?offset=500").content.decode()
    assert "Entries 501" not in html and "501\u2013500" not in html
