"""The Resolved tab shows the existing note, and only an explicit edit of the note changes it (QA A4)."""

from __future__ import annotations

import html
import re

import pytest

from annotate.curation.review import set_resolution
from annotate.models import Resolution
from tests.factories import annotate_item


@pytest.fixture
def resolved(items, labels, guideline, annotator, second_annotator, manager):
    item, label = items[0], labels[0]
    annotate_item(item, annotator, {label: (1, 0.9)}, guideline=guideline)
    annotate_item(item, second_annotator, {label: (0, 0.9)}, guideline=guideline)
    set_resolution(item=item, label=label, value=1, note="guideline 2.3: shipping fees", reviewer=manager)
    return item, label


def form_fields(client, project) -> dict[str, str]:
    page = client.get(f"/projects/{project.pk}/review/?show=resolved").content.decode()
    form = re.search(r'<form class="resolve".*?</form>', page, flags=re.S).group(0)
    return {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)"[^>]*?value="([^"]*)"', form)}


def test_the_resolved_tab_prefills_the_existing_note(client, project, resolved, reviewer):
    client.force_login(reviewer)
    fields = form_fields(client, project)
    assert fields["note"] == "guideline 2.3: shipping fees"
    assert fields["note_seen"] == "guideline 2.3: shipping fees"


def test_pressing_the_current_value_with_the_note_untouched_keeps_it(client, project, resolved, reviewer):
    item, label = resolved
    client.force_login(reviewer)
    fields = form_fields(client, project)

    client.post(f"/projects/{project.pk}/review/resolve/", {**fields, "value": "1"})

    assert Resolution.objects.get(item=item, label=label).note == "guideline 2.3: shipping fees"


def test_an_empty_note_from_a_form_that_showed_none_keeps_the_note(client, project, resolved, reviewer):
    # An older page or a script sends no note_seen and an empty note box.
    item, label = resolved
    client.force_login(reviewer)
    client.post(f"/projects/{project.pk}/review/resolve/", {"item": item.pk, "label": label.pk, "value": "1"})
    assert Resolution.objects.get(item=item, label=label).note == "guideline 2.3: shipping fees"


def test_an_explicit_edit_changes_or_clears_the_note(client, project, resolved, reviewer):
    item, label = resolved
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/review/resolve/"

    client.post(url, {**form_fields(client, project), "value": "0", "note": "sarcasm"})
    assert Resolution.objects.get(item=item, label=label).note == "sarcasm"

    client.post(url, {**form_fields(client, project), "value": "0", "note": ""})
    assert Resolution.objects.get(item=item, label=label).note == ""
