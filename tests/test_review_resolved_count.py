"""The Resolved tab's count follows each decision and each undo without a reload, as the Disputed count does."""

from __future__ import annotations

import html
import re

import pytest

from annotate.curation.review import set_resolution
from tests.factories import annotate_item

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def two_resolved(items, labels, guideline, annotator, second_annotator, manager):
    """Two disputed entries, both decided, and one more left open."""
    for item in items[:3]:
        annotate_item(item, annotator, {labels[0]: (1, 0.9)}, guideline=guideline)
        annotate_item(item, second_annotator, {labels[0]: (0, 0.9)}, guideline=guideline)
    for item in items[:2]:
        set_resolution(item=item, label=labels[0], value=1, note="", reviewer=manager)
    return items[:3]


def undo_form(page: str) -> dict[str, str]:
    form = re.search(r'<form class="unresolve".*?</form>', page, flags=re.S).group(0)
    return {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)"[^>]*?value="([^"]*)"', form)}


def test_both_tabs_show_their_count_on_either_tab(client, project, two_resolved, reviewer):
    client.force_login(reviewer)
    for url in ("", "?show=resolved", "?by=item"):
        page = client.get(f"/projects/{project.pk}/review/{url}").content.decode()
        assert '<span id="open-count" class="badge" aria-label="1 open">1</span>' in page, url
        assert '<span id="resolved-count" class="badge" aria-label="2 resolved">2</span>' in page, url


def test_undo_sends_the_resolved_count_out_of_band(client, project, two_resolved, reviewer):
    client.force_login(reviewer)
    page = client.get(f"/projects/{project.pk}/review/?show=resolved").content.decode()

    undone = client.post(f"/projects/{project.pk}/review/unresolve/", undo_form(page), **HTMX).content.decode()

    assert '<span id="resolved-count" class="badge" hx-swap-oob="true" aria-label="1 resolved">1</span>' in undone
    assert '<span id="open-count" class="badge" hx-swap-oob="true" aria-label="2 open">2</span>' in undone


def test_a_decision_sends_the_resolved_count_out_of_band(client, project, two_resolved, labels, reviewer):
    client.force_login(reviewer)
    open_item = two_resolved[2]
    decided = client.post(
        f"/projects/{project.pk}/review/resolve/", {"item": open_item.pk, "label": labels[0].pk, "value": "0"}, **HTMX
    ).content.decode()
    assert 'hx-swap-oob="true" aria-label="3 resolved">3</span>' in decided
