"""Enter pressed the moment a new item appears, before htmx has wired its form, does not post the whole page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation
from tests.conftest import login

pytestmark = pytest.mark.browser


def test_enter_right_after_the_next_item_appears_is_ignored(page, project, queue, labels, annotator):
    login(page, "annie")
    page.goto(f"/projects/{project.pk}/annotate/")
    expect(page.locator(".external-id")).to_have_text("item-0")
    page.evaluate("window.sameDocument = true")
    # Widen the moment between the swap and htmx wiring the new form, so the test does not race it.
    page.evaluate("htmx.config.defaultSettleDelay = 1500")
    # The settle count goes into the DOM: waiting on a JavaScript predicate
    # would need eval, which the Content-Security-Policy refuses.
    page.evaluate("document.addEventListener('htmx:afterSettle', () => { document.body.dataset.settled = 'yes'; })")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-1")

    page.keyboard.press("Enter")  # before the new form is wired

    # The swap has settled: a plain post would have left the page by now.
    expect(page.locator("body[data-settled=yes]")).to_have_count(1)
    assert page.evaluate("window.sameDocument") is True
    expect(page.locator(".external-id")).to_have_text("item-1")
    expect(page.locator("[role=alert]:not([hidden])")).to_have_count(0)
    assert list(Annotation.objects.values_list("item__external_id", flat=True)) == ["item-0"]
    # Once settled, Enter submits as usual.
    page.evaluate("htmx.config.defaultSettleDelay = 20")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-2")
    assert page.evaluate("window.sameDocument") is True
