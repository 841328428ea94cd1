"""Answers and skips only for items the queue handed out; an edited skip never takes an item past its overlap.

An annotator who skipped an item never handed to them, then edited the skip
into answers from My work, used to push the item over its overlap; and a
rule warning was asked to be confirmed for answers that could not be stored
(issue 16). The submit's own 409 is in tests/test_annotate_views.py.
"""

import re
import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation, QueueEntry
from annotate.work.annotating import Answer, SubmitRefused, edit_annotation, skip_item, submit_annotation
from annotate.work.queue import next_item

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def queue(project, items):
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=10 - index) for index, item in enumerate(items)]
    )
    return items


def test_a_skip_of_an_item_not_handed_out_is_a_409_and_stores_nothing(client, project, queue, labels, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content  # hands out queue[0]
    key = re.search(rb'name="idempotency_key" value="([0-9a-f-]+)"', page).group(1).decode()
    data = {"idempotency_key": key, "reason": "unclear"}
    refused = client.post(reverse("annotate-skip", args=[project.pk, queue[3].pk]), data, **HTMX)
    assert refused.status_code == 409
    assert "was not handed to you" in refused.content.decode()
    assert not Annotation.objects.exists()
    # The item it did hand out can be skipped, and a replay of that skip still passes.
    url = reverse("annotate-skip", args=[project.pk, queue[0].pk])
    assert client.post(url, data, **HTMX).status_code == 200
    assert client.post(url, data, **HTMX).status_code == 200
    assert list(Annotation.objects.values_list("item", "skipped")) == [(queue[0].pk, True)]


def test_without_a_lease_a_skip_posted_without_javascript_is_refused_too(client, project, queue, annotator):
    client.force_login(annotator)
    data = {"idempotency_key": str(uuid.uuid4()), "reason": "unclear"}
    response = client.post(reverse("annotate-skip", args=[project.pk, queue[5].pk]), data)
    assert response.status_code == 409
    assert not Annotation.objects.exists()


def handed_skip(project, annotator):
    item, _ = next_item(annotator=annotator, project=project)
    return skip_item(
        annotator=annotator,
        item=item,
        reason="unclear",
        idempotency_key=uuid.uuid4(),
        duration_ms=0,
        handed_out_only=True,
    ).annotation


def submit_handed(annotator, item, label):
    submit_annotation(
        annotator=annotator,
        item=item,
        answers={label.pk: Answer(1, 1.0)},
        idempotency_key=uuid.uuid4(),
        duration_ms=0,
        handed_out_only=True,
    )


def test_an_edited_skip_is_refused_once_the_item_has_the_answers_it_needs(
    project, queue, labels, annotator, second_annotator
):
    skipped = handed_skip(project, annotator)
    item, _ = next_item(annotator=second_annotator, project=project)
    assert item == skipped.item
    submit_handed(second_annotator, item, labels[0])
    with pytest.raises(SubmitRefused, match="has all the answers it needs"):
        edit_annotation(annotation=skipped, editor=annotator, answers={labels[0].pk: Answer(0, 1.0)})
    skipped.refresh_from_db()
    assert skipped.skipped
    assert not skipped.judgments.exists()
    entry = QueueEntry.objects.get(item=item)
    assert (entry.completed, entry.required) == (1, 1)
    assert Annotation.objects.filter(item=item, skipped=False).count() == 1


def test_an_edited_skip_does_not_take_the_place_of_someone_the_item_was_handed_to(
    project, queue, labels, annotator, second_annotator
):
    """Skip, the queue hands the item to another, the skip is edited into answers, the other submits: 2 of 1.

    The load harness's checker found it ("item 2874 needs 1: completed 2"):
    the round looked open (0 of 1) while its one place was handed out.
    """
    skipped = handed_skip(project, annotator)
    item, _ = next_item(annotator=second_annotator, project=project)
    assert item == skipped.item
    with pytest.raises(SubmitRefused, match="others were given it"):
        edit_annotation(annotation=skipped, editor=annotator, answers={labels[0].pk: Answer(0, 1.0)})
    submit_handed(second_annotator, item, labels[0])
    entry = QueueEntry.objects.get(item=item)
    assert (entry.completed, entry.required) == (1, 1)
    assert Annotation.objects.filter(item=item, skipped=False).count() == 1


def test_an_edited_skip_counts_toward_the_round_while_it_is_open(project, queue, labels, annotator):
    QueueEntry.objects.update(required=2, round=3, reason="uncertain")
    skipped = handed_skip(project, annotator)
    edit_annotation(annotation=skipped, editor=annotator, answers={labels[0].pk: Answer(1, 1.0)})
    skipped.refresh_from_db()
    assert not skipped.skipped
    assert (skipped.queue_round, skipped.queue_reason) == (3, "uncertain")
    assert QueueEntry.objects.get(item=skipped.item).completed == 1


def test_the_edit_page_shows_why_an_edited_skip_was_refused(client, project, queue, labels, annotator):
    skipped = handed_skip(project, annotator)
    QueueEntry.objects.filter(item=skipped.item).update(completed=1)
    client.force_login(annotator)
    url = reverse("annotation-edit", args=[project.pk, skipped.pk])
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": "yes"}
    response = client.post(url, data)
    assert response.status_code == 422
    assert "has all the answers it needs (1)" in response.content.decode()
    assert Annotation.objects.get(pk=skipped.pk).skipped


def test_an_item_not_handed_out_is_refused_before_any_rule_warning(client, project, queue, labels, annotator):
    _shipping, refund, billing, *_ = labels
    refund.implies.add(billing)
    client.force_login(annotator)
    client.get(reverse("annotate", args=[project.pk]))  # hands out queue[0]
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{refund.pk}": "yes", f"label-{billing.pk}": "no"}
    refused = client.post(reverse("annotate-submit", args=[project.pk, queue[4].pk]), data, **HTMX)
    assert refused.status_code == 409
    assert "was not handed to you" in refused.content.decode()
    # The item handed out gets the warning, to confirm.
    warned = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, **HTMX)
    assert warned.status_code == 422
    assert not Annotation.objects.exists()
