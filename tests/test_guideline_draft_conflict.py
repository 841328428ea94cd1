"""The guideline editor refuses to overwrite a draft that changed since the editor loaded it (QA A2)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from annotate.models import GuidelineVersion
from annotate.setup.guidelines import DraftConflictError, draft_for, draft_revision, publish_guideline, save_draft


def open_editor(client, project) -> str:
    """GET the editor as a tab does and return the revision its form carries."""
    response = client.get(reverse("guideline-edit", args=[project.pk]))
    assert response.status_code == 200
    (revision,) = re.findall(r'name="revision" value="([^"]*)"', response.content.decode())
    return revision


def post(client, project, **data):
    return client.post(reverse("guideline-edit", args=[project.pk]), data)


def test_a_save_from_a_stale_tab_is_refused_and_keeps_both_texts(client, project, reviewer):
    client.force_login(reviewer)
    tab_a = open_editor(client, project)
    tab_b = open_editor(client, project)
    assert post(client, project, text="# Rules\n\nA's section.", action="save", revision=tab_a).status_code == 302

    response = post(client, project, text="# Rules\n\nB's section.", action="save", revision=tab_b)

    html = response.content.decode()
    assert response.status_code == 409
    assert draft_for(project).text == "# Rules\n\nA's section."  # A's work is not lost
    assert "changed by" in html and "since you opened the editor" in html
    assert re.search(r'id="guideline-text"[^>]*>\s*# Rules\s+B&#x27;s section\.</textarea>', html)  # B's text kept
    assert re.search(r'id="draft-now"[^>]*>\s*# Rules\s+A&#x27;s section\.</textarea>', html)  # the draft now

    # Saving again from the conflict page is a deliberate replacement of the draft B has now seen.
    (seen,) = re.findall(r'name="revision" value="([^"]*)"', html)
    assert post(client, project, text="# Rules\n\nA and B.", action="save", revision=seen).status_code == 302
    assert draft_for(project).text == "# Rules\n\nA and B."


def test_a_publish_from_a_stale_tab_is_refused(client, project, reviewer):
    client.force_login(reviewer)
    stale = open_editor(client, project)
    save_draft(project=project, text="Someone else's draft", author=reviewer)

    response = post(client, project, text="Mine", changelog="Mine", action="publish", revision=stale)

    assert response.status_code == 409
    assert not GuidelineVersion.objects.published().filter(project=project).exists()
    assert draft_for(project).text == "Someone else's draft"


def test_a_save_after_the_draft_was_published_elsewhere_is_refused(client, project, reviewer):
    draft = save_draft(project=project, text="v1", author=reviewer)
    client.force_login(reviewer)
    stale = open_editor(client, project)
    publish_guideline(draft=draft, changelog="First", author=reviewer)

    response = post(client, project, text="v1 and more", action="save", revision=stale)

    assert response.status_code == 409
    assert "published or discarded" in response.content.decode()
    assert draft_for(project) is None


def test_a_save_from_an_up_to_date_tab_goes_through(client, project, reviewer):
    save_draft(project=project, text="start", author=reviewer)
    client.force_login(reviewer)
    revision = open_editor(client, project)

    assert post(client, project, text="start, then more", action="save", revision=revision).status_code == 302
    assert draft_for(project).text == "start, then more"


def test_save_draft_checks_the_expected_revision_and_writes_nothing_on_a_conflict(project, reviewer):
    loaded = draft_revision(None)
    first = save_draft(project=project, text="first", author=reviewer, expected=loaded)

    with pytest.raises(DraftConflictError) as refused:
        save_draft(project=project, text="second", author=reviewer, expected=loaded)

    assert refused.value.current == first
    assert draft_for(project).text == "first"
    assert save_draft(project=project, text="second", author=reviewer, expected=draft_revision(first)).text == "second"
