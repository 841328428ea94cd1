"""The guideline pages: reading, history, diffs, and the editor with its live preview and publish."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import AuditEvent, GuidelineVersion
from annotate.setup.guidelines import publish_guideline, save_draft


def publish(project, text, changelog, author):
    return publish_guideline(
        draft=save_draft(project=project, text=text, author=author), changelog=changelog, author=author
    )


@pytest.fixture
def versions(project, manager):
    return [
        publish(project, "# Rules\n\nSay **yes** to refunds.\n", "First rules", manager),
        publish(
            project,
            "# Rules\n\nSay **yes** to refunds and returns.\n\nNew <script>alert(1)</script> line.\n",
            "Returns",
            manager,
        ),
    ]


def test_every_member_reads_the_current_version_and_its_history(client, project, versions, annotator):
    client.force_login(annotator)
    response = client.get(reverse("guideline", args=[project.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "refunds and returns" in html
    assert "<script>alert(1)</script>" not in html  # rendered through the sanitising markdown filter
    assert "First rules" in html and "Returns" in html and "manny" in html
    assert reverse("guideline-edit", args=[project.pk]) not in html  # annotators do not edit

    old = client.get(reverse("guideline", args=[project.pk]), {"version": 1}).content.decode()
    assert "You are reading version 1" in old and "refunds and returns" not in old
    assert client.get(reverse("guideline", args=[project.pk]), {"version": 9}).status_code == 404


@pytest.mark.parametrize("mode", ["inline", "side"])
def test_diff_between_two_versions_is_escaped(client, project, versions, annotator, mode):
    client.force_login(annotator)
    response = client.get(reverse("guideline-diff", args=[project.pk]), {"old": 1, "new": 2, "mode": mode})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<ins>and returns</ins>" in html or "<ins> and returns</ins>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "Returns" in html  # the changelogs in between


def test_htmx_diff_request_gets_only_the_diff(client, project, versions, annotator):
    client.force_login(annotator)
    response = client.get(
        reverse("guideline-diff", args=[project.pk]), {"old": 1, "new": 2, "mode": "side"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="diff"')
    assert "<html" not in html


def test_editor_saves_a_draft_then_publishes_it(client, project, versions, reviewer):
    client.force_login(reviewer)
    url = reverse("guideline-edit", args=[project.pk])
    page = client.get(url).content.decode()
    assert "refunds and returns" in page  # a new draft starts from the version in force
    assert "Publish as version 3" in page

    response = client.post(url, {"text": "# Rules\n\nDraft text", "action": "save"})
    assert response.status_code == 302
    draft = GuidelineVersion.objects.drafts().get(project=project)
    assert draft.text == "# Rules\n\nDraft text"
    assert not AuditEvent.objects.filter(action="guideline.publish", actor=reviewer).exists()

    refused = client.post(url, {"text": "# Rules\n\nFinal", "action": "publish", "changelog": ""}, follow=True)
    assert "Say in one line what changed" in refused.content.decode()
    assert project.current_guideline().number == 2

    response = client.post(url, {"text": "# Rules\n\nFinal", "action": "publish", "changelog": "Shorter"})
    assert response.status_code == 302
    current = project.current_guideline()
    assert (current.pk, current.number, current.text, current.changelog, current.author) == (
        draft.pk,
        3,
        "# Rules\n\nFinal",
        "Shorter",
        reviewer,
    )
    assert AuditEvent.objects.filter(action="guideline.publish", actor=reviewer).count() == 1


def test_live_preview_renders_markdown_safely_and_diffs_against_the_current_version(
    client, project, versions, reviewer
):
    client.force_login(reviewer)
    text = "# Rules\n\nSay **yes** to refunds.\n\n[x](javascript:alert(1)) <img src=x onerror=alert(2)>"
    response = client.post(reverse("guideline-preview", args=[project.pk]), {"text": text}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="guideline-preview"')
    assert "<strong>yes</strong>" in html
    assert "javascript:" not in html.split("<details")[0]  # the rendered preview
    assert "onerror" not in html.split("<details")[0]
    # The diff shows the source as text: the tag's brackets are escaped.
    assert "<ins>img src=x onerror=alert(2)</ins>&gt;" in html


def test_noscript_preview_button_renders_the_page_with_the_text(client, project, versions, manager):
    client.force_login(manager)
    response = client.post(reverse("guideline-edit", args=[project.pk]), {"text": "## Heading", "action": "preview"})
    assert response.status_code == 200
    assert "<h2>Heading</h2>" in response.content.decode()
    assert not GuidelineVersion.objects.drafts().exists()


def test_a_draft_can_be_discarded_and_published_versions_stay(client, project, versions, reviewer):
    client.force_login(reviewer)
    url = reverse("guideline-edit", args=[project.pk])
    client.post(url, {"text": "scrap", "action": "save"})
    assert GuidelineVersion.objects.drafts().filter(project=project).exists()
    assert client.post(url, {"text": "scrap", "action": "discard"}).status_code == 302
    assert not GuidelineVersion.objects.drafts().filter(project=project).exists()
    assert list(project.guideline_versions.published().values_list("number", flat=True)) == [1, 2]


def test_annotators_cannot_edit(client, project, versions, annotator):
    client.force_login(annotator)
    assert client.get(reverse("guideline-edit", args=[project.pk])).status_code == 403
    assert client.post(reverse("guideline-preview", args=[project.pk]), {"text": "x"}).status_code == 403
