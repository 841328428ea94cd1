"""The annotate page in Chromium, driven from the keyboard as an annotator would."""

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, Judgment, QueueEntry
from tests.conftest import ARTIFACTS, login, screenshot
from tests.factories import make_guideline

pytestmark = pytest.mark.browser


@pytest.fixture
def queue(project, items, labels, guideline):
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=10 - index) for index, item in enumerate(items)]
    )
    return items


def open_annotate(page, project, username="annie"):
    login(page, username)
    page.goto(f"/projects/{project.pk}/annotate/")
    expect(page.locator(".external-id")).to_have_text("item-0")
    # A marker that only survives if the next item arrives without a page reload.
    page.evaluate("window.sameDocument = true")


def test_answer_three_labels_from_the_keyboard_and_submit(page, project, queue, labels, annotator):
    shipping, refund, billing, *_ = labels
    open_annotate(page, project)
    page.keyboard.press("1")  # shipping yes
    page.keyboard.press("Shift+2")  # refund no (event.key is "@", the code is Digit2)
    page.keyboard.press("3")  # billing yes
    page.keyboard.press("c")  # billing confidence: medium -> high
    expect(page.locator(f"#l{shipping.pk}-yes")).to_be_checked()
    expect(page.locator(f"#l{refund.pk}-no")).to_be_checked()
    expect(page.locator(f"select[name=conf-{billing.pk}]")).to_have_value("1.0")
    expect(page.locator(f"#l{labels[3].pk}-none")).to_be_checked()
    screenshot(page, "annotate-1280-answered")

    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-1")
    assert page.evaluate("window.sameDocument") is True
    expect(page.locator(f"#l{shipping.pk}-none")).to_be_checked()

    annotation = Annotation.objects.get(annotator=annotator)
    assert annotation.item == queue[0]
    stored = {(j.label_id, j.value, j.confidence) for j in Judgment.objects.filter(annotation=annotation)}
    # Exactly the three answers; the two labels left alone have no row at all.
    assert stored == {(shipping.pk, 1, 0.8), (refund.pk, 0, 0.8), (billing.pk, 1, 1.0)}
    assert Judgment.objects.count() == 3
    assert 0 < annotation.duration_ms < 60_000


def test_skip_with_a_reason(page, project, queue, annotator):
    open_annotate(page, project)
    page.keyboard.press("s")
    expect(page.locator("#skip")).to_have_attribute("open", "")
    page.keyboard.press("ArrowDown")  # unclear -> not in English
    page.keyboard.press("ArrowDown")  # -> spam
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-1")
    assert page.evaluate("window.sameDocument") is True
    annotation = Annotation.objects.get(annotator=annotator)
    assert (annotation.item, annotation.skipped, annotation.skip_reason) == (queue[0], True, "spam")
    assert not annotation.judgments.exists()


def test_rule_warning_before_submit_and_all_remaining_no(page, project, queue, labels, annotator):
    shipping, refund, billing, bug, praise = labels
    refund.implies.add(billing)
    open_annotate(page, project)
    page.keyboard.press("2")  # refund yes
    page.keyboard.press("Enter")
    warning = page.locator(".js-rule-warnings")
    expect(warning).to_contain_text("refund implies billing: mark billing yes?")
    assert not Annotation.objects.exists()
    warning.get_by_role("button", name="Mark billing yes").click()
    expect(page.locator(f"#l{billing.pk}-yes")).to_be_checked()

    page.keyboard.press("n")  # the remaining three become no, shown as a bulk act
    for label in (shipping, bug, praise):
        expect(page.locator(f"#l{label.pk}-no")).to_be_checked()
    expect(page.locator(".label-row.bulk-no .bulk-note")).to_have_count(3)
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-1")
    values = dict(Judgment.objects.values_list("label__name", "value"))
    assert values == {"refund": 1, "billing": 1, "shipping": 0, "bug": 0, "praise": 0}


def test_narrow_screen_help_overlay_and_guideline_changes(page, project, queue, labels, guideline, annotator):
    from tests.factories import annotate_item

    annotate_item(queue[9], annotator, {labels[0]: 1}, guideline=guideline)
    make_guideline(project, 2, changelog="Billing now includes store credit.", text="## Billing\nStore credit counts.")
    QueueEntry.objects.filter(item=queue[0]).update(focus_labels=[labels[3].pk])
    page.set_viewport_size({"width": 360, "height": 780})
    open_annotate(page, project)
    expect(page.locator(".changed")).to_contain_text("v2: Billing now includes store credit.")
    expect(page.locator(".label-row").first).to_have_attribute("data-name", "bug")
    # Nothing may stick out sideways at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.keyboard.press("4")
    screenshot(page, "annotate-360")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    # The viewport only: a full-page shot would stretch the modal's backdrop.
    page.screenshot(path=str(ARTIFACTS / "annotate-360-help.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()


def test_demo_project_page_at_desktop_width(page, annotator):
    """The shipped demo project as an annotator sees it: descriptions, focus labels, rules, what changed."""
    from django.utils import timezone

    from annotate.models import GuidelineVersion, Label
    from annotate.setup.demo import load_demo
    from tests.factories import add_member, annotate_item

    project, _ = load_demo()
    add_member(project, annotator)
    v1 = project.current_guideline()
    annotate_item(project.items.order_by("pk").last(), annotator, {}, guideline=v1)
    GuidelineVersion.objects.filter(project=project, number=None).update(
        number=2, published_at=timezone.now(), changelog="“urgent” needs a concrete reason; bug vs complaint."
    )
    labels = {label.name: label for label in Label.objects.filter(project=project)}
    first = project.queue_entries.filter(completed__lt=1).order_by("-priority", "id").first()
    first.focus_labels = [labels["refund"].pk, labels["complaint"].pk]
    first.save()

    login(page, "annie")
    page.goto(f"/projects/{project.pk}/annotate/")
    rows = page.locator(".label-row")
    expect(rows.first).to_have_attribute("data-name", "refund")
    expect(page.locator('.label-row[data-name="refund"]')).to_have_attribute("data-implies", str(labels["billing"].pk))
    expect(page.locator(".changed")).to_contain_text("v2:")
    page.keyboard.press("2")  # refund yes
    page.keyboard.press("Shift+6")  # complaint no
    page.keyboard.press("c")
    page.keyboard.press("3")  # billing yes
    screenshot(page, "annotate-demo-1280")


def test_session_ended_keeps_the_answers_and_says_so(page, project, queue, labels, annotator):
    shipping, refund, *_ = labels
    open_annotate(page, project)
    page.keyboard.press("1")  # shipping yes
    page.keyboard.press("Shift+2")  # refund no
    # Log out in a second tab, as a session that ends would.
    other = page.context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Log out").click()
    other.wait_for_url(lambda url: True)

    page.keyboard.press("Enter")
    alert = page.locator(".js-request-error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Your session has ended: log in again in another tab, then submit again")
    expect(alert.get_by_role("link", name="Log in (new tab)")).to_have_attribute("target", "_blank")
    # The answers stay on the same item; nothing says "Saved", nothing is stored.
    expect(page.locator(".external-id")).to_have_text("item-0")
    expect(page.locator(f"#l{shipping.pk}-yes")).to_be_checked()
    expect(page.locator(f"#l{refund.pk}-no")).to_be_checked()
    expect(page.locator("#item-form #id_username")).to_have_count(0)
    assert "Saved" not in page.locator("#annotate-live").text_content()
    assert not Annotation.objects.exists()
    screenshot(page, "annotate-session-ended")

    # Logging in again elsewhere and submitting again stores the answers (with the new CSRF token).
    login(other, "annie")
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-1")
    assert page.evaluate("window.sameDocument") is True
    values = dict(Judgment.objects.values_list("label__name", "value"))
    assert values == {"shipping": 1, "refund": 0}


def test_refused_request_is_shown_and_nothing_is_announced_saved(page, project, queue, labels, annotator):
    open_annotate(page, project)
    page.keyboard.press("1")
    # Cookies cleared: the CSRF check refuses the POST with 403.
    page.context.clear_cookies()
    page.keyboard.press("Enter")
    alert = page.locator(".js-request-error")
    expect(alert).to_contain_text("this page may be stale or your cookies were cleared")
    expect(page.locator(f"#l{labels[0].pk}-yes")).to_be_checked()
    assert "Saved" not in page.locator("#annotate-live").text_content()
    assert not Annotation.objects.exists()


def test_removed_from_the_project_says_so_instead_of_try_again(page, project, queue, labels, annotator):
    open_annotate(page, project)
    page.keyboard.press("1")
    # A manager removes the annotator meanwhile: the submit is a 404, which no retry will change.
    project.memberships.filter(user=annotator).delete()
    page.keyboard.press("Enter")
    alert = page.locator(".js-request-error")
    expect(alert).to_contain_text("no longer open to you")
    expect(alert).not_to_contain_text("try again in a moment")
    expect(alert.get_by_role("link", name="Your projects")).to_have_attribute("href", "/")
    expect(page.locator(f"#l{labels[0].pk}-yes")).to_be_checked()
    assert not Annotation.objects.exists()
    screenshot(page, "annotate-removed-from-project")


def test_deactivated_mid_item_says_so_instead_of_log_in_again(page, project, queue, labels, annotator, manager):
    from annotate.setup.accounts import deactivate_person

    open_annotate(page, project)
    page.keyboard.press("1")
    deactivate_person(person=annotator, actor=manager)
    page.keyboard.press("Enter")
    alert = page.locator(".js-request-error")
    expect(alert).to_contain_text("your account has been deactivated")
    expect(alert.get_by_role("link", name="Log in (new tab)")).to_have_count(0)
    expect(page.locator(f"#l{labels[0].pk}-yes")).to_be_checked()
    assert not Annotation.objects.exists()


def test_double_click_does_not_skip_the_rule_warning(page, project, queue, labels, annotator):
    _shipping, refund, billing, *_ = labels
    refund.implies.add(billing)
    page.clock.install()
    open_annotate(page, project)
    page.keyboard.press("2")  # refund yes
    page.locator("#item-form button.primary").dblclick()
    warning = page.locator(".js-rule-warnings")
    expect(warning).to_contain_text("refund implies billing")
    # A double Enter right after the warning appears does not submit anyway either.
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    warning.get_by_role("button", name="Submit anyway").click()
    expect(page.locator(".external-id")).to_have_text("item-0")
    assert not Annotation.objects.exists()

    # Once the warning has been on screen for a moment, "Submit anyway" submits.
    page.clock.fast_forward(1000)
    warning.get_by_role("button", name="Submit anyway").click()
    expect(page.locator(".external-id")).to_have_text("item-1")
    assert dict(Judgment.objects.values_list("label__name", "value")) == {"refund": 1}


def test_server_warning_submit_anyway_is_not_the_default_button(page, project, queue, labels, annotator):
    _shipping, refund, billing, *_ = labels
    refund.implies.add(billing)
    page.clock.install()
    open_annotate(page, project)
    page.keyboard.press("2")  # refund yes
    # Post the form past the browser's own check, so the server answers with its warning (422).
    with page.expect_response(lambda response: response.status == 422):
        page.evaluate(
            """() => {
                const form = document.querySelector("#item-form");
                const options = {source: form, target: "#annotate-work", swap: "outerHTML"};
                htmx.ajax("POST", form.getAttribute("hx-post"), options);
            }"""
        )
    anyway = page.locator("#item-form .rule-warnings:not(.js-rule-warnings) button[data-action=submit-anyway]")
    expect(anyway).to_have_attribute("type", "button")
    # Enter (implicit submission) never sends "Submit anyway": the default button is a plain submit.
    first_submit = page.locator("#item-form [type=submit]").first
    expect(first_submit).to_have_attribute("class", "default-submit")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-0")
    assert not Annotation.objects.exists()


def test_escape_closes_the_skip_panel_and_label_keys_work_again(page, project, queue, labels, annotator):
    open_annotate(page, project)
    page.keyboard.press("s")
    expect(page.locator("#skip")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(page.locator("#skip")).not_to_have_attribute("open", "")
    page.keyboard.press("1")
    expect(page.locator(f"#l{labels[0].pk}-yes")).to_be_checked()


def test_numpad_digits_act_like_digits(page, project, queue, labels, annotator):
    open_annotate(page, project)
    page.keyboard.press("Numpad1")
    page.keyboard.press("Numpad3")
    expect(page.locator(f"#l{labels[0].pk}-yes")).to_be_checked()
    expect(page.locator(f"#l{labels[2].pk}-yes")).to_be_checked()
    page.keyboard.press("NumpadEnter")
    expect(page.locator(".external-id")).to_have_text("item-1")
    assert dict(Judgment.objects.values_list("label__name", "value")) == {"shipping": 1, "billing": 1}


@pytest.mark.parametrize("width", [1280, 360])
def test_a_long_url_wraps_inside_the_item_card(page, project, queue, annotator, width):
    queue[0].text = "See https://example.com/" + "a" * 600 + " and " + "b" * 400
    queue[0].save()
    page.set_viewport_size({"width": width, "height": 800})
    open_annotate(page, project)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    card = page.evaluate("document.querySelector('.item-text').getBoundingClientRect().right")
    assert card <= width


def test_without_javascript_enter_does_not_submit_anyway(browser, live_server, project, queue, labels, annotator):
    _shipping, refund, billing, *_ = labels
    refund.implies.add(billing)
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        login(page, "annie")
        page.goto(f"/projects/{project.pk}/annotate/")
        page.locator(f"label[for=l{refund.pk}-yes]").click()
        page.locator("#item-form button.primary").click()
        expect(page.locator(".rule-warnings").first).to_contain_text("refund implies billing")
        # Enter in the form submits with the default button, not with "Submit anyway".
        page.locator(f"#l{refund.pk}-yes").press("Enter")
        expect(page.locator(".rule-warnings").first).to_contain_text("refund implies billing")
        assert not Annotation.objects.exists()
        page.get_by_role("button", name="Submit anyway, ignoring the rule warnings").click()
        expect(page.locator(".external-id")).to_have_text("item-1")
        assert Annotation.objects.count() == 1
    finally:
        context.close()


def test_item_answered_in_another_tab_offers_the_next_item(page, project, queue, labels, annotator):
    open_annotate(page, project)
    other = page.context.new_page()
    other.goto(f"/projects/{project.pk}/annotate/")
    expect(other.locator(".external-id")).to_have_text("item-0")
    other.keyboard.press("1")
    other.keyboard.press("Enter")
    expect(other.locator(".external-id")).to_have_text("item-1")

    page.keyboard.press("2")
    page.keyboard.press("Enter")
    refusal = page.locator("#item-form .form-error").first
    expect(refusal).to_contain_text("You have already answered this item")
    expect(refusal.get_by_role("link", name="Next item")).to_be_focused()
    # Enter follows the link instead of repeating the refusal.
    # The other tab's lease on item-1 is this annotator's too, so it comes next here as well.
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).to_have_text("item-1")
    assert Annotation.objects.count() == 1
