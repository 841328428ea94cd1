"""A submit answered 503 (the database is away) shows the message in place and keeps the answers for a retry."""

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation
from tests.browser.test_annotate_page import open_annotate, queue  # noqa: F401 - the fixture is used by name
from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def test_a_503_submit_keeps_the_answers_and_the_retry_stores_them(page, project, queue, labels, annotator):  # noqa: F811
    shipping, refund, *_ = labels
    open_annotate(page, project)
    page.keyboard.press("1")
    page.keyboard.press("Shift+2")

    # The database goes away for one request: the server's real 503 answer to an htmx submit.
    def unavailable(route):
        route.fulfill(
            status=503,
            headers={"Retry-After": "5", "Content-Type": "text/html"},
            body='<div class="form-error" role="alert">The database is unavailable; nothing you saved is lost; '
            "retry in a moment.</div>",
        )
        page.unroute("**/submit/", unavailable)

    page.route("**/submit/", unavailable)
    page.keyboard.press("Enter")
    message = page.locator("#annotate-work .js-request-error")
    expect(message).to_be_visible()
    expect(message).to_contain_text("the database is unavailable; nothing you saved is lost")
    expect(page.locator(".external-id")).to_have_text("item-0")
    expect(page.locator(f"#l{shipping.pk}-yes")).to_be_checked()
    expect(page.locator(f"#l{refund.pk}-no")).to_be_checked()
    screenshot(page, "annotate-database-unavailable")
    assert Annotation.objects.count() == 0

    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-1")
    assert Annotation.objects.get(annotator=annotator).judgments.count() == 2
