"""The review flow in Chromium: a disputed entry appears, one key or click resolves it, the target follows."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from annotate.curation.answers import load_answers
from annotate.curation.review import set_resolution
from annotate.models import AuditEvent, Resolution, Role
from tests.conftest import login, screenshot
from tests.factories import add_member, annotate_item, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def disputed(project, items, labels, guideline, annotator, second_annotator):
    cache.clear()
    shipping, refund, billing, *_ = labels
    third = make_user("anton")
    add_member(project, third, Role.ANNOTATOR)
    annotate_item(items[0], annotator, {refund: (1, 1.0), shipping: 1}, guideline=guideline, duration_ms=8_200)
    annotate_item(items[0], second_annotator, {refund: (0, 0.8), shipping: 1}, guideline=guideline, duration_ms=5_100)
    annotate_item(items[0], third, {refund: (0, 0.6)}, guideline=guideline, duration_ms=12_000)
    annotate_item(items[1], annotator, {billing: (1, 0.6)}, guideline=guideline, duration_ms=3_000)
    annotate_item(items[1], second_annotator, {billing: (0, 1.0)}, guideline=guideline, duration_ms=4_000)
    return [(items[0], refund), (items[1], billing)]


def target(project, item, label) -> float:
    answers = load_answers(project=project)
    row = int(np.searchsorted(answers.item_ids, item.pk))
    return float(answers.consensus().targets[row, answers.label_ids.index(label.pk)])


def test_a_reviewer_resolves_disputes_with_one_key_and_one_click(page, project, disputed, reviewer):
    (first_item, refund), (second_item, billing) = disputed
    assert 0 < target(project, first_item, refund) < 1  # a soft vote before review

    login(page, "rita")
    page.goto(f"/projects/{project.pk}/review/")
    first = page.locator(f"#entry-{first_item.pk}-{refund.pk}")
    expect(first).to_be_focused()
    expect(first.locator("tbody tr")).to_have_count(3)
    expect(first).to_contain_text("8.2 s")
    screenshot(page, "review-1280-disputed")

    # A note, then one key on the entry: "n" resolves it to no.
    page.keyboard.press("e")
    page.keyboard.type("A question, not a refund request")
    page.keyboard.press("Escape")
    page.evaluate("window.sameDocument = true")
    page.keyboard.press("n")
    expect(first.locator(".resolution")).to_contain_text("Resolved no by rita")
    expect(first).to_contain_text("A question, not a refund request")
    assert page.evaluate("window.sameDocument") is True
    # Focus moved on to the next open entry.
    second = page.locator(f"#entry-{second_item.pk}-{billing.pk}")
    expect(second).to_be_focused()
    assert target(project, first_item, refund) == 0.0

    # One click on the second entry.
    second.locator(".resolve-yes").click()
    expect(second.locator(".resolution")).to_contain_text("Resolved yes")
    assert target(project, second_item, billing) == 1.0
    screenshot(page, "review-1280-resolved")

    # Later the reviewer changes the first decision; the earlier one stays in the trail.
    page.goto(f"/projects/{project.pk}/review/")
    expect(page.locator(".empty")).to_contain_text("No disputed entries")
    page.goto(f"/projects/{project.pk}/review/?show=resolved")
    changed = page.locator(f"#entry-{first_item.pk}-{refund.pk}")
    changed.locator(".resolve-yes").click()
    expect(changed.locator(".resolution")).to_contain_text("Resolved yes")
    expect(changed.locator(".history summary")).to_have_text("1 earlier decision")
    screenshot(page, "review-1280-changed")
    assert target(project, first_item, refund) == 1.0
    resolution = Resolution.objects.get(item=first_item, label=refund)
    events = AuditEvent.objects.filter(action="resolution.set", object_id=str(resolution.pk)).order_by("id")
    assert [(e.before and e.before["value"], e.after["value"]) for e in events] == [(None, 0), (0, 1)]


def test_the_review_page_at_phone_width(browser, live_server, project, disputed, reviewer):
    context = browser.new_context(viewport={"width": 360, "height": 780}, base_url=live_server.url)
    page = context.new_page()
    try:
        login(page, "rita")
        page.goto(f"/projects/{project.pk}/review/")
        entry = page.locator("[data-entry]").first
        expect(entry).to_be_visible()
        screenshot(page, "review-360")
        # Nothing sticks out sideways: the page is no wider than the phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_the_resolved_tab_focuses_its_first_entry_so_keys_work_at_once(page, project, disputed, reviewer, manager):
    (first_item, refund), (second_item, billing) = disputed
    set_resolution(item=first_item, label=refund, value=0, note="older", reviewer=manager)
    set_resolution(item=second_item, label=billing, value=1, note="newest", reviewer=manager)
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/review/?show=resolved")
    newest = page.locator(f"#entry-{second_item.pk}-{billing.pk}")
    expect(newest).to_be_focused()
    expect(newest.locator(".note-input")).to_have_value("newest")  # the existing note, pre-filled

    page.keyboard.press("n")

    expect(newest.locator(".resolution")).to_contain_text("Resolved no by rita")
    resolution = Resolution.objects.get(item=second_item, label=billing)
    assert (resolution.value, resolution.note) == (0, "newest")


def test_a_decision_made_since_the_page_loaded_is_shown_not_overwritten(page, project, disputed, reviewer, manager):
    (first_item, refund), _ = disputed
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/review/")
    entry = page.locator(f"#entry-{first_item.pk}-{refund.pk}")
    expect(entry).to_be_focused()
    set_resolution(item=first_item, label=refund, value=1, note="refund, clearly", reviewer=manager)

    page.keyboard.press("n")

    expect(entry.locator(".conflict")).to_contain_text("manny decided yes at")
    expect(entry.locator(".conflict")).to_contain_text("press again to change it")
    expect(entry).to_be_focused()
    assert Resolution.objects.get(item=first_item, label=refund).value == 1
    screenshot(page, "review-1280-conflict")

    page.keyboard.press("n")  # informed now: this changes the decision
    expect(entry.locator(".resolution")).to_contain_text("Resolved no by rita")
    assert Resolution.objects.get(item=first_item, label=refund).note == "refund, clearly"


def test_undo_a_decision_from_the_resolved_tab(page, project, disputed, reviewer, manager):
    (first_item, refund), _ = disputed
    set_resolution(item=first_item, label=refund, value=0, note="", reviewer=manager)
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/review/?show=resolved")
    entry = page.locator(f"#entry-{first_item.pk}-{refund.pk}")
    expect(page.locator("#resolved-count")).to_have_text("1")

    entry.get_by_role("button", name="Undo decision").click()

    expect(entry.locator(".resolution")).to_have_count(0)
    expect(entry).to_be_focused()
    # Both tabs' counts follow without a reload: one more open, one fewer resolved.
    expect(page.locator("#resolved-count")).to_have_text("0")
    screenshot(page, "review-undo-counts")
    assert not Resolution.objects.filter(item=first_item, label=refund).exists()
    assert AuditEvent.objects.filter(action="resolution.clear").count() == 1
    page.goto(f"/projects/{project.pk}/review/")
    expect(page.locator(f"#entry-{first_item.pk}-{refund.pk}")).to_be_visible()  # disputed again


def test_a_reviewer_removed_from_the_project_is_told_so_not_to_press_again(page, project, disputed, reviewer):
    (first_item, refund), _ = disputed
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/review/")
    first = page.locator(f"#entry-{first_item.pk}-{refund.pk}")
    expect(first).to_be_focused()
    # A manager removes the reviewer meanwhile: the decision is a 404, which pressing again cannot change.
    project.memberships.filter(user=reviewer).delete()
    page.keyboard.press("y")
    alert = first.locator(".js-request-error")
    expect(alert).to_contain_text("no longer open to you")
    expect(alert).not_to_contain_text("Press again")
    assert not Resolution.objects.exists()
