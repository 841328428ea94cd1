"""The annotator's figures in Chromium: counts follow each submit, agreement loads when opened."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import QueueEntry
from tests.conftest import login, screenshot
from tests.factories import annotate_item, make_items


@pytest.fixture
def overlap(project, labels, guideline, annotator, second_annotator):
    shipping = labels[0]
    done = make_items(project, 12, prefix="o")
    for index, item in enumerate(done):
        annotate_item(item, annotator, {shipping: index % 2}, guideline=guideline)
        annotate_item(item, second_annotator, {shipping: index % 2 if index else 1}, guideline=guideline)
    fresh = make_items(project, 3, prefix="new")
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=10 - index) for index, item in enumerate(fresh)]
    )
    return fresh


def test_counts_follow_each_submit_and_agreement_opens_on_request(page, project, overlap, labels, annotator):
    login(page, "annie")
    page.goto(f"/projects/{project.pk}/annotate/")
    counts = page.locator(".progress-counts")
    expect(counts).to_contain_text("12 today")
    expect(counts).to_contain_text("3 left for you")
    page.locator(".my-agreement summary").click()
    table = page.locator(".my-agreement table")
    expect(table).to_contain_text("shipping")
    expect(table).to_contain_text("92%")  # 11 of 12 as the other annotator
    screenshot(page, "annotate-progress-agreement")

    page.locator("#item-form .text").focus()  # Enter on the summary would only fold it again
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("new-1")
    expect(counts).to_contain_text("13 today")
    expect(counts).to_contain_text("2 left for you")
