"""In Chromium: the guideline editor's live preview, publishing and the diff; the label merge preview."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import GuidelineVersion, Label
from annotate.setup.guidelines import publish_guideline, save_draft
from tests.conftest import login, screenshot
from tests.factories import annotate_item

pytestmark = pytest.mark.browser

V1 = "# Support guideline\n\nMark **refund** when the customer asks for money back.\n\nMark *shipping* for delivery.\n"


def test_live_preview_then_publish_and_read_the_diff(page, project, reviewer):
    publish_guideline(draft=save_draft(project=project, text=V1, author=reviewer), changelog="First", author=reviewer)
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/guideline/edit/")
    editor = page.locator("#guideline-text")
    expect(editor).to_have_value(V1)
    expect(page.get_by_role("button", name="Preview")).to_be_hidden()  # htmx does the preview

    editor.fill(V1 + "\n## Returns\n\nA **return** is <script>alert('x')</script> also a refund.\n")
    preview = page.locator("#guideline-preview .preview-body")
    expect(preview.locator("h2")).to_have_text("Returns")
    expect(preview.locator("strong", has_text="return")).to_be_visible()
    expect(preview.locator("script")).to_have_count(0)
    expect(page.locator("#guideline-preview .diff tr.insert").first).to_be_visible()
    screenshot(page, "guideline-editor-1280")

    page.fill("#changelog", "Returns count as refunds")
    page.get_by_role("button", name="Publish as version 2").click()
    expect(page.locator(".messages")).to_contain_text("Published version 2: Returns count as refunds")
    assert GuidelineVersion.objects.get(project=project, number=2).text.endswith("also a refund.\n")

    page.get_by_role("link", name="diff").first.click()
    expect(page.locator("table.diff.inline")).to_be_visible()
    page.select_option("select[name=mode]", "side")
    expect(page.locator("table.diff.side")).to_be_visible()  # swapped in by htmx
    expect(page.locator("table.diff.side tr.insert td.new", has_text="## Returns")).to_be_visible()
    screenshot(page, "guideline-diff-side-1280")


def test_merge_preview_then_confirm(page, project, labels, items, annotator, second_annotator, manager, guideline):
    _, refund, billing, *_ = labels
    annotate_item(items[0], annotator, {refund: 1, billing: 0}, guideline=guideline)
    annotate_item(items[1], annotator, {refund: 0}, guideline=guideline)
    annotate_item(items[2], second_annotator, {refund: 1}, guideline=guideline)
    login(page, "manny")
    page.goto(f"/projects/{project.pk}/labels/{refund.pk}/merge/")
    page.select_option("#target", str(billing.pk))
    page.get_by_role("button", name="Preview the merge").click()
    expect(page.locator(".effect")).to_contain_text(
        "Merging “refund” into “billing”: 1 positives move, 0 positives were already on “billing”, "
        "1 negatives are dropped, 1 conflicts go to review"
    )
    screenshot(page, "label-merge-preview-1280")
    page.get_by_role("button", name="Yes, apply it").click()
    expect(page.get_by_role("heading", name="Merge conflicts waiting for review (1)")).to_be_visible()
    conflicts = page.locator("#conflicts-title + p + ul")
    expect(conflicts).to_contain_text("item-0: annie said yes to “refund” and no to “billing”")
    assert Label.objects.get(pk=refund.pk).merged_into == billing
    screenshot(page, "labels-after-merge-1280")


def test_leaving_the_editor_with_unsaved_typing_asks_first_but_saving_does_not(page, project, reviewer):
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/guideline/edit/")
    editor_url = page.url
    page.locator("#guideline-text").click()
    page.keyboard.type("# Draft\n\nUnsaved words.")

    def stay(dialog):
        dialog.dismiss()

    page.on("dialog", stay)
    with page.expect_event("dialog") as asked:
        page.get_by_role("link", name="Back to the guideline").click()
    page.remove_listener("dialog", stay)
    assert asked.value.type == "beforeunload"

    assert page.url == editor_url
    expect(page.locator("#guideline-text")).to_have_value("# Draft\n\nUnsaved words.")
    # Submitting the form is not leaving it: with no dialog listener Playwright
    # would dismiss a beforeunload prompt, and the save would never arrive.
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Draft saved")
