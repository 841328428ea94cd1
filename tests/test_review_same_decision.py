"""The same decision again (a second key press, a retry) changes nothing: no write, no audit event, no history."""

from __future__ import annotations

import pytest

from annotate.curation.review import set_resolution
from annotate.models import AuditEvent, Resolution
from tests.factories import annotate_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(items, labels, guideline, annotator, second_annotator):
    item, label = items[0], labels[0]
    annotate_item(item, annotator, {label: 1}, guideline=guideline)
    annotate_item(item, second_annotator, {label: 0}, guideline=guideline)
    return item, label


def test_deciding_the_same_value_twice_records_one_decision(disputed, reviewer, manager):
    item, label = disputed
    first = set_resolution(item=item, label=label, value=1, note="clear case", reviewer=reviewer)
    again = set_resolution(item=item, label=label, value=1, note=None, reviewer=reviewer)
    by_another = set_resolution(item=item, label=label, value=1, note="clear case", reviewer=manager)

    assert again.pk == by_another.pk == first.pk
    assert AuditEvent.objects.filter(action="resolution.set").count() == 1
    assert Resolution.objects.get().reviewer == reviewer


def test_a_new_value_or_note_is_still_recorded(disputed, reviewer):
    item, label = disputed
    set_resolution(item=item, label=label, value=1, note="", reviewer=reviewer)
    set_resolution(item=item, label=label, value=1, note="now with a reason", reviewer=reviewer)
    set_resolution(item=item, label=label, value=0, note=None, reviewer=reviewer)

    assert AuditEvent.objects.filter(action="resolution.set").count() == 3
    resolution = Resolution.objects.get()
    assert (resolution.value, resolution.note) == (0, "now with a reason")
