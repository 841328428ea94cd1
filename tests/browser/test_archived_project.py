"""An annotator whose project is archived under her sees a clear notice, in Chromium, instead of "nothing left"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, QueueEntry
from annotate.setup.projects import archive_project
from tests.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_a_submit_after_the_project_was_archived_shows_the_read_only_notice(
    page, project, items, labels, guideline, annotator, manager
):
    QueueEntry.objects.bulk_create([QueueEntry(project=project, item=item, priority=1) for item in items[:3]])
    login(page, "annie")
    page.goto(f"/projects/{project.pk}/annotate/")
    expect(page.locator(".external-id")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    archive_project(project=project, actor=manager)

    page.keyboard.press("1")
    page.keyboard.press("Enter")
    notice = page.locator(".card.archived")
    expect(notice.get_by_role("heading")).to_have_text("This project is archived: it is read-only")
    expect(notice).to_contain_text("so nothing was saved")
    expect(page.locator("#item-form")).to_have_count(0)
    expect(page.locator(".progress-counts")).not_to_contain_text("left for you")
    assert page.evaluate("window.sameDocument") is True  # swapped in place, no reload
    assert not Annotation.objects.exists()
    screenshot(page, "annotate-archived-after-submit")

    page.reload()
    expect(notice.get_by_role("heading")).to_have_text("This project is archived: it is read-only")
    expect(page.get_by_text("Nothing left for you right now")).to_have_count(0)
    screenshot(page, "annotate-archived")
