"""An item back for other labels, answered from the keyboard in a project that asks focus labels."""

import uuid

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, AskMode, QueueEntry, QueueReason
from annotate.work.annotating import Answer, submit_annotation
from annotate.work.queue import next_item, set_queue_priorities
from tests.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_a_reopened_item_asks_only_its_new_focus_labels_by_keyboard(page, project, items, labels, annotator):
    shipping, refund, billing, bug, praise = labels
    project.ask_mode = AskMode.FOCUS
    project.save()
    QueueEntry.objects.create(project=project, item=items[0], priority=1.0)
    rows = [(items[0].pk, 1.0, [shipping.pk, refund.pk], QueueReason.UNCERTAIN)]
    set_queue_priorities(project=project, entries=rows, model_version_id=1)
    next_item(annotator=annotator, project=project)
    submit_annotation(
        annotator=annotator,
        item=items[0],
        answers={shipping.pk: Answer(1, 1.0), refund.pk: Answer(0, 0.8)},
        idempotency_key=uuid.uuid4(),
        duration_ms=1000,
    )
    # The model's next ranking wants two other labels of the same item.
    rows = [(items[0].pk, 1.0, [bug.pk, billing.pk], QueueReason.UNCERTAIN)]
    set_queue_priorities(project=project, entries=rows, model_version_id=2)

    login(page, "annie")
    page.goto(f"/projects/{project.pk}/annotate/")
    expect(page.locator(".external-id")).to_have_text("item-0")
    earlier = page.locator(".earlier-answers")
    expect(earlier).to_contain_text("shipping")
    expect(earlier).to_contain_text("refund")
    expect(earlier.get_by_role("link", name="change them")).to_be_visible()
    # Only the new focus labels are asked, in the model's order, with their usual keys.
    expect(page.locator(".label-row")).to_have_count(2)
    expect(page.locator(".label-row").first).to_have_attribute("data-name", "bug")
    screenshot(page, "annotate-reopened-item")

    page.keyboard.press("3")  # billing yes
    page.keyboard.press("Shift+4")  # bug no
    expect(page.locator(f"#l{billing.pk}-yes")).to_be_checked()
    expect(page.locator(f"#l{bug.pk}-no")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator(".done")).to_be_visible()

    annotation = Annotation.objects.get(item=items[0], annotator=annotator)
    stored = {j.label.name: j.value for j in annotation.judgments.select_related("label")}
    assert stored == {"shipping": 1, "refund": 0, "billing": 1, "bug": 0}
    assert praise.name not in stored
