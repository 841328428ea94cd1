"""Submitting, skipping and editing annotations: what is stored, what is refused, what it triggers."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Annotation, AuditEvent, Judgment, Lease, Project, QueueEntry
from annotate.work.annotating import (
    DURATION_SLACK_MS,
    Answer,
    SubmitRefused,
    check_label_rules,
    edit_annotation,
    label_rules,
    skip_item,
    submit_annotation,
)
from annotate.work.queue import next_item
from tests.factories import make_guideline


@pytest.fixture
def queue(project, items):
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=10 - index) for index, item in enumerate(items)]
    )
    return items


def submit(annotator, item, answers, **kwargs):
    kwargs.setdefault("idempotency_key", uuid.uuid4())
    kwargs.setdefault("duration_ms", 1000)
    return submit_annotation(annotator=annotator, item=item, answers=answers, **kwargs)


def stored(annotation):
    return {j.label.name: (j.value, j.confidence) for j in annotation.judgments.select_related("label")}


def test_submit_stores_only_the_answered_labels(project, queue, labels, guideline, annotator):
    shipping, refund, billing, *_ = labels
    item, _ = next_item(annotator=annotator, project=project)
    result = submit(annotator, item, {shipping.pk: Answer(1, 1.0), refund.pk: Answer(0, 0.55)})
    annotation = result.annotation
    assert result.created
    assert stored(annotation) == {"shipping": (1, 1.0), "refund": (0, 0.55)}
    assert not Judgment.objects.filter(annotation=annotation, label=billing).exists()
    assert annotation.guideline_version == guideline
    assert not annotation.skipped
    assert QueueEntry.objects.get(item=item).completed == 1
    assert not Lease.objects.filter(annotator=annotator).exists()


def test_a_repeated_idempotency_key_stores_one_annotation(project, queue, labels, annotator):
    key = uuid.uuid4()
    item, _ = next_item(annotator=annotator, project=project)
    first = submit(annotator, item, {labels[0].pk: Answer(1, 0.8)}, idempotency_key=key)
    again = submit(annotator, item, {labels[0].pk: Answer(0, 0.8)}, idempotency_key=key)
    assert not again.created
    assert again.annotation.pk == first.annotation.pk
    assert Annotation.objects.count() == 1
    assert stored(first.annotation) == {"shipping": (1, 0.8)}
    assert QueueEntry.objects.get(item=item).completed == 1


def test_a_second_submit_for_the_same_item_with_a_new_key_is_refused(project, queue, labels, annotator):
    submit(annotator, queue[0], {labels[0].pk: Answer(1, 0.8)})
    with pytest.raises(SubmitRefused, match="already answered"):
        submit(annotator, queue[0], {labels[0].pk: Answer(0, 0.8)})
    assert Annotation.objects.count() == 1


def test_require_all_labels_refusal_names_the_unanswered_labels(project, queue, labels, annotator):
    project.require_all_labels = True
    project.save()
    answers = {label.pk: Answer(0, 0.8) for label in labels if label.name not in ("billing", "praise")}
    with pytest.raises(SubmitRefused) as refused:
        submit(annotator, queue[0], answers)
    assert "billing, praise" in refused.value.message
    assert [label.name for label in refused.value.unanswered] == ["billing", "praise"]
    assert not Annotation.objects.exists()


def test_focus_only_requires_only_the_focus_labels(project, queue, labels, annotator):
    project.require_all_labels = True
    project.save()
    _shipping, refund, billing, *_ = labels
    QueueEntry.objects.filter(item=queue[0]).update(focus_labels=[billing.pk, refund.pk])
    answers = {billing.pk: Answer(1, 1.0), refund.pk: Answer(0, 0.8)}
    with pytest.raises(SubmitRefused):
        submit(annotator, queue[0], answers, focus_only=False)
    annotation = submit(annotator, queue[0], answers, focus_only=True).annotation
    assert stored(annotation) == {"billing": (1, 1.0), "refund": (0, 0.8)}

    project.allow_focus_only = False
    project.save()
    QueueEntry.objects.filter(item=queue[1]).update(focus_labels=[billing.pk])
    with pytest.raises(SubmitRefused, match="shipping"):
        submit(annotator, queue[1], {billing.pk: Answer(1, 1.0)}, focus_only=True)


def test_answers_for_inactive_labels_are_refused(project, queue, labels, annotator, guideline):
    retired = labels[4]
    retired.retired_in = guideline
    retired.save()
    with pytest.raises(SubmitRefused, match=r"“praise” was retired\. Nothing was saved"):
        submit(annotator, queue[0], {retired.pk: Answer(1, 1.0)})


def test_answer_rejects_a_fourth_state():
    with pytest.raises(ValueError):
        Answer(2, 0.8)
    with pytest.raises(ValueError):
        Answer(1, 0.0)


def test_duration_is_clamped_to_the_time_since_the_lease(project, queue, labels, annotator):
    answer = {labels[0].pk: Answer(1, 0.8)}
    item, _ = next_item(annotator=annotator, project=project)
    lease = Lease.objects.get(annotator=annotator)
    now = lease.created_at + timedelta(seconds=30)
    honest = submit(annotator, item, answer, duration_ms=29_000, now=now).annotation
    assert honest.duration_ms == 29_000

    item, _ = next_item(annotator=annotator, project=project)
    lease = Lease.objects.get(annotator=annotator)
    now = lease.created_at + timedelta(seconds=30)
    inflated = submit(annotator, item, answer, duration_ms=3_600_000, now=now).annotation
    assert inflated.duration_ms == 30_000 + DURATION_SLACK_MS

    item, _ = next_item(annotator=annotator, project=project)
    negative = submit(annotator, item, answer, duration_ms=-5).annotation
    assert negative.duration_ms == 0

    item, _ = next_item(annotator=annotator, project=project)
    lease = Lease.objects.get(annotator=annotator)
    missing = submit(annotator, item, answer, duration_ms=None, now=lease.created_at + timedelta(seconds=12)).annotation
    assert missing.duration_ms == 12_000


def test_duration_without_a_lease_is_capped_at_the_lease_length(project, queue, labels, annotator):
    annotation = submit(annotator, queue[5], {labels[0].pk: Answer(0, 0.8)}, duration_ms=10**9).annotation
    assert annotation.duration_ms == project.lease_minutes * 60_000


def test_guideline_version_in_force_is_recorded(project, queue, labels, guideline, annotator):
    make_guideline(project, 2)
    make_guideline(project, published=False)
    annotation = submit(annotator, queue[0], {labels[0].pk: Answer(1, 1.0)}).annotation
    assert annotation.guideline_version.number == 2


def test_skip_records_the_reason_releases_the_lease_and_keeps_the_item_open(
    project, queue, annotator, second_annotator
):
    item, _ = next_item(annotator=annotator, project=project)
    result = skip_item(
        annotator=annotator, item=item, reason="  not in   English ", idempotency_key=uuid.uuid4(), duration_ms=500
    )
    annotation = result.annotation
    assert (annotation.skipped, annotation.skip_reason) == (True, "not in English")
    assert not annotation.judgments.exists()
    assert not Lease.objects.filter(annotator=annotator).exists()
    assert QueueEntry.objects.get(item=item).completed == 0
    assert next_item(annotator=annotator, project=project)[0] != item
    assert next_item(annotator=second_annotator, project=project)[0] == item


def test_skip_needs_a_reason(project, queue, annotator):
    with pytest.raises(SubmitRefused):
        skip_item(annotator=annotator, item=queue[0], reason="  ", idempotency_key=uuid.uuid4(), duration_ms=0)


def test_edit_replaces_answers_and_keeps_the_earlier_state_in_the_audit_trail(
    project, queue, labels, guideline, annotator
):
    shipping, refund, billing, *_ = labels
    annotation = submit(annotator, queue[0], {shipping.pk: Answer(1, 1.0), refund.pk: Answer(0, 0.8)}).annotation
    edit_annotation(
        annotation=annotation, editor=annotator, answers={shipping.pk: Answer(0, 0.55), billing.pk: Answer(1, 0.8)}
    )
    assert stored(annotation) == {"shipping": (0, 0.55), "billing": (1, 0.8)}
    event = AuditEvent.objects.get(action="annotation.edit")
    assert event.actor == annotator
    assert event.project == project
    assert event.before["judgments"] == {
        "shipping": {"value": 1, "confidence": 1.0},
        "refund": {"value": 0, "confidence": 0.8},
    }
    assert event.after["judgments"] == {
        "shipping": {"value": 0, "confidence": 0.55},
        "billing": {"value": 1, "confidence": 0.8},
    }
    assert Annotation.objects.get(pk=annotation.pk).updated_at > annotation.created_at


def test_edit_keeps_judgments_of_labels_retired_since(project, queue, labels, guideline, annotator):
    shipping, *_, praise = labels
    annotation = submit(annotator, queue[0], {shipping.pk: Answer(1, 1.0), praise.pk: Answer(1, 1.0)}).annotation
    praise.retired_in = make_guideline(project, 2)
    praise.save()
    edit_annotation(annotation=annotation, editor=annotator, answers={shipping.pk: Answer(0, 1.0)})
    assert stored(annotation) == {"shipping": (0, 1.0), "praise": (1, 1.0)}


def test_edit_of_a_skip_counts_the_item_as_done(project, queue, labels, annotator):
    annotation = skip_item(
        annotator=annotator, item=queue[0], reason="unclear", idempotency_key=uuid.uuid4(), duration_ms=0
    ).annotation
    edit_annotation(annotation=annotation, editor=annotator, answers={labels[0].pk: Answer(1, 1.0)})
    annotation.refresh_from_db()
    assert not annotation.skipped
    assert QueueEntry.objects.get(item=queue[0]).completed == 1


def test_only_the_annotator_may_edit(project, queue, labels, annotator, second_annotator):
    annotation = submit(annotator, queue[0], {labels[0].pk: Answer(1, 1.0)}).annotation
    with pytest.raises(SubmitRefused):
        edit_annotation(annotation=annotation, editor=second_annotator, answers={})
    assert stored(annotation) == {"shipping": (1, 1.0)}
    assert not AuditEvent.objects.exists()


def test_label_rules_warn_on_implies_and_excludes(project, labels):
    _shipping, refund, billing, bug, praise = labels
    refund.implies.add(billing)
    bug.excludes.add(praise)
    loaded = list(project.active_labels())
    rules = label_rules(labels=loaded)
    warnings = check_label_rules(
        labels=loaded,
        rules=rules,
        answers={
            refund.pk: Answer(1, 1.0),
            billing.pk: Answer(0, 1.0),
            bug.pk: Answer(1, 1.0),
            praise.pk: Answer(1, 0.8),
        },
    )
    assert [w.message for w in warnings] == [
        "refund implies billing: mark billing yes?",
        "bug excludes praise: both are marked yes.",
    ]
    assert warnings[0].fix == billing
    assert (
        check_label_rules(labels=loaded, rules=rules, answers={refund.pk: Answer(1, 1.0), billing.pk: Answer(1, 1.0)})
        == []
    )
    # A rule towards a retired label cannot be broken: it is not asked any more.
    billing.retired_in = make_guideline(project, 2)
    billing.save()
    active = list(project.active_labels())
    assert check_label_rules(labels=active, rules=label_rules(labels=active), answers={refund.pk: Answer(1, 1.0)}) == []


def test_retrain_is_requested_once_when_the_counter_reaches_the_threshold(
    project, queue, labels, annotator, sent_tasks, django_capture_on_commit_callbacks
):
    sent = sent_tasks
    project.retrain_every = 3
    project.save()
    for item in queue[:2]:
        with django_capture_on_commit_callbacks(execute=True):
            submit(annotator, item, {labels[0].pk: Answer(1, 1.0)})
    assert sent == []
    assert Project.objects.get(pk=project.pk).annotations_since_retrain == 2
    with django_capture_on_commit_callbacks(execute=True):
        submit(annotator, queue[2], {labels[0].pk: Answer(1, 1.0)})
    assert sent == [("learner.tasks.retrain", (), {"project_id": project.pk, "trigger": "annotations"})]
    assert Project.objects.get(pk=project.pk).annotations_since_retrain == 0
    # Skips and repeated requests do not count.
    with django_capture_on_commit_callbacks(execute=True):
        skip_item(annotator=annotator, item=queue[3], reason="spam", idempotency_key=uuid.uuid4(), duration_ms=0)
    assert Project.objects.get(pk=project.pk).annotations_since_retrain == 0


def test_retrain_trigger_off_when_retrain_every_is_zero(
    project, queue, labels, annotator, sent_tasks, django_capture_on_commit_callbacks
):
    project.retrain_every = 0
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        submit(annotator, queue[0], {labels[0].pk: Answer(1, 1.0)})
    assert sent_tasks == []
    assert Project.objects.get(pk=project.pk).annotations_since_retrain == 1


def test_item_is_reoffered_after_expiry_only_to_others_once_answered(
    project, queue, labels, annotator, second_annotator
):
    QueueEntry.objects.filter(item=queue[0]).update(required=2)
    item, _ = next_item(annotator=annotator, project=project)
    submit(annotator, item, {labels[0].pk: Answer(1, 1.0)})
    assert next_item(annotator=annotator, project=project)[0] != item
    assert next_item(annotator=second_annotator, project=project)[0] == item
    later = timezone.now() + timedelta(hours=1)
    assert next_item(annotator=annotator, project=project, now=later)[0] != item


def test_an_edit_cannot_take_every_answer_away(project, queue, labels, annotator):
    shipping = labels[0]
    annotation = submit(annotator, queue[0], {shipping.pk: Answer(1, 1.0)}).annotation
    with pytest.raises(SubmitRefused, match="Keep at least one answer"):
        edit_annotation(annotation=annotation, editor=annotator, answers={})
    assert stored(annotation) == {"shipping": (1, 1.0)}
    assert not AuditEvent.objects.filter(action="annotation.edit").exists()
