"""The queue: a diverse cold start, next_item's rules, leases, and re-ranking by the learner."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Item, Lease, QueueEntry, QueueReason
from annotate.stats.cold_start import diverse_order
from annotate.work.queue import (
    build_cold_start_queue,
    is_overlap_rank,
    next_item,
    set_queue_priorities,
)
from tests.factories import annotate_item, make_items, make_project

TOPICS = {
    "shipping": "parcel courier delivery tracking late",
    "refund": "refund money back return reimbursement",
    "bug": "website crash error button broken page",
    "praise": "wonderful lovely great staff thanks amazing",
}


def make_topic_items(project, per_topic=15):
    rows = []
    for topic, words in TOPICS.items():
        vocabulary = words.split()
        for index in range(per_topic):
            text = " ".join(vocabulary[(index + shift) % len(vocabulary)] for shift in range(6))
            rows.append(Item(project=project, external_id=f"{topic}-{index}", text=f"{text} {index}"))
    return Item.objects.bulk_create(rows)


def queued(project, **filters):
    return list(QueueEntry.objects.filter(project=project, **filters).order_by("-priority", "id"))


def test_cold_start_spreads_the_first_items_over_topics(project):
    make_topic_items(project)
    assert build_cold_start_queue(project=project) == 60
    first = [entry.item.external_id.split("-")[0] for entry in queued(project)[:8]]
    # Topics sit in blocks of 15 in insertion order; a plain ranking by id or a
    # clustering that ignored the texts would not reach all four in 8 items.
    assert set(first) == set(TOPICS)


def test_diverse_order_is_a_permutation_and_reproducible():
    texts = [f"{word} text {index}" for index, word in enumerate(["alpha", "beta", "gamma"] * 20)]
    order = diverse_order(texts, seed=3)
    assert sorted(order) == list(range(60))
    assert order == diverse_order(texts, seed=3)


def test_cold_start_marks_an_even_overlap_share_and_keeps_existing_entries(project):
    project.overlap_fraction = 0.25
    project.overlap_count = 3
    project.save()
    make_items(project, 40)
    build_cold_start_queue(project=project)
    entries = queued(project)
    overlap = [index for index, entry in enumerate(entries) if entry.reason == QueueReason.OVERLAP]
    assert len(overlap) == 10
    assert all(entries[index].required == 3 for index in overlap)
    assert {entry.required for entry in entries if entry.reason == QueueReason.COLD_START} == {1}
    # Spread over the ranking, one in four, not all at the front.
    assert overlap == [3, 7, 11, 15, 19, 23, 27, 31, 35, 39]

    make_items(project, 5, prefix="later")
    assert build_cold_start_queue(project=project) == 5
    assert QueueEntry.objects.filter(project=project).count() == 45


def test_overlap_rank_rule():
    assert sum(is_overlap_rank(rank, 0.2) for rank in range(100)) == 20
    assert not any(is_overlap_rank(rank, 0.0) for rank in range(100))
    assert all(is_overlap_rank(rank, 1.0) for rank in range(100))


@pytest.fixture
def queue(project, items):
    """Ten single-annotation items with priorities 10 (item-0) down to 1 (item-9)."""
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=10 - index) for index, item in enumerate(items)]
    )
    return items


def test_next_item_follows_priority_and_writes_a_lease(project, queue, annotator):
    item, entry = next_item(annotator=annotator, project=project)
    assert item == queue[0]
    assert entry.item_id == item.pk
    lease = Lease.objects.get(annotator=annotator)
    assert lease.item == item
    assert lease.expires_at - lease.created_at == timedelta(minutes=project.lease_minutes)


def test_reload_returns_the_same_item(project, queue, annotator):
    first, _ = next_item(annotator=annotator, project=project)
    again, _ = next_item(annotator=annotator, project=project)
    assert again == first
    assert Lease.objects.filter(annotator=annotator).count() == 1


def test_an_item_held_by_one_annotator_goes_to_no_other(project, queue, annotator, second_annotator):
    mine, _ = next_item(annotator=annotator, project=project)
    theirs, _ = next_item(annotator=second_annotator, project=project)
    assert theirs != mine
    assert theirs == queue[1]


def test_overlap_item_goes_to_exactly_its_required_number(project, queue, annotator, second_annotator):
    from tests.factories import add_member, make_user

    QueueEntry.objects.filter(item=queue[0]).update(required=2)
    third = make_user("thea")
    add_member(project, third)
    assert next_item(annotator=annotator, project=project)[0] == queue[0]
    assert next_item(annotator=second_annotator, project=project)[0] == queue[0]
    assert next_item(annotator=third, project=project)[0] == queue[1]


def test_answered_and_skipped_items_are_not_offered_again(project, queue, annotator):
    QueueEntry.objects.filter(item__in=queue[:2]).update(required=2)
    annotate_item(queue[0], annotator, {})
    annotate_item(queue[1], annotator, {}, skipped=True, skip_reason="spam")
    assert next_item(annotator=annotator, project=project)[0] == queue[2]


def test_completed_items_are_not_offered(project, queue, annotator):
    QueueEntry.objects.filter(item=queue[0]).update(completed=1)
    assert next_item(annotator=annotator, project=project)[0] == queue[1]


def test_an_expired_lease_returns_the_item_to_the_pool(project, queue, annotator, second_annotator):
    held, _ = next_item(annotator=annotator, project=project)
    assert next_item(annotator=second_annotator, project=project)[0] != held
    Lease.objects.filter(annotator=second_annotator).delete()
    Lease.objects.filter(item=held).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert next_item(annotator=second_annotator, project=project)[0] == held


def test_an_annotator_whose_own_lease_expired_can_get_the_item_again(project, queue, annotator):
    held, _ = next_item(annotator=annotator, project=project)
    later = timezone.now() + timedelta(minutes=project.lease_minutes + 1)
    again, _ = next_item(annotator=annotator, project=project, now=later)
    assert again == held
    assert Lease.objects.get(annotator=annotator).expires_at > later


def test_empty_queue_gives_none(project, queue, annotator):
    QueueEntry.objects.filter(project=project).update(completed=1)
    assert next_item(annotator=annotator, project=project) is None
    assert not Lease.objects.exists()


def test_queues_of_other_projects_are_separate(project, queue, annotator):
    other = make_project("Other")
    other_items = make_items(other, 2, prefix="other")
    QueueEntry.objects.bulk_create([QueueEntry(project=other, item=item, priority=100) for item in other_items])
    assert next_item(annotator=annotator, project=project)[0] == queue[0]


def test_set_queue_priorities_reorders_and_keeps_required_and_completed(project, queue, labels, annotator):
    QueueEntry.objects.filter(item=queue[9]).update(required=2, completed=1)
    rows = [(item.pk, float(index), [], QueueReason.UNCERTAIN) for index, item in enumerate(queue)]
    rows[9] = (queue[9].pk, 100.0, [labels[2].pk, labels[0].pk], QueueReason.UNCERTAIN)
    assert set_queue_priorities(project=project, entries=rows, model_version_id=7) == 10

    entry = QueueEntry.objects.get(item=queue[9])
    assert (entry.priority, entry.focus_labels, entry.reason) == (100.0, [labels[2].pk, labels[0].pk], "uncertain")
    assert (entry.required, entry.completed, entry.model_version_id) == (2, 1, 7)
    item, got = next_item(annotator=annotator, project=project)
    assert item == queue[9]
    assert got.focus_labels == [labels[2].pk, labels[0].pk]
    # Then by the new priorities: item-8 (8.0) before item-0 (0.0).
    Lease.objects.all().delete()
    QueueEntry.objects.filter(item=queue[9]).update(completed=2)
    assert next_item(annotator=annotator, project=project)[0] == queue[8]


def test_set_queue_priorities_creates_missing_entries_and_ignores_other_projects(project, items, annotator):
    other_item = make_items(make_project("Elsewhere"), 1, prefix="x")[0]
    rows = [
        (items[0].pk, 0.5, [], QueueReason.OVERLAP),
        (items[1].pk, 0.9, [], QueueReason.EXPLORATION),
        (other_item.pk, 1.0, [], QueueReason.UNCERTAIN),
    ]
    assert set_queue_priorities(project=project, entries=rows, model_version_id=None) == 2
    assert QueueEntry.objects.get(item=items[0]).required == project.overlap_count
    assert QueueEntry.objects.get(item=items[1]).required == 1
    assert not QueueEntry.objects.filter(item=other_item).exists()


def test_set_queue_priorities_refuses_unknown_reasons(project, queue):
    with pytest.raises(ValueError, match="reason"):
        set_queue_priorities(project=project, entries=[(queue[0].pk, 1.0, [], "whim")], model_version_id=None)
    assert QueueEntry.objects.get(item=queue[0]).priority == 10


def test_an_annotator_who_loses_many_claims_in_a_row_still_gets_a_free_item(
    project, annotator, second_annotator, monkeypatch
):
    """Near the end of a queue annotators race for the same best entries; losing 20 in a row is not "nothing left"."""
    from annotate import db

    queue = make_items(project, 30)
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=100 - index) for index, item in enumerate(queue)]
    )

    real_attempt = db._claim_on_server if db.is_postgresql() else db._claim_from_python
    lost = []

    def someone_else_wins_first(*, annotator, project, now, expires, exclude):
        if len(lost) < 20:
            # The other annotator's claim commits between our query and our claim.
            entry = QueueEntry.objects.filter(project_id=project).exclude(pk__in=exclude).order_by("-priority", "id")[0]
            Lease.objects.create(item_id=entry.item_id, annotator=second_annotator, expires_at=expires)
            lost.append(entry.item_id)
            return "taken", entry.pk, None
        return real_attempt(annotator=annotator, project=project, now=now, expires=expires, exclude=exclude)

    monkeypatch.setattr(db, "_claim_on_server" if db.is_postgresql() else "_claim_from_python", someone_else_wins_first)

    item, _ = next_item(annotator=annotator, project=project)

    assert len(lost) == 20
    assert item is not None and item.pk not in lost
    assert item == queue[20]
