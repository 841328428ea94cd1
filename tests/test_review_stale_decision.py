"""A review decision never silently overwrites a decision made since the reviewer's page loaded (QA A4)."""

from __future__ import annotations

import html
import re

import pytest
from django.utils import timezone

from annotate.curation.review import StaleResolutionError, resolution_state, set_resolution
from annotate.models import AuditEvent, Resolution
from tests.factories import annotate_item


@pytest.fixture
def dispute(items, labels, guideline, annotator, second_annotator):
    item, label = items[0], labels[0]
    annotate_item(item, annotator, {label: (1, 0.9)}, guideline=guideline)
    annotate_item(item, second_annotator, {label: (0, 0.9)}, guideline=guideline)
    return item, label


def seen_on_page(client, project, show="disputed") -> str:
    page = client.get(f"/projects/{project.pk}/review/?show={show}").content.decode()
    (seen,) = re.findall(r'<form class="resolve".*?name="seen" value="([^"]*)"', page, flags=re.S)
    return html.unescape(seen)


def test_a_stale_page_cannot_overwrite_a_decision_made_since(client, project, dispute, reviewer, manager):
    item, label = dispute
    url = f"/projects/{project.pk}/review/resolve/"
    client.force_login(reviewer)
    stale = seen_on_page(client, project)
    assert stale == "none"
    # Meanwhile the manager decides "yes" with a note.
    decided = set_resolution(item=item, label=label, value=1, note="clearly shipping", reviewer=manager)

    response = client.post(
        url,
        {"item": item.pk, "label": label.pk, "value": "0", "note": "", "seen": stale},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 409
    swapped = html.unescape(response.content.decode())
    at = timezone.localtime(decided.updated_at).strftime("%H:%M")
    assert f"{manager.username} decided yes at {at}; press again to change it." in swapped
    assert swapped.lstrip().startswith("<article") and "clearly shipping" in swapped
    resolution = Resolution.objects.get(item=item, label=label)
    assert (resolution.value, resolution.note, resolution.reviewer) == (1, "clearly shipping", manager)
    assert AuditEvent.objects.filter(action="resolution.set").count() == 1

    # The swapped entry carries the current decision, so pressing again is an informed change.
    (seen,) = re.findall(r'<form class="resolve".*?name="seen" value="([^"]*)"', swapped, flags=re.S)
    again = client.post(
        url, {"item": item.pk, "label": label.pk, "value": "0", "seen": seen}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 200
    assert Resolution.objects.get(item=item, label=label).value == 0


def test_without_javascript_a_stale_decision_gets_the_page_with_the_current_decision(
    client, project, dispute, reviewer, manager
):
    item, label = dispute
    client.force_login(reviewer)
    stale = seen_on_page(client, project)
    set_resolution(item=item, label=label, value=1, note="", reviewer=manager)

    response = client.post(
        f"/projects/{project.pk}/review/resolve/", {"item": item.pk, "label": label.pk, "value": "0", "seen": stale}
    )

    assert response.status_code == 409
    assert "press again to change it" in response.content.decode()
    assert Resolution.objects.get(item=item, label=label).value == 1


def test_set_resolution_checks_the_expected_state_inside_its_transaction(project, dispute, reviewer, manager):
    item, label = dispute
    first = set_resolution(item=item, label=label, value=1, note="", reviewer=manager, expected="none")

    with pytest.raises(StaleResolutionError) as refused:
        set_resolution(item=item, label=label, value=0, note="", reviewer=reviewer, expected="none")

    assert refused.value.current == first
    assert Resolution.objects.get(item=item, label=label).value == 1
    changed = set_resolution(
        item=item, label=label, value=0, note="", reviewer=reviewer, expected=resolution_state(first)
    )
    assert changed.value == 0
