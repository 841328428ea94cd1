"""A reviewer can undo a decision: the entry goes back to disputed, and the trail keeps it (QA C19)."""

from __future__ import annotations

import html
import re

import pytest

from annotate.curation.review import review_queue, set_resolution
from annotate.models import AuditEvent, Resolution
from tests.factories import annotate_item


@pytest.fixture
def resolved(items, labels, guideline, annotator, second_annotator, manager):
    item, label = items[0], labels[0]
    annotate_item(item, annotator, {label: (1, 0.9)}, guideline=guideline)
    annotate_item(item, second_annotator, {label: (0, 0.9)}, guideline=guideline)
    resolution = set_resolution(item=item, label=label, value=1, note="shipping", reviewer=manager)
    return item, label, resolution


def undo_form(client, project) -> dict[str, str]:
    page = client.get(f"/projects/{project.pk}/review/?show=resolved").content.decode()
    form = re.search(r'<form class="unresolve".*?</form>', page, flags=re.S).group(0)
    return {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)"[^>]*?value="([^"]*)"', form)}


def test_undo_sends_the_entry_back_to_disputed_and_records_it(client, project, resolved, reviewer):
    item, label, resolution = resolved
    assert review_queue(project=project, limit=10).total == 0
    client.force_login(reviewer)

    response = client.post(
        f"/projects/{project.pk}/review/unresolve/", undo_form(client, project), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    swapped = response.content.decode()
    assert swapped.lstrip().startswith("<article") and "Undo decision" not in swapped
    assert not Resolution.objects.filter(item=item, label=label).exists()
    assert [(e.item, e.label) for e in review_queue(project=project, limit=10).entries] == [(item, label)]
    (event,) = AuditEvent.objects.filter(action="resolution.clear")
    assert event.actor == reviewer and event.object_id == str(resolution.pk)
    assert event.before["value"] == 1 and event.before["note"] == "shipping" and event.after is None


def test_undo_from_a_stale_page_does_not_drop_a_newer_decision(client, project, resolved, reviewer, manager):
    item, label, _ = resolved
    client.force_login(reviewer)
    stale = undo_form(client, project)
    set_resolution(item=item, label=label, value=0, note="changed my mind", reviewer=manager)

    response = client.post(f"/projects/{project.pk}/review/unresolve/", stale, headers={"HX-Request": "true"})

    assert response.status_code == 409
    assert "decided no" in response.content.decode()
    assert Resolution.objects.get(item=item, label=label).value == 0
    assert not AuditEvent.objects.filter(action="resolution.clear").exists()


def test_annotators_cannot_undo(client, project, resolved, annotator):
    item, label, _ = resolved
    client.force_login(annotator)
    response = client.post(f"/projects/{project.pk}/review/unresolve/", {"item": item.pk, "label": label.pk})
    assert response.status_code == 403
    assert Resolution.objects.filter(item=item, label=label).exists()
