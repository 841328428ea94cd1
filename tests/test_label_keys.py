"""Shortcut keys: a reserved or unusable key is refused with a clear message, and the form keeps what was typed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from annotate.models import AuditEvent, Label
from annotate.setup import labelset
from annotate.setup.labelset import LabelSetError, add_label, update_label


@pytest.mark.parametrize("key", [*sorted(labelset.RESERVED_KEYS), "C", "S"])
def test_a_reserved_key_is_refused_on_add(project, labels, manager, key):
    with pytest.raises(LabelSetError, match="reserved on the annotate page") as refused:
        add_label(project=project, actor=manager, name="warranty", shortcut_key=key)
    assert refused.value.field == "shortcut_key"
    assert not Label.objects.filter(name="warranty").exists()


@pytest.mark.parametrize("key", ["?", "-", " é", "ß", "\u0661", "ab"])
def test_a_key_that_is_not_one_ascii_letter_or_digit_is_refused(project, labels, manager, key):
    with pytest.raises(LabelSetError, match="one letter") as refused:
        update_label(label=labels[0], actor=manager, shortcut_key=key)
    assert refused.value.field == "shortcut_key"
    assert Label.objects.get(pk=labels[0].pk).shortcut_key == "1"
    assert not AuditEvent.objects.exists()


def test_letters_and_digits_are_accepted_and_stored_lower_case(project, labels, manager):
    warranty = add_label(project=project, actor=manager, name="warranty", shortcut_key="W")
    assert warranty.shortcut_key == "w"
    update_label(label=labels[0], actor=manager, shortcut_key="9")
    assert Label.objects.get(pk=labels[0].pk).shortcut_key == "9"
    # Keys match case-insensitively on the annotate page, so "W" is taken by "w".
    with pytest.raises(LabelSetError, match="already the shortcut"):
        update_label(label=labels[1], actor=manager, shortcut_key="W")


def test_no_key_is_allowed(project, labels, manager):
    assert add_label(project=project, actor=manager, name="warranty", shortcut_key=" ").shortcut_key == ""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "warranty", "shortcut_key": "c"}, "The key “c” is reserved on the annotate page"),
        ({"name": "warranty", "shortcut_key": "?"}, "A shortcut key is one letter"),
        ({"name": "Refund", "shortcut_key": "w"}, "This project already has a label named “Refund”"),
        ({"name": "w" * 101, "shortcut_key": "w"}, "Ensure this value has at most 100 characters"),
        ({"name": "late, partial", "shortcut_key": "w"}, "A label name cannot contain a comma."),
    ],
)
def test_a_refused_add_shows_the_form_again_with_what_was_typed(client, project, labels, manager, fields, message):
    client.force_login(manager)
    data = {"description": "Claims under warranty", "color": "#aa3377", **fields}
    for confirm in ({}, {"confirm": "1"}):
        response = client.post(reverse("label-add", args=[project.pk]), {**data, **confirm})
        html = response.content.decode()
        assert response.status_code == 400  # refused, as every form
        assert message in html
        assert f'value="{fields["name"]}"' in html
        assert "Claims under warranty</textarea>" in html
        assert 'value="#aa3377"' in html
    assert Label.objects.filter(project=project).count() == len(labels)
    assert not AuditEvent.objects.exists()


def test_a_refused_edit_shows_the_error_beside_the_key(client, project, labels, manager):
    shipping = labels[0]
    client.force_login(manager)
    data = {"name": "delivery", "description": "Parcels", "color": shipping.color, "shortcut_key": "u"}
    for confirm in ({}, {"confirm": "1"}):
        response = client.post(reverse("label-edit", args=[project.pk, shipping.pk]), {**data, **confirm})
        html = response.content.decode()
        assert response.status_code == 400
        key_field = html[html.index('for="id_shortcut_key"') :]
        assert "The key “u” is reserved on the annotate page" in key_field[: key_field.index("</div>")]
        assert 'value="delivery"' in html and "Parcels</textarea>" in html
    assert Label.objects.get(pk=shipping.pk).name == "shipping"


def test_the_labels_page_shows_the_key_the_annotate_page_gives_a_label_without_one(client, project, labels, manager):
    shipping, refund, *_ = labels
    Label.objects.filter(pk=refund.pk).update(shortcut_key="")
    Label.objects.filter(pk=shipping.pk).update(shortcut_key="2")
    client.force_login(manager)
    html = client.get(reverse("labels", args=[project.pk])).content.decode()
    rows = dict(re.findall(r"<strong>(\w+)</strong>.*?(<td data-label=\"Key\">.*?</td>)", html, re.S))
    assert rows["shipping"] == '<td data-label="Key"><kbd>2</kbd></td>'
    # 2 to 5 are the other labels' own keys: refund gets the first free one, as on the annotate page.
    assert rows["refund"] == '<td data-label="Key"><kbd>1</kbd> <span class="small muted">automatic</span></td>'
    assert labelset.label_keys(list(project.active_labels()))[refund.pk] == "1"
