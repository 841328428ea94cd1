"""Guideline versions: drafts, publishing, immutability at both levels, diffs, safe Markdown."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template import Context, Template

from annotate.models import AuditEvent, GuidelineVersion, PublishedGuidelineError
from annotate.setup.guidelines import (
    GuidelineError,
    changes_between,
    diff_texts,
    diff_versions,
    draft_for,
    last_version_worked_under,
    publish_guideline,
    save_draft,
)
from tests.factories import annotate_item, make_guideline


def publish(project, text, changelog, author):
    draft = save_draft(project=project, text=text, author=author)
    return publish_guideline(draft=draft, changelog=changelog, author=author)


def test_drafts_are_edited_in_place_and_publishing_numbers_them(project, manager):
    draft = save_draft(project=project, text="# Rules\n\nOne.", author=manager)
    again = save_draft(project=project, text="# Rules\n\nOne and two.", author=manager)
    assert again.pk == draft.pk
    assert GuidelineVersion.objects.drafts().filter(project=project).count() == 1
    assert draft_for(project).text == "# Rules\n\nOne and two."

    first = publish_guideline(draft=again, changelog="  First rules  ", author=manager)
    first.refresh_from_db()
    assert (first.number, first.changelog, first.author, first.is_published) == (1, "First rules", manager, True)
    assert draft_for(project) is None

    second = publish(project, "# Rules\n\nOne, two, three.", "Rule three", manager)
    assert second.number == 2
    assert project.current_guideline() == second


def test_publish_writes_one_audit_event_in_the_same_transaction(project, reviewer):
    make_guideline(project, 1, text="old")
    draft = save_draft(project=project, text="new", author=reviewer)
    assert not AuditEvent.objects.exists()  # drafts are working copies

    publish_guideline(draft=draft, changelog="Clarified refunds", author=reviewer)

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.project, event.object_id) == (
        "guideline.publish",
        reviewer,
        project,
        str(draft.pk),
    )
    assert event.before == {"number": 1}
    assert event.after == {"number": 2, "changelog": "Clarified refunds", "text": "new"}


def test_publish_needs_a_changelog_and_a_draft(project, manager):
    draft = save_draft(project=project, text="text", author=manager)
    with pytest.raises(GuidelineError):
        publish_guideline(draft=draft, changelog="   ", author=manager)
    draft.refresh_from_db()
    assert not draft.is_published
    published = publish_guideline(draft=draft, changelog="v1", author=manager)
    with pytest.raises(PublishedGuidelineError):
        publish_guideline(draft=published, changelog="again", author=manager)
    assert AuditEvent.objects.filter(action="guideline.publish").count() == 1


def test_published_version_is_immutable_in_the_model(guideline):
    with pytest.raises(PublishedGuidelineError):
        GuidelineVersion.objects.edit_draft(guideline, text="rewritten")
    guideline.text = "rewritten"
    with pytest.raises(ValidationError):
        guideline.full_clean()
    guideline.refresh_from_db()
    assert guideline.text == "# Guideline v1"


def test_published_version_is_immutable_in_the_database(guideline):
    """The trigger of migration 0002 refuses even a raw queryset update, on SQLite and PostgreSQL."""
    with pytest.raises(IntegrityError), transaction.atomic():
        GuidelineVersion.objects.filter(pk=guideline.pk).update(text="rewritten")
    guideline.text = "rewritten"
    with pytest.raises(IntegrityError), transaction.atomic():
        guideline.save()
    guideline.refresh_from_db()
    assert guideline.text == "# Guideline v1"


def test_a_draft_stays_editable_in_model_and_database(project, manager):
    draft = save_draft(project=project, text="a", author=manager)
    draft.text = "b"
    draft.full_clean()
    GuidelineVersion.objects.filter(pk=draft.pk).update(text="c")
    GuidelineVersion.objects.edit_draft(draft, text="d")
    draft.refresh_from_db()
    assert draft.text == "d"


def test_changes_between_lists_the_changelogs_an_annotator_missed(project, manager, annotator, items):
    v1 = publish(project, "one", "First", manager)
    publish(project, "two", "Second", manager)
    publish(project, "three", "Third", manager)
    assert [v.changelog for v in changes_between(project=project, since=1)] == ["Second", "Third"]
    assert [v.changelog for v in changes_between(project=project, since=None, until=2)] == ["First", "Second"]
    assert changes_between(project=project, since=3) == []

    assert last_version_worked_under(project=project, user=annotator) is None
    annotate_item(items[0], annotator, {}, guideline=v1)
    assert last_version_worked_under(project=project, user=annotator) == 1


def test_diff_marks_added_removed_and_changed_words():
    old = "# Refunds\n\nSay yes when the customer asks for money back.\nKeep calm.\nBye."
    new = "# Refunds\n\nSay yes when the customer asks for a refund.\nBye.\nNew rule."
    diff = diff_texts(old, new, context=None)
    rows = diff.hunks[0].rows
    assert [row.kind for row in rows] == ["equal", "equal", "replace", "delete", "equal", "insert"]
    changed_old = "".join(s.text for s in rows[2].old if s.changed)
    changed_new = "".join(s.text for s in rows[2].new if s.changed)
    assert "money back" in changed_old
    assert "a refund" in changed_new
    assert (diff.added, diff.removed) == (2, 2)
    inline = [(line.kind, line.old_number, line.new_number) for line in diff.hunks[0].inline()]
    assert inline == [
        ("equal", 1, 1),
        ("equal", 2, 2),
        ("delete", 3, None),
        ("delete", 4, None),
        ("insert", None, 3),
        ("equal", 5, 4),
        ("insert", None, 5),
    ]


def test_diff_keeps_only_context_around_changes_and_reports_no_change():
    old = "\n".join(f"line {i}" for i in range(40))
    new = old.replace("line 20", "line twenty")
    hunks = diff_texts(old, new, context=2).hunks
    assert len(hunks) == 1
    assert [row.old_number for row in hunks[0].rows] == [19, 20, 21, 22, 23]
    assert diff_texts(old, old).unchanged


def test_diff_versions_refuses_two_projects(guideline, other_project):
    with pytest.raises(GuidelineError):
        diff_versions(guideline, make_guideline(other_project, 1))


def test_markdown_renders_script_and_javascript_links_harmlessly():
    text = (
        "# Title\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1))\n\n"
        '<a href="javascript:alert(2)" onclick="alert(3)">raw</a>\n\n<img src=x onerror="alert(4)">\n\n'
        "[fine](https://example.com)"
    )
    html = Template("{% load tagwise %}{{ text|markdown }}").render(Context({"text": text}))
    assert "<h1>Title</h1>" in html
    assert "<script" not in html.lower()
    assert "javascript:" not in html.lower()
    assert "onclick" not in html.lower()
    assert "onerror" not in html.lower()
    assert '<a href="https://example.com"' in html
