"""Skipping from the keyboard: `s` then Enter skips with the reason that has focus, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, QueueEntry
from annotate.setup.project_settings import change_settings
from tests.conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def queue(project, items, labels, guideline):
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=10 - index) for index, item in enumerate(items)]
    )
    return items


def open_annotate(page, project):
    login(page, "annie")
    page.goto(f"/projects/{project.pk}/annotate/")
    expect(page.locator(".external-id")).to_have_text("item-0")
    # A marker that only survives if the next item arrives without a page reload.
    page.evaluate("window.sameDocument = true")


def test_s_then_enter_skips_with_the_first_reason(page, project, queue, annotator):
    open_annotate(page, project)
    page.keyboard.press("s")
    first = page.locator("#skip input[type=radio]").first
    expect(first).to_be_focused()
    expect(first).not_to_be_checked()

    page.keyboard.press("Enter")

    expect(page.locator(".external-id")).to_have_text("item-1")
    assert page.evaluate("window.sameDocument") is True
    annotation = Annotation.objects.get(annotator=annotator)
    assert (annotation.item, annotation.skipped, annotation.skip_reason) == (queue[0], True, "unclear")


def test_the_projects_reasons_and_other_in_own_words_from_the_keyboard(page, project, queue, annotator, manager):
    change_settings(project=project, actor=manager, changes={"skip_reasons": ["Duplicate", "Wrong language"]})
    open_annotate(page, project)
    page.keyboard.press("s")
    expect(page.locator("#skip label.check")).to_have_text(["Duplicate", "Wrong language", "Other:"])
    page.keyboard.press("ArrowDown")  # Duplicate -> Wrong language
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-1")

    page.keyboard.press("s")
    page.keyboard.press("ArrowUp")  # Duplicate -> Other (the group wraps)
    page.keyboard.press("Enter")  # Other needs words: the box gets focus, nothing is sent
    own_words = page.locator("#skip input[name=reason_other]")
    expect(own_words).to_be_focused()
    page.keyboard.type("Not a ticket")
    screenshot(page, "skip-own-words")
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-2")
    assert page.evaluate("window.sameDocument") is True
    assert list(Annotation.objects.order_by("id").values_list("skip_reason", flat=True)) == [
        "Wrong language",
        "Not a ticket",
    ]


def test_a_reason_removed_while_the_page_was_open_is_refused_and_the_new_list_shown(
    page, project, queue, annotator, manager
):
    open_annotate(page, project)
    change_settings(project=project, actor=manager, changes={"skip_reasons": ["Duplicate"]})
    page.keyboard.press("s")
    page.keyboard.press("Enter")  # "unclear", no longer offered

    expect(page.locator("#annotate-work [role=alert]:not([hidden])").first).to_contain_text(
        "“unclear” is not one of this project's"
    )
    expect(page.locator("#skip")).to_have_attribute("open", "")
    expect(page.locator("#skip label.check")).to_have_text(["Duplicate", "Other:"])
    screenshot(page, "skip-reason-refused")
    assert not Annotation.objects.exists()
    assert page.evaluate("window.sameDocument") is True
