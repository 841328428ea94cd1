"""A submit or a review decision answered 503 (the database is away) says so in place; pressing again stores it."""

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, Resolution
from tests.browser.test_annotate_page import open_annotate, queue  # noqa: F401 - the fixture is used by name
from tests.browser.test_review_flow import disputed  # noqa: F401 - the fixture is used by name
from tests.conftest import login, screenshot

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


def test_a_503_decision_on_the_review_page_says_not_saved_and_pressing_again_stores_it(
    page,
    project,
    disputed,  # noqa: F811 - the imported fixture
    reviewer,
):
    (first_item, refund), _ = disputed
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/review/")
    first = page.locator(f"#entry-{first_item.pk}-{refund.pk}")
    expect(first).to_be_focused()

    def unavailable(route):
        route.fulfill(status=503, headers={"Retry-After": "5", "Content-Type": "text/html"}, body="")
        page.unroute("**/review/resolve/", unavailable)

    page.route("**/review/resolve/", unavailable)
    page.keyboard.press("n")
    expect(first.locator(".js-request-error")).to_contain_text("the database is unavailable; nothing you saved is lost")
    screenshot(page, "review-database-unavailable")
    assert not Resolution.objects.exists()

    first.focus()
    page.keyboard.press("n")
    expect(first.locator(".resolution")).to_contain_text("Resolved no by rita")
    assert Resolution.objects.get().value == 0
