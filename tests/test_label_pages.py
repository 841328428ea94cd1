"""The label-set pages: each change shows its effect first and is applied only on confirm."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.urls import reverse

from annotate.models import AuditEvent, Judgment, Label
from tests.factories import annotate_item


@pytest.fixture
def answered(labels, items, annotator, second_annotator, guideline):
    _shipping, refund, billing, _bug, _praise = labels
    annotate_item(items[0], annotator, {refund: 1, billing: 0}, guideline=guideline)
    annotate_item(items[1], annotator, {refund: 0}, guideline=guideline)
    annotate_item(items[2], second_annotator, {refund: 1, billing: 1}, guideline=guideline)
    annotate_item(items[3], second_annotator, {refund: (1, 0.9), billing: (0, 0.6)}, guideline=guideline)
    return labels


def test_list_shows_active_and_retired_labels_with_counts(client, project, answered, manager):
    client.force_login(manager)
    html = client.get(reverse("labels", args=[project.pk])).content.decode()
    assert "Active labels" in html and "refund" in html
    assert "Retired labels" not in html


def test_add_previews_then_applies(client, project, answered, manager):
    client.force_login(manager)
    url = reverse("label-add", args=[project.pk])
    data = {"name": "warranty", "description": "Warranty claims", "color": "#aa3377", "shortcut_key": "w"}
    preview = client.post(url, data)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "Adding “warranty”: it is asked from now on and dated guideline version 1" in html
    assert "the 4 annotations already made stay unobserved" in html
    assert not Label.objects.filter(name="warranty").exists()

    response = client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302
    label = Label.objects.get(name="warranty")
    assert (label.color, label.shortcut_key, label.introduced_in.number) == ("#aa3377", "w", 1)
    assert not Judgment.objects.filter(label=label).exists()
    assert AuditEvent.objects.filter(action="label.add").count() == 1


def test_add_with_a_taken_shortcut_is_refused_before_the_preview(client, project, answered, manager):
    client.force_login(manager)
    response = client.post(
        reverse("label-add", args=[project.pk]), {"name": "x", "color": "#000000", "shortcut_key": "1"}, follow=True
    )
    assert "already the shortcut of another active label" in response.content.decode()
    assert not Label.objects.filter(name="x").exists()


def test_merge_preview_shows_the_counts_and_confirm_applies_them(client, project, answered, manager):
    _shipping, refund, billing, _bug, _praise = answered
    client.force_login(manager)
    url = reverse("label-merge", args=[project.pk, refund.pk])
    assert client.get(url).status_code == 200

    preview = client.post(url, {"target": billing.pk})
    html = preview.content.decode()
    assert "Merging “refund” into “billing”: 0 positives move, 1 positives were already on “billing”, " in html
    assert "1 negatives are dropped, 2 conflicts go to review" in html
    assert not AuditEvent.objects.exists()
    expected = {
        "positives_moved": 0,
        "positives_combined": 1,
        "negatives_dropped": 1,
        "conflicts": 2,
        "positives_before_target": 0,
        "resolutions_moved": 0,
        "resolution_conflicts": 0,
    }
    carried = re.search(r'name="expected" value="([^"]*)"', html).group(1)
    assert json.loads(unescape(carried)) == expected  # the confirm carries the counts the manager saw

    response = client.post(url, {"target": billing.pk, "expected": json.dumps(expected), "confirm": "1"})
    assert response.status_code == 302
    refund.refresh_from_db()
    assert refund.merged_into == billing
    assert AuditEvent.objects.get().action == "label.merge"

    page = client.get(reverse("labels", args=[project.pk])).content.decode()
    assert "Merge conflicts waiting for review (2)" in page
    assert "Retired labels" in page


def test_a_merge_whose_data_changed_is_shown_again(client, project, answered, manager, items, annotator):
    _shipping, refund, billing, _bug, _praise = answered
    client.force_login(manager)
    url = reverse("label-merge", args=[project.pk, refund.pk])
    seen = {"positives_moved": 0, "positives_combined": 0, "negatives_dropped": 0, "conflicts": 0}
    response = client.post(url, {"target": billing.pk, "expected": json.dumps(seen), "confirm": "1"})
    assert response.status_code == 200
    assert "The answers changed since the preview" in response.content.decode()
    assert Label.objects.get(pk=refund.pk).is_active
    assert not AuditEvent.objects.exists()


def test_edit_retire_move_and_rules_preview_before_applying(client, project, answered, manager):
    shipping, refund, billing, bug, praise = answered
    client.force_login(manager)

    edit = reverse("label-edit", args=[project.pk, shipping.pk])
    data = {"name": "delivery", "description": "", "color": shipping.color, "shortcut_key": "d"}
    html = client.post(edit, data).content.decode()
    assert "shipping" in html and "delivery" in html and "Apply" in html
    assert Label.objects.get(pk=shipping.pk).name == "shipping"
    client.post(edit, {**data, "confirm": "1"})
    assert Label.objects.get(pk=shipping.pk).name == "delivery"

    retire = reverse("label-retire", args=[project.pk, praise.pk])
    assert "is no longer asked" in client.post(retire).content.decode()
    assert Label.objects.get(pk=praise.pk).is_active
    client.post(retire, {"confirm": "1"})
    assert not Label.objects.get(pk=praise.pk).is_active

    move = reverse("label-move", args=[project.pk, bug.pk])
    assert "New order: delivery, refund, bug, billing." in client.post(move, {"step": "-1"}).content.decode()
    client.post(move, {"step": "-1", "confirm": "1"})
    assert [label.name for label in project.active_labels()] == ["delivery", "refund", "bug", "billing"]

    rules = reverse("label-rules", args=[project.pk, refund.pk])
    assert client.get(rules).status_code == 200
    html = client.post(rules, {"implies": [billing.pk], "excludes": [bug.pk]}).content.decode()
    assert "“refund” now implies billing; now excludes bug." in html
    client.post(rules, {"implies": [billing.pk], "excludes": [bug.pk], "confirm": "1"})
    assert list(refund.implies.all()) == [billing]

    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["label.update", "label.retire", "label.reorder", "label.rules"]


def test_new_labels_take_the_palette_in_turn(client, project, labels, manager):
    """Every label was #4c78a8, so the dashboard's and the annotate page's colours told nothing apart (issue 14)."""
    from annotate.setup.labelset import LABEL_PALETTE, add_label
    from annotate.setup.projects import LabelSpec, create_project

    created = create_project(creator=manager, name="Colours", labels=[LabelSpec(name=f"l{i}") for i in range(12)])
    colors = list(created.labels.order_by("order").values_list("color", flat=True))
    assert colors[:10] == list(LABEL_PALETTE) and colors[10:] == list(LABEL_PALETTE[:2])
    # The Labels page offers the next colour, and a label added without one takes it.
    client.force_login(manager)
    page = client.get(f"/projects/{project.pk}/labels/").content.decode()
    assert f'value="{LABEL_PALETTE[len(labels)]}"' in page
    assert add_label(project=project, actor=manager, name="warranty").color == LABEL_PALETTE[len(labels)]
