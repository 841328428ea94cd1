"""A merge-conflict entry in Chromium: it says which yes caused it, and at 360 px its answers table scrolls, uncut."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from annotate.setup.labelset import merge_labels
from tests.conftest import login, screenshot
from tests.factories import annotate_item

pytestmark = pytest.mark.browser


def test_a_merge_conflict_entry_names_the_merged_yes_at_360_px(
    page, project, items, labels, guideline, annotator, manager, reviewer
):
    cache.clear()
    _, refund, billing, *_ = labels
    annotate_item(items[0], annotator, {refund: (1, 0.9), billing: (0, 0.8)}, guideline=guideline)
    merge_labels(source=refund, target=billing, actor=manager)

    page.set_viewport_size({"width": 360, "height": 780})
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/review/")
    entry = page.locator(f"#entry-{items[0].pk}-{billing.pk}")
    expect(entry.locator(".merge-note")).to_have_text(
        f"Merge conflict: {annotator.username} said yes to “refund” (confidence 0.90), "
        "a label since merged into this one, and no to this label."
    )
    screenshot(page, "review-360-merge-conflict")
    # The page does not scroll sideways; the table scrolls inside its own box,
    # so its last column can be brought fully into view instead of being cut.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    box = entry.locator(".table-scroll")
    last = entry.locator("thead th").last
    expect(last).to_have_text("Guideline")
    last.scroll_into_view_if_needed()
    assert box.evaluate("element => getComputedStyle(element).overflowX") == "auto"
    entry_right = entry.evaluate("element => element.getBoundingClientRect().right")
    assert last.evaluate("element => element.getBoundingClientRect().right") <= entry_right + 0.5
