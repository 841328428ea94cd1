"""The item browser: each filter, keyset pages that keep the filters, bad filter values, and who may see it."""

from __future__ import annotations

import re

import pytest

from annotate.curation.flags import set_flag
from annotate.curation.items import ItemFilters, browse_items
from annotate.curation.review import set_resolution
from annotate.models import GuidelineVersion, Item, Role
from tests.factories import add_member, annotate_item, make_guideline


@pytest.fixture
def answered(project, items, labels, guideline, annotator, second_annotator, manager):
    shipping, refund, billing, *_ = labels
    items[0].text = "Where is my parcel? It never arrived."
    items[0].save()
    annotate_item(items[0], annotator, {shipping: 1, refund: 0}, guideline=guideline)
    annotate_item(items[0], second_annotator, {shipping: 1, refund: 1}, guideline=guideline)  # refund disputed
    annotate_item(items[1], annotator, {shipping: 0}, guideline=guideline)
    v2 = make_guideline(project, 2)
    annotate_item(items[2], second_annotator, {billing: 1, shipping: 0}, guideline=v2)
    annotate_item(items[3], annotator, {billing: 1}, guideline=guideline)
    annotate_item(items[3], second_annotator, {billing: 0}, guideline=guideline)  # billing disputed ...
    set_resolution(item=items[3], label=billing, value=1, note="", reviewer=manager)  # ... and resolved
    set_flag(item=items[1], annotator=annotator, reason="broken", comment="")
    return items


def ids(project, **filters):
    page = browse_items(project=project, filters=ItemFilters(**filters), after=None, limit=100)
    return [row.item.external_id for row in page.rows]


def test_each_filter(project, answered, labels, annotator, second_annotator):
    shipping, refund, _, bug, _ = labels
    assert ids(project, text="PARCEL") == ["item-0"]
    assert ids(project, flagged=True) == ["item-1"]
    assert ids(project, label=shipping, state="yes") == ["item-0"]
    assert ids(project, label=shipping, state="no") == ["item-1", "item-2"]
    assert ids(project, label=shipping, state="unobserved") == [f"item-{i}" for i in (3, 4, 5, 6, 7, 8, 9)]
    assert ids(project, label=refund, state="disputed") == ["item-0"]
    assert ids(project, state="disputed") == ["item-0", "item-3"]
    assert ids(project, state="resolved") == ["item-3"]
    assert ids(project, label=bug, state="resolved") == []
    assert ids(project, annotator_id=second_annotator.pk) == ["item-0", "item-2", "item-3"]
    assert ids(project, guideline_version=2) == ["item-2"]
    assert ids(project, annotator_id=annotator.pk, label=shipping, state="no") == ["item-1"]


def test_with_an_annotator_or_version_chosen_yes_no_and_unobserved_are_in_their_annotations(
    project, answered, labels, guideline, annotator, second_annotator
):
    _, refund, billing, *_ = labels
    # item-0: annie said no to refund, arthur yes.
    assert ids(project, annotator_id=annotator.pk, label=refund, state="no") == ["item-0"]
    assert ids(project, annotator_id=second_annotator.pk, label=refund, state="no") == []
    assert ids(project, annotator_id=second_annotator.pk, label=refund, state="yes") == ["item-0"]
    # arthur left refund unobserved on item-2 and item-3; on item-0 he answered it.
    assert ids(project, annotator_id=second_annotator.pk, label=refund, state="unobserved") == ["item-2", "item-3"]
    # Likewise under a guideline version: item-5 was answered yes under v2 and no under v1.
    shipping = labels[0]
    v1, v2 = guideline, GuidelineVersion.objects.get(project=project, number=2)
    annotate_item(answered[5], annotator, {shipping: 1}, guideline=v2)
    annotate_item(answered[5], second_annotator, {shipping: 0}, guideline=v1)
    assert ids(project, guideline_version=2, label=shipping, state="no") == ["item-2"]
    assert ids(project, guideline_version=1, label=shipping, state="no") == ["item-1", "item-5"]
    # Both together: the person's annotations under that version.
    assert ids(project, annotator_id=second_annotator.pk, guideline_version=2) == ["item-2"]
    assert ids(project, annotator_id=annotator.pk, guideline_version=2) == ["item-5"]
    assert ids(project, guideline_version=9) == []
    # "disputed" and "resolved" stay about the item: annie annotated item-3, whose billing is both.
    assert ids(project, annotator_id=annotator.pk, label=billing, state="disputed") == ["item-3"]
    assert ids(project, annotator_id=annotator.pk, state="resolved") == ["item-3"]


def test_the_form_offers_the_published_guideline_versions(client, project, answered, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/", {"version": "2"}).content.decode()
    select = re.search(r'<select id="f-version" name="version">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\d*)"', select) == ["", "1", "2"]
    assert '<option value="2" selected>' in select
    assert re.findall(r'<code class="external-id">(item-\d+)</code>', html) == ["item-2"]


def test_an_empty_page_says_why(client, project, answered, reviewer, manager, other_project):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/", {"q": "no such words"}).content.decode()
    assert "No items match" in html
    html = client.get(f"/projects/{project.pk}/items/", {"after": str(answered[-1].pk)}).content.decode()
    assert "No more items" in html and "Back to the first page" in html
    add_member(other_project, manager, Role.MANAGER)
    client.force_login(manager)
    html = client.get(f"/projects/{other_project.pk}/items/").content.decode()
    assert "No items yet" in html and f'href="/projects/{other_project.pk}/import/"' in html


def test_keyset_pages_follow_the_id_order_and_keep_the_filters(client, project, answered, reviewer, monkeypatch):
    from annotate.views import items as view

    monkeypatch.setattr(view, "PAGE_SIZE", 4)
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/items/"
    seen = []
    html = client.get(url, {"state": "", "q": ""}).content.decode()
    while True:
        seen += re.findall(r'<code class="external-id">(item-\d+)</code>', html)
        link = re.search(r'<a href="\?([^"]+)" data-next-page>', html)
        if not link:
            break
        assert "q=" in link.group(1)
        html = client.get(url + "?" + link.group(1).replace("&amp;", "&")).content.decode()
    assert seen == [item.external_id for item in Item.objects.filter(project=project).order_by("pk")]


def test_the_page_shows_counts_and_links_each_item(client, project, answered, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/", {"flagged": "1", "q": "text"}).content.decode()
    assert f'href="/projects/{project.pk}/items/{answered[1].pk}/?flagged=1&amp;q=text"' in html
    assert '<span class="flag-badge">1</span>' in html
    # The item page's way back returns to the same filters.
    html = client.get(f"/projects/{project.pk}/items/{answered[1].pk}/", {"flagged": "1", "q": "text"}).content.decode()
    assert f'<a href="/projects/{project.pk}/items/?flagged=1&amp;q=text">← Items</a>' in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"state": "maybe"}, "state"),
        ({"label": "abc"}, "label"),
        ({"label": "999999"}, "label"),
        ({"state": "yes"}, "label"),
        ({"flagged": "yes"}, "flagged"),
        ({"annotator": "-1"}, "annotator"),
        ({"annotator": "999999"}, "annotator"),
        ({"version": "7"}, "version"),
        ({"version": "v1"}, "version"),
        ({"after": "99999999999999"}, "after"),
    ],
)
def test_a_filter_value_the_form_never_sends_is_a_400_naming_the_field(
    client, project, answered, reviewer, query, field
):
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.pk}/items/", query)
    assert response.status_code == 400
    assert f'data-field="{field}"'.encode() in response.content


def test_the_item_page_shows_every_answer_decision_and_flag(client, project, answered, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/{answered[3].pk}/").content.decode()
    assert "annie" in html and "arthur" in html
    assert "by manny" in html
    html = client.get(f"/projects/{project.pk}/items/{answered[1].pk}/").content.decode()
    assert "annie</strong>: broken text" in html


def test_annotators_get_403_and_outsiders_404(client, project, answered, annotator, outsider):
    client.force_login(annotator)
    assert client.get(f"/projects/{project.pk}/items/").status_code == 403
    assert client.get(f"/projects/{project.pk}/items/{answered[0].pk}/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/projects/{project.pk}/items/").status_code == 404
    assert client.get(f"/projects/{project.pk}/items/{answered[0].pk}/").status_code == 404
