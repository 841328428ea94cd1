"""A long text scrolls in its own pane so the labels stay in reach (1280 and 360 px); hidden characters on request."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, Item, QueueEntry
from tests.conftest import login, screenshot

pytestmark = pytest.mark.browser

# 20,000 characters in short paragraphs, with a right-to-left override inside.
LONG = ("The parcel was late again and nobody answered the phone. " * 7 + "\n\n") * 48
LONG = (LONG[:9_000] + "Account \u202e4321\u202c closed. " + LONG)[:20_000]


@pytest.fixture
def long_item(project, items, labels, guideline):
    assert len(LONG) == 20_000
    Item.objects.filter(pk=items[0].pk).update(text=LONG)
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=10 - index) for index, item in enumerate(items)]
    )
    return items[0]


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (360, 780)])
def test_the_labels_stay_in_reach_of_a_20000_character_text(
    browser, live_server, project, long_item, labels, annotator, width, height
):
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    page = context.new_page()
    try:
        login(page, "annie")
        page.goto(f"/projects/{project.pk}/annotate/")
        expect(page.locator(".external-id")).to_have_text("item-0")
        pane = page.locator("#item-form .text-pane")
        first_label = page.locator(".label-row").first
        # The pane scrolls: its content is far taller than the pane itself.
        assert pane.evaluate("el => el.scrollHeight") > 5 * pane.evaluate("el => el.clientHeight")
        top = first_label.bounding_box()["y"]
        # Without the pane the first label sat some 6,000 px (1280) to 20,000 px (360) down.
        assert top < (height if width > 600 else 1.3 * height), top
        last_top = page.locator(".label-row").last.bounding_box()["y"]
        assert last_top < 2 * height
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"annotate-long-text-{width}")

        # The keys still answer and submit with the long text on screen.
        page.keyboard.press("1")
        expect(page.locator(f"#l{labels[0].pk}-yes")).to_be_checked()
        page.keyboard.press("Enter")
        expect(page.locator(".external-id")).to_have_text("item-1")
        assert Annotation.objects.get(annotator=annotator).item == long_item
    finally:
        context.close()


def test_hidden_characters_are_flagged_and_shown_as_markers_on_request(page, project, long_item, annotator):
    login(page, "annie")
    page.goto(f"/projects/{project.pk}/annotate/")
    warning = page.locator("#item-form .hidden-chars-warning")
    expect(warning).to_contain_text("U+202E right-to-left override")
    as_is = page.locator("#item-form .text-as-is")
    shown = page.locator("#item-form .text-shown")
    expect(as_is).to_be_visible()
    expect(shown).to_be_hidden()
    # Switched after the page is drawn: a control merely hidden by CSS kept
    # reversing the digits in Chromium, so the shown text holds none.
    page.get_by_label("Show them").check()
    expect(as_is).to_be_hidden()
    expect(shown).to_be_visible()
    marker = shown.locator('.hidden-char-marker[data-code="U+202E"]')
    marker.scroll_into_view_if_needed()
    assert "U+202E" in marker.evaluate("el => getComputedStyle(el, '::before').content")
    assert "\u202e" not in shown.evaluate("el => el.textContent")
    assert "Account 4321 closed" in shown.evaluate("el => el.textContent")
    assert page.locator("#item-form .text-pane").get_attribute("dir") == "auto"
    screenshot(page, "annotate-hidden-characters")
