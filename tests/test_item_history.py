"""An item's page tells its history: who annotated, edited, decided and flagged it, and when (issue 14)."""

from __future__ import annotations

import re
import uuid

from annotate.curation.flags import clear_flag, set_flag
from annotate.curation.review import clear_resolution, set_resolution
from annotate.models import QueueEntry
from annotate.work.annotating import Answer, edit_annotation, skip_item
from annotate.work.queue import next_item
from tests.factories import annotate_item


def test_the_item_page_lists_what_happened_oldest_first(
    client, project, items, labels, guideline, annotator, second_annotator, reviewer
):
    shipping, refund, *_ = labels
    item = items[0]
    annotator.first_name = "Annie"
    annotator.save()
    first = annotate_item(item, annotator, {shipping: 1, refund: 0}, guideline=guideline)
    annotate_item(item, second_annotator, {shipping: 0}, guideline=guideline)
    edit_annotation(
        annotation=first, editor=annotator, answers={shipping.pk: Answer(1, 1.0), refund.pk: Answer(1, 1.0)}
    )
    set_resolution(item=item, label=shipping, value=1, note="parcel words", reviewer=reviewer)
    set_resolution(item=item, label=shipping, value=0, note=None, reviewer=reviewer)
    clear_resolution(item=item, label=shipping, reviewer=reviewer)
    set_flag(item=item, annotator=annotator, reason="broken", comment="cut off")
    clear_flag(item=item, annotator=annotator)
    set_resolution(item=items[1], label=shipping, value=1, note="another item", reviewer=reviewer)

    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/{item.pk}/").content.decode()
    history = html[html.index('id="history-heading"') :]
    lines = [" ".join(re.sub(r"<[^>]+>", " ", line).split()) for line in re.findall(r"<li>(.*?)</li>", history)]
    said = [line.split(" ", 2)[2] for line in lines]  # without the date and time
    assert said == [
        "Annie annotated it",
        "arthur annotated it",
        "Annie changed their answers: refund: no → yes",
        "rita decided shipping yes: parcel words",
        "rita decided shipping no (was yes): parcel words",
        "rita undid the decision on shipping (no)",
        "Annie flagged it as broken text: cut off",
        "Annie withdrew their flag",
    ]
    assert "another item" not in history


def test_a_skip_and_its_edit_into_answers(client, project, items, labels, annotator, reviewer):
    QueueEntry.objects.create(project=project, item=items[0], priority=1, required=2)
    item, _ = next_item(annotator=annotator, project=project)
    skipped = skip_item(
        annotator=annotator, item=item, reason="unclear", idempotency_key=uuid.uuid4(), duration_ms=0
    ).annotation
    edit_annotation(annotation=skipped, editor=annotator, answers={labels[0].pk: Answer(1, 1.0)})
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/{item.pk}/").content.decode()
    assert "turned their skip into answers: shipping: no answer → yes" in html
