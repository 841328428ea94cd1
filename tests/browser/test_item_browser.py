"""The item browser in Chromium: filter through the form, page on, open an item; usable at 360 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.curation.flags import set_flag
from annotate.models import Item
from tests.conftest import login, screenshot
from tests.factories import annotate_item

pytestmark = pytest.mark.browser


@pytest.fixture
def browsable(project, items, labels, guideline, annotator, second_annotator):
    shipping, refund, *_ = labels
    Item.objects.filter(pk=items[2].pk).update(text="Order \u202e4321\u202c never came. Where is my parcel?")
    annotate_item(items[2], annotator, {shipping: 1, refund: 0}, guideline=guideline)
    annotate_item(items[2], second_annotator, {shipping: 1, refund: 1}, guideline=guideline)
    annotate_item(items[4], annotator, {shipping: 0}, guideline=guideline)
    set_flag(item=items[2], annotator=second_annotator, reason="unclear", comment="refund or just a complaint?")
    return items


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (360, 780)])
def test_filter_open_and_read_an_item(browser, live_server, project, browsable, labels, reviewer, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    page = context.new_page()
    try:
        login(page, "rita")
        page.goto(f"/projects/{project.pk}/items/")
        expect(page.locator(".items-table tbody tr")).to_have_count(10)
        page.get_by_label("Label").select_option(label="refund")
        page.get_by_label("Answered").select_option("disputed")
        page.get_by_label("Flagged only").check()
        page.get_by_role("button", name="Filter").click()
        rows = page.locator(".items-table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("hidden characters")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"items-{width}-filtered")

        rows.first.get_by_role("link").click()
        expect(page.locator("h1")).to_contain_text("item-2")
        expect(page.locator(".item-flags")).to_contain_text("arthur: unclear under the guideline")
        expect(page.locator(".item-answers")).to_contain_text("disputed")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"item-detail-{width}")

        page.goto(f"/projects/{project.pk}/items/?label={labels[0].pk}&state=no")
        expect(page.locator(".items-table tbody tr")).to_have_count(1)
        expect(page.locator(".items-table")).to_contain_text("item-4")
    finally:
        context.close()
