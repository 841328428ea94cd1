"""After a merge or a retirement, focus labels are read as the label set is now, and a retrain is asked for."""

import re

import pytest
from django.urls import reverse

from annotate import jobs
from annotate.models import QueueEntry, QueueReason
from annotate.setup.labelset import merge_labels, retire_label
from annotate.work.queue import current_focus, set_queue_priorities


@pytest.fixture
def asked(monkeypatch):
    """The retrains the label-set changes ask for, instead of a broker."""
    calls: list[dict] = []
    monkeypatch.setattr(jobs, "request_retrain", lambda **kwargs: calls.append(kwargs))
    return calls


def write_focus(project, focus_by_item) -> None:
    rows = [(item.pk, 1.0, [label.pk for label in chosen], QueueReason.UNCERTAIN) for item, chosen in focus_by_item]
    set_queue_priorities(project=project, entries=rows, model_version_id=None)


def focus_now(project, item) -> list[int]:
    active = set(project.active_labels().values_list("pk", flat=True))
    return current_focus(focus=QueueEntry.objects.get(item=item).focus_labels, active_ids=active, project=project)


def test_a_merged_focus_label_stands_for_its_target_in_the_models_order(project, queue, labels, manager, asked):
    shipping, refund, billing, bug, _ = labels
    write_focus(project, [(queue[0], [refund, shipping]), (queue[1], [billing, refund]), (queue[2], [bug])])
    merge_labels(source=refund, target=billing, actor=manager)

    assert focus_now(project, queue[0]) == [billing.pk, shipping.pk]
    assert focus_now(project, queue[1]) == [billing.pk]  # already there: listed once
    assert focus_now(project, queue[2]) == [bug.pk]


def test_merges_are_followed_to_the_label_that_is_active_now(project, queue, labels, manager, asked):
    shipping, refund, billing, *_ = labels
    write_focus(project, [(queue[0], [refund, shipping])])
    merge_labels(source=refund, target=billing, actor=manager)
    merge_labels(source=billing, target=shipping, actor=manager)
    assert focus_now(project, queue[0]) == [shipping.pk]


def test_a_retired_focus_label_is_dropped(project, queue, labels, manager, asked):
    shipping, refund, *_ = labels
    write_focus(project, [(queue[0], [refund, shipping])])
    retire_label(label=refund, actor=manager)
    assert focus_now(project, queue[0]) == [shipping.pk]


def test_a_model_trained_before_a_merge_publishes_focus_labels_of_the_label_set_now(
    project, queue, labels, manager, asked
):
    shipping, refund, billing, *_ = labels
    merge_labels(source=refund, target=billing, actor=manager)
    # A version that trained on the old label set publishes its re-rank after the merge.
    write_focus(project, [(queue[0], [refund, shipping, billing])])
    assert QueueEntry.objects.get(item=queue[0]).focus_labels == [billing.pk, shipping.pk]


def test_the_annotate_page_highlights_the_merge_target(client, project, queue, labels, annotator, manager, asked):
    shipping, refund, billing, *_ = labels
    write_focus(project, [(item, [refund, shipping]) for item in queue])
    merge_labels(source=refund, target=billing, actor=manager)
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content.decode()
    # Focus labels come first, marked, in the model's order.
    names = re.findall(r'class="label-name"[^>]*>([^<]+)<', page)
    assert names[:2] == ["billing", "shipping"]
    assert page.count('class="focus-badge"') == 2


@pytest.mark.parametrize("change", ["merge", "retire"])
def test_a_retrain_is_asked_for_when_the_change_commits(
    project, labels, manager, asked, django_capture_on_commit_callbacks, change
):
    _, refund, billing, *_ = labels
    project.retrain_every = 20
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        if change == "merge":
            merge_labels(source=refund, target=billing, actor=manager)
        else:
            retire_label(label=refund, actor=manager)
    assert asked == [{"project_id": project.pk, "trigger": "labels"}]


def test_no_retrain_is_asked_where_retraining_is_manual(
    project, labels, manager, asked, django_capture_on_commit_callbacks
):
    project.retrain_every = 0
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        retire_label(label=labels[1], actor=manager)
    assert asked == []
