"""After a merge or a retirement the queue stops highlighting the old label at once, and a retrain is asked for."""

import pytest

from annotate import labelset
from annotate.labelset import merge_labels, retire_label
from annotate.models import QueueEntry, QueueReason
from annotate.queue import set_queue_priorities


@pytest.fixture
def asked(monkeypatch):
    """The retrains the label-set changes ask for, instead of a broker."""
    calls: list[dict] = []
    monkeypatch.setattr(labelset, "request_retrain", lambda **kwargs: calls.append(kwargs))
    return calls


@pytest.fixture
def focused(project, queue, labels):
    shipping, refund, billing, bug, _ = labels
    focus = {queue[0]: [refund, shipping], queue[1]: [billing, refund], queue[2]: [bug]}
    rows = [(item.pk, 1.0, [label.pk for label in chosen], QueueReason.UNCERTAIN) for item, chosen in focus.items()]
    set_queue_priorities(project=project, entries=rows, model_version_id=None)
    return queue


def focus_of(item) -> list[int]:
    return QueueEntry.objects.get(item=item).focus_labels


def test_a_merge_points_focus_labels_at_the_target_in_the_models_order(
    project, labels, focused, manager, asked, django_capture_on_commit_callbacks
):
    shipping, refund, billing, bug, _ = labels
    project.retrain_every = 20
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        merge_labels(source=refund, target=billing, actor=manager)

    assert focus_of(focused[0]) == [billing.pk, shipping.pk]
    # Already there: listed once.
    assert focus_of(focused[1]) == [billing.pk]
    assert focus_of(focused[2]) == [bug.pk]
    assert asked == [{"project_id": project.pk, "trigger": "labels"}]


def test_a_retirement_drops_the_label_from_focus(
    project, labels, focused, manager, asked, django_capture_on_commit_callbacks
):
    shipping, refund, billing, bug, _ = labels
    project.retrain_every = 20
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        retire_label(label=refund, actor=manager)

    assert focus_of(focused[0]) == [shipping.pk]
    assert focus_of(focused[1]) == [billing.pk]
    assert focus_of(focused[2]) == [bug.pk]
    assert asked == [{"project_id": project.pk, "trigger": "labels"}]


def test_no_retrain_is_asked_where_retraining_is_manual(
    project, labels, focused, manager, asked, django_capture_on_commit_callbacks
):
    project.retrain_every = 0
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        retire_label(label=labels[1], actor=manager)
    assert asked == []
    assert focus_of(focused[0]) == [labels[0].pk]
