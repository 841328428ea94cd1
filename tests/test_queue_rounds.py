"""A queue that works label by label: items come back for other labels, and nobody is asked a label twice.

Runs on SQLite by default and on PostgreSQL with DATABASE_URL set, where
next_item goes through the PL/pgSQL function instead of the Python path.
"""

import re
import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation, AskMode, AuditEvent, QueueEntry, QueueReason
from annotate.work.annotating import Answer, SubmitRefused, submit_annotation
from annotate.work.queue import next_item, set_queue_priorities
from tests.factories import make_user

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def focus_project(project):
    project.ask_mode = AskMode.FOCUS
    project.save()
    return project


@pytest.fixture
def one_item(focus_project, items, labels):
    """One open item in the queue, its cold-start round asking every label."""
    QueueEntry.objects.create(project=focus_project, item=items[0], priority=1.0)
    return items[0]


def submit(annotator, item, answers, **kwargs):
    return submit_annotation(
        annotator=annotator, item=item, answers=answers, idempotency_key=uuid.uuid4(), duration_ms=900, **kwargs
    )


def rank(project, item, focus, reason=QueueReason.UNCERTAIN):
    set_queue_priorities(
        project=project, entries=[(item.pk, 0.9, [label.pk for label in focus], reason)], model_version_id=1
    )


def stored(item, annotator):
    annotation = Annotation.objects.get(item=item, annotator=annotator)
    return {j.label.name: j.value for j in annotation.judgments.select_related("label")}


def asked_names(page: str) -> list[str]:
    return re.findall(r'data-name="([^"]+)"', page)


def test_an_item_answered_on_its_focus_labels_comes_back_for_other_labels(
    client, focus_project, one_item, labels, annotator
):
    shipping, refund, billing, bug, _ = labels
    rank(focus_project, one_item, [shipping, refund])
    got = next_item(annotator=annotator, project=focus_project)
    assert got is not None and got[0] == one_item
    submit(annotator, one_item, {shipping.pk: Answer(1, 0.9), refund.pk: Answer(0, 0.8)})
    # Answered: the round is complete, so the item is gone for now.
    assert next_item(annotator=annotator, project=focus_project) is None

    # The next ranking wants other labels of the same item: it comes back to the same person.
    rank(focus_project, one_item, [billing, bug])
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[focus_project.pk])).content.decode()
    assert asked_names(page) == ["billing", "bug"]
    assert "Your earlier answers" in page
    earlier = page[page.index("Your earlier answers") :]
    assert "shipping" in earlier and "refund" in earlier
    edit_link = reverse("annotation-edit", args=[focus_project.pk, Annotation.objects.get(annotator=annotator).pk])
    assert edit_link in page

    url = reverse("annotate-submit", args=[focus_project.pk, one_item.pk])
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    response = client.post(url, {"idempotency_key": key, f"label-{billing.pk}": "yes", f"label-{bug.pk}": "no"}, **HTMX)
    assert response.status_code == 200
    assert stored(one_item, annotator) == {"shipping": 1, "refund": 0, "billing": 1, "bug": 0}
    assert Annotation.objects.filter(item=one_item, annotator=annotator).count() == 1
    event = AuditEvent.objects.get(action="annotation.add")
    assert set(event.before["judgments"]) == {"shipping", "refund"}
    assert set(event.after["judgments"]) == {"shipping", "refund", "billing", "bug"}
    # The same submit again (a retry) stores nothing more.
    again = client.post(url, {"idempotency_key": key, f"label-{billing.pk}": "yes", f"label-{bug.pk}": "no"}, **HTMX)
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="annotation.add").count() == 1


def test_a_label_already_answered_is_never_asked_again(focus_project, one_item, labels, annotator):
    shipping, refund, billing, *_ = labels
    rank(focus_project, one_item, [shipping])
    next_item(annotator=annotator, project=focus_project)
    submit(annotator, one_item, {shipping.pk: Answer(1, 1.0)})

    # A round that asks only what they answered is not theirs to work on.
    rank(focus_project, one_item, [shipping, refund])
    rank(focus_project, one_item, [shipping])
    assert next_item(annotator=annotator, project=focus_project) is None

    # A round with a new label as well brings the item back; an answer to the old label is refused.
    rank(focus_project, one_item, [shipping, billing])
    assert next_item(annotator=annotator, project=focus_project) is None
    rank(focus_project, one_item, [billing])
    assert next_item(annotator=annotator, project=focus_project)[0] == one_item
    with pytest.raises(SubmitRefused, match="You answered shipping before"):
        submit(annotator, one_item, {shipping.pk: Answer(0, 1.0), billing.pk: Answer(1, 1.0)})
    submit(annotator, one_item, {billing.pk: Answer(1, 1.0)})
    assert stored(one_item, annotator) == {"shipping": 1, "billing": 1}


def test_a_round_counts_whoever_answered_its_labels_so_no_label_gets_more_observers_than_it_needs(
    focus_project, one_item, labels, annotator, second_annotator
):
    """Overlap is counted per label: a round asking shipping of an overlap item needs two observers of it."""
    shipping, refund, *_ = labels
    third = make_user("thea")
    focus_project.memberships.create(user=third, role="annotator")
    rank(focus_project, one_item, [refund])
    next_item(annotator=annotator, project=focus_project)
    submit(annotator, one_item, {refund.pk: Answer(1, 1.0), shipping.pk: Answer(1, 1.0)})

    rank(focus_project, one_item, [shipping], reason=QueueReason.OVERLAP)
    entry = QueueEntry.objects.get(item=one_item)
    assert (entry.required, entry.completed) == (2, 1)  # annie already observed shipping
    assert next_item(annotator=annotator, project=focus_project) is None
    assert next_item(annotator=second_annotator, project=focus_project)[0] == one_item
    assert next_item(annotator=third, project=focus_project) is None
    submit(second_annotator, one_item, {shipping.pk: Answer(0, 1.0)})
    assert QueueEntry.objects.get(item=one_item).completed == 2


def test_a_ranking_without_focus_labels_closes_the_item(focus_project, one_item, labels, annotator):
    rank(focus_project, one_item, [])
    entry = QueueEntry.objects.get(item=one_item)
    assert entry.required == 0
    assert next_item(annotator=annotator, project=focus_project) is None


def test_a_ranking_with_the_same_focus_labels_keeps_the_round(focus_project, one_item, labels, annotator):
    shipping, refund, *_ = labels
    rank(focus_project, one_item, [shipping, refund])
    next_item(annotator=annotator, project=focus_project)
    submit(annotator, one_item, {shipping.pk: Answer(1, 1.0)})
    before = QueueEntry.objects.get(item=one_item)
    rank(focus_project, one_item, [refund, shipping])
    after = QueueEntry.objects.get(item=one_item)
    assert (after.round, after.completed, after.required) == (before.round, before.completed, before.required)


def test_an_all_labels_project_behaves_as_before(project, items, labels, annotator):
    """Focus labels only highlight: an answered item never comes back, whatever the next ranking says."""
    shipping, refund, billing, *_ = labels
    QueueEntry.objects.create(project=project, item=items[0], priority=1.0)
    rank(project, items[0], [shipping])
    assert next_item(annotator=annotator, project=project)[0] == items[0]
    submit(annotator, items[0], {billing.pk: Answer(1, 1.0)})
    rank(project, items[0], [refund])
    entry = QueueEntry.objects.get(item=items[0])
    assert (entry.round, entry.required, entry.completed) == (0, 1, 1)
    assert next_item(annotator=annotator, project=project) is None


def test_all_labels_are_asked_before_the_first_model(client, focus_project, one_item, labels, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[focus_project.pk])).content.decode()
    assert asked_names(page) == [label.name for label in labels]


def test_a_skip_in_a_later_round_keeps_the_answers_and_passes_on_the_round(focus_project, one_item, labels, annotator):
    from annotate.work.annotating import skip_item

    shipping, refund, *_ = labels
    rank(focus_project, one_item, [shipping])
    next_item(annotator=annotator, project=focus_project)
    submit(annotator, one_item, {shipping.pk: Answer(1, 1.0)})
    rank(focus_project, one_item, [refund])
    assert next_item(annotator=annotator, project=focus_project)[0] == one_item
    skip_item(annotator=annotator, item=one_item, reason="unclear", idempotency_key=uuid.uuid4(), duration_ms=0)
    assert stored(one_item, annotator) == {"shipping": 1}
    assert not Annotation.objects.get(item=one_item, annotator=annotator).skipped
    assert next_item(annotator=annotator, project=focus_project) is None
