"""Text people type in the browser: a NUL or a hidden character is refused with a clear error and stores nothing.

A NUL in a full name, a guideline, a changelog, a flag comment, a skip
reason or a review note was a 500 on PostgreSQL (and stored on SQLite);
bidirectional controls such as U+202E were stored and could make a name or
a note read differently from what it says (issue 14). The rules live in
annotate/text.py; each form is tried here the way a browser posts it.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from annotate.models import Annotation, AuditEvent, GuidelineVersion, ItemFlag, Label, Project, Resolution
from annotate.setup.projects import LabelSpec, ProjectError, create_project
from annotate.text import hidden_in_text, quoted, text_problem
from annotate.work.queue import next_item
from tests.factories import annotate_item, make_user
from tests.test_project_settings_page import FORM as SETTINGS_FORM

HTMX = {"HTTP_HX_REQUEST": "true"}
# A NUL cannot be stored at all; U+202E reverses what follows; U+2066 isolates it; U+E0041 is an invisible "A".
REFUSED = ["a\x00b", "gpj\u202eexe.doc", "left\u2066right\u2069", "tag\U000e0041ged"]


def test_the_rules_keep_what_people_write():
    """Tabs, line breaks, right-to-left marks and joiners are ordinary writing, not hidden text."""
    hebrew_with_mark = "\u05e9\u05dc\u05d5\u05dd\u200f (shalom)"
    persian = "\u067e\u0631\u0648\u0698\u0647\u200c\u0647\u0627"
    for text in ["Line one\nline two\r\n\tindented", hebrew_with_mark, persian, "emoji \U0001f44d\u200d"]:
        assert hidden_in_text(text) is None, text
    assert text_problem("x" * 11, what="The note", max_chars=10) == "The note is 11 characters long; the limit is 10."
    assert "U+202E (right-to-left override)" in text_problem("a\u202eb", what="The note")
    assert "NUL character (U+0000), which cannot be stored" in text_problem("a\x00b", what="The note")
    assert "line break" in text_problem("two\nlines", what="The name", name=True)


@pytest.mark.parametrize("text", REFUSED)
def test_a_new_person_with_a_hidden_character_in_the_name_is_refused(client, project, manager, text):
    client.force_login(manager)
    data = {"username": "zoe", "full_name": f"Zoë {text}", "email": "", "role": "annotator"}
    response = client.post(reverse("person-create", args=[project.pk]), data)
    assert response.status_code == 400
    assert "The name contains" in response.content.decode()
    assert not get_user_model().objects.filter(username="zoe").exists()


def test_adding_a_member_by_a_name_with_a_nul_says_there_is_no_such_user(client, project, manager):
    client.force_login(manager)
    response = client.post(reverse("member-add", args=[project.pk]), {"username": "an\x00nie", "role": "annotator"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "There is no user called" in page
    assert project.memberships.count() == 1


@pytest.mark.parametrize("text", REFUSED)
def test_a_guideline_or_changelog_with_a_hidden_character_is_refused(client, project, guideline, manager, text):
    client.force_login(manager)
    url = reverse("guideline-edit", args=[project.pk])
    for fields, what in (
        ({"text": f"Shipping means {text}", "changelog": "Shipping"}, "The guideline contains"),
        ({"text": "Shipping means parcels.", "changelog": f"Shipping {text}"}, "The changelog contains"),
    ):
        response = client.post(url, {"action": "publish", **fields})
        assert response.status_code == 400
        assert what in response.content.decode()
    assert list(GuidelineVersion.objects.values_list("number", flat=True)) == [1]


def test_a_guideline_of_only_whitespace_is_not_published(client, project, guideline, manager):
    client.force_login(manager)
    url = reverse("guideline-edit", args=[project.pk])
    response = client.post(url, {"action": "publish", "text": " \n\t \n", "changelog": "Emptied"})
    assert response.status_code == 400
    assert "The guideline is empty" in response.content.decode()
    assert list(GuidelineVersion.objects.values_list("number", flat=True)) == [1]


@pytest.mark.parametrize("text", REFUSED)
def test_a_flag_comment_with_a_hidden_character_is_refused(client, project, queue, annotator, text):
    item, _ = next_item(annotator=annotator, project=project)
    client.force_login(annotator)
    url = reverse("annotate-flag", args=[project.pk, item.pk])
    response = client.post(url, {"reason": "other", "comment": f"broken {text}"}, **HTMX)
    assert response.status_code == 400
    assert "The comment contains" in response.content.decode()
    assert not ItemFlag.objects.exists()


@pytest.mark.parametrize("text", REFUSED)
def test_a_skip_in_own_words_with_a_hidden_character_is_refused(client, project, queue, annotator, text):
    item, _ = next_item(annotator=annotator, project=project)
    client.force_login(annotator)
    data = {"idempotency_key": str(uuid.uuid4()), "reason": "other", "reason_other": f"odd {text}"}
    response = client.post(reverse("annotate-skip", args=[project.pk, item.pk]), data, **HTMX)
    assert response.status_code == 400
    assert "Your reason contains" in response.content.decode()
    assert not Annotation.objects.exists()


@pytest.fixture
def disputed(items, labels, guideline, annotator, second_annotator):
    annotate_item(items[0], annotator, {labels[0]: 1}, guideline=guideline)
    annotate_item(items[0], second_annotator, {labels[0]: 0}, guideline=guideline)
    return items[0], labels[0]


@pytest.mark.parametrize("note", [*REFUSED, "x" * 2001])
def test_a_review_note_with_a_hidden_character_or_too_long_is_refused(client, project, disputed, reviewer, note):
    item, label = disputed
    client.force_login(reviewer)
    data = {"item": item.pk, "label": label.pk, "value": "1", "note": note, "seen": "none"}
    response = client.post(reverse("review-resolve", args=[project.pk]), data, **HTMX)
    assert response.status_code == 400
    assert response.content.decode().startswith("The note ")
    assert response["Content-Type"].startswith("text/plain")
    assert not Resolution.objects.exists()


def test_the_api_names_the_note_field(project, disputed, reviewer):
    from rest_framework.test import APIClient

    item, label = disputed
    api = APIClient()
    api.force_authenticate(reviewer)
    url = f"/api/projects/{project.pk}/resolutions"
    response = api.post(url, {"item": item.pk, "label": label.pk, "value": 1, "note": "a\u202eb"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["note"]
    assert not Resolution.objects.exists()


@pytest.mark.parametrize("description", [*REFUSED, "d" * 5001])
def test_a_label_description_with_a_hidden_character_or_too_long_is_refused(
    client, project, labels, manager, description
):
    """A description the Labels page stored could not be cloned later (the clone checks 5,000 characters)."""
    client.force_login(manager)
    data = {"name": "warranty", "description": description, "color": "#aa3377", "confirm": "1"}
    response = client.post(reverse("label-add", args=[project.pk]), data)
    assert response.status_code == 400
    assert not Label.objects.filter(name="warranty").exists()
    edit = reverse("label-edit", args=[project.pk, labels[0].pk])
    assert client.post(edit, {**data, "name": labels[0].name}).status_code == 400
    assert Label.objects.get(pk=labels[0].pk).description == labels[0].description
    assert not AuditEvent.objects.exists()


def test_a_label_studio_hint_with_a_hidden_character_is_refused_at_creation(db):
    with pytest.raises(ProjectError) as refused:
        create_project(
            creator=make_user("lea"), name="Tickets", labels=[LabelSpec(name="refund", description="pay\u202eback")]
        )
    assert refused.value.field == "labels"
    assert "The description of “refund” contains U+202E" in str(refused.value)
    assert not Project.objects.exists()


@pytest.mark.parametrize("text", REFUSED)
def test_a_project_description_with_a_hidden_character_is_refused_in_settings(client, project, manager, text):
    client.force_login(manager)
    form = {**SETTINGS_FORM, "description": f"About {text}"}
    url = reverse("project-settings", args=[project.pk])
    assert client.post(url, {**form, "description": "About parcels"}).status_code == 302  # the form is whole
    response = client.post(url, form)
    assert response.status_code == 400
    # Django's form field refuses a NUL itself ("Null characters are not allowed").
    assert "The description contains" in response.content.decode() or "\x00" in text
    assert Project.objects.get(pk=project.pk).description == "About parcels"


def test_a_refused_name_is_quoted_with_its_hidden_characters_shown_not_applied(db):
    """Quoted as typed, "evil\u202eabc" reversed the message around it; the refusal shows ⟦U+202E⟧ instead."""
    with pytest.raises(ProjectError) as refused:
        create_project(creator=make_user("lea"), name="Tickets", labels=[LabelSpec(name="evil\u202eabc")])
    message = str(refused.value)
    assert message.startswith("The label “evil⟦U+202E⟧abc” contains")
    assert "\u202e" not in message
    assert quoted("x" * 100, max_chars=10) == "“" + "x" * 9 + "…”"
    assert quoted("two\nlines") == "“two⟦U+000A⟧lines”"


def test_import_errors_and_api_errors_show_hidden_characters_instead_of_applying_them(
    project, labels, annotator, manager
):
    """Import messages and DRF's "“x” is not a valid choice" repeated a raw U+202E, reversing what was shown."""
    import io
    import json

    from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
    from tests.api_support import api, client_for

    row = {"external_id": "z", "text": "t", "annotations": [{"annotator": "annie", "labels": {"ref\u202eund": 1}}]}
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, stream=io.BytesIO(json.dumps(row).encode()), options=ImportOptions("jsonl"))
    error = failed.value.errors[0]
    assert "⟦U+202E⟧" in error.message and "⟦U+202E⟧" in error.field
    assert "\u202e" not in error.message + error.field + error.location

    body = {"username": "annie", "role": "x\u202e"}
    response = client_for(manager).post(api("/members", project), body, format="json")
    assert response.status_code == 400
    assert "x⟦U+202E⟧" in response.content.decode() and "\u202e" not in response.content.decode()
