"""The item browser in Chromium: filter by the answers and by the model, page on, open an item; usable at 360 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.curation.flags import set_flag
from annotate.models import Item
from tests.conftest import login, screenshot
from tests.factories import annotate_item, make_guideline
from tests.test_item_browser_model import store_version

pytestmark = pytest.mark.browser


def on_screen(locator, width: int) -> None:
    """The element is drawn within the viewport's width: not cut off, not behind a sideways scroll."""
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


@pytest.fixture
def browsable(project, items, labels, guideline, annotator, second_annotator):
    shipping, refund, *_ = labels
    annotator.first_name, annotator.last_name = "Annie", "Lindqvist"
    annotator.save()
    second_annotator.first_name, second_annotator.last_name = "Arthur", "Dent"
    second_annotator.save()
    Item.objects.filter(pk=items[2].pk).update(text="Order \u202e4321\u202c never came. Where is my parcel?")
    annotate_item(items[2], annotator, {shipping: 1, refund: 0}, guideline=guideline)
    annotate_item(items[2], second_annotator, {shipping: 1, refund: 1}, guideline=guideline)
    annotate_item(items[4], annotator, {shipping: 0}, guideline=guideline)
    set_flag(item=items[2], annotator=second_annotator, reason="unclear", comment="refund or just a complaint?")
    v2 = make_guideline(project, 2)
    annotate_item(items[6], second_annotator, {refund: 1}, guideline=v2)
    annotate_item(items[7], annotator, {shipping: 1}, guideline=v2)
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
        # Every cell of the row is on screen, the decisions and flags too (at 360 px the row stacks).
        on_screen(rows.first.locator("td").last, width)
        on_screen(rows.first.locator("td[data-label=Decisions]"), width)
        screenshot(page, f"items-{width}-filtered")

        rows.first.get_by_role("link").click()
        expect(page.locator("h1")).to_contain_text("item-2")
        expect(page.locator(".item-flags")).to_contain_text("Arthur Dent: unclear under the guideline")
        expect(page.locator(".item-answers")).to_contain_text("disputed")
        expect(page.locator(".annotation-list")).to_contain_text("Annie Lindqvist")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        on_screen(page.locator(".item-answers tbody tr").nth(1).locator("td[data-label=Decision]"), width)
        screenshot(page, f"item-detail-{width}")

        page.goto(f"/projects/{project.pk}/items/?label={labels[0].pk}&state=no")
        expect(page.locator(".items-table tbody tr")).to_have_count(1)
        expect(page.locator(".items-table")).to_contain_text("item-4")
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (360, 780)])
def test_filter_by_annotator_and_guideline_version(browser, live_server, project, browsable, reviewer, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    page = context.new_page()
    rows = page.locator(".items-table tbody tr")
    try:
        login(page, "rita")
        page.goto(f"/projects/{project.pk}/items/")
        # People are offered by name; the filter keeps the person chosen.
        page.get_by_label("Annotator").select_option(label="Arthur Dent")
        page.get_by_role("button", name="Filter").click()
        expect(rows.locator("code")).to_have_text(["item-2", "item-6"])
        expect(page.get_by_label("Annotator").locator("option:checked")).to_have_text("Arthur Dent")

        page.get_by_label("Guideline").select_option(label="annotated under v2")
        page.get_by_role("button", name="Filter").click()
        expect(rows.locator("code")).to_have_text(["item-6"])

        page.get_by_label("Annotator").select_option(label="Anyone")
        page.get_by_label("Guideline").select_option(label="annotated under v1")
        page.get_by_role("button", name="Filter").click()
        expect(rows.locator("code")).to_have_text(["item-2", "item-4"])

        # Annie's own answers: she said no to shipping on item-4 (and yes on item-2, where Arthur also said yes).
        page.get_by_label("Annotator").select_option(label="Annie Lindqvist")
        page.get_by_label("Guideline").select_option(label="Any version")
        page.get_by_label("Label").select_option(label="shipping")
        page.get_by_label("Answered").select_option("no")
        page.get_by_role("button", name="Filter").click()
        expect(rows.locator("code")).to_have_text(["item-4"])
        page.get_by_label("Answered").select_option("yes")
        page.get_by_role("button", name="Filter").click()
        expect(rows.locator("code")).to_have_text(["item-2", "item-7"])
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        on_screen(rows.last.locator("td[data-label=Flags]"), width)
        screenshot(page, f"items-{width}-by-person")
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (360, 780)])
def test_filter_by_the_model_and_read_its_scores(
    browser, live_server, settings, tmp_path, project, items, labels, guideline, annotator, reviewer, width, height
):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    version = store_version(project, labels, items)
    shipping = labels[0]
    annotate_item(items[4], annotator, {shipping: 0}, guideline=guideline)
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    page = context.new_page()
    try:
        login(page, "rita")
        page.goto(f"/projects/{project.pk}/items/")
        page.get_by_label("Label").select_option(label="shipping")
        page.get_by_label("Model says").select_option("yes")
        page.get_by_label("Order").select_option(label="Model least sure first")
        page.get_by_role("button", name="Filter").click()
        rows = page.locator(".items-table tbody tr")
        # The items the model says yes to, the least sure first (stored probabilities 0.52, 0.85, 0.9).
        expect(rows).to_have_count(3)
        expect(rows.locator("code")).to_have_text(["item-6", "item-4", "item-0"])
        expect(rows.first.locator(".model-score")).to_contain_text("yes 0.52")
        expect(page.get_by_label("Model says")).to_have_value("yes")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        on_screen(rows.first.locator("td[data-label=Flags]"), width)
        screenshot(page, f"items-{width}-by-model")

        # Answered "no" where the model says yes: the disagreement a reviewer looks for.
        page.get_by_label("Answered").select_option("no")
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        rows.first.get_by_role("link").click()
        expect(page.locator("h1")).to_contain_text("item-4")
        expect(page.locator(".model-source")).to_contain_text(f"model version {version.pk}")
        shipping_row = page.locator(".item-answers tbody tr").first
        expect(shipping_row).to_contain_text("annie no")
        expect(shipping_row.locator(".model-score")).to_have_text("yes 0.850")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        on_screen(shipping_row.locator("td[data-label=Decision]"), width)
        screenshot(page, f"item-detail-{width}-scores")
    finally:
        context.close()
