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

    from annotate.demo import load_demo
    from annotate.models import GuidelineVersion, Label
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
