"""A merge conflict goes to the review queue even when no two annotators disagree."""

from annotate.labelset import merge_labels
from annotate.models import Resolution
from annotate.review import review_queue
from tests.factories import annotate_item, make_labels


def test_merge_conflict_heads_the_review_queue_until_resolved(project, guideline, items, annotator, manager, reviewer):
    request, refund, shipping = make_labels(project, ["refund request", "refund", "shipping"])
    # One annotator said yes to "refund request" and no to "refund": after the
    # merge that is a conflict, but nobody else answered, so it is not disputed.
    annotate_item(items[0], annotator, {request: (1, 0.9), refund: (0, 0.8)}, guideline=guideline)
    # An ordinary disputed entry on another item.
    annotate_item(items[1], annotator, {shipping: (1, 1.0)}, guideline=guideline)
    annotate_item(
        items[1],
        manager,
        {shipping: (0, 1.0)},
        guideline=guideline,
    )

    merge_labels(source=request, target=refund, actor=manager)
    page = review_queue(project=project, limit=10)

    pairs = [(entry.item.pk, entry.label.pk) for entry in page.entries]
    assert pairs == [(items[0].pk, refund.pk), (items[1].pk, shipping.pk)]

    Resolution.objects.create(item=items[0], label=refund, value=0, reviewer=reviewer)
    pairs = [(entry.item.pk, entry.label.pk) for entry in review_queue(project=project, limit=10).entries]
    assert pairs == [(items[1].pk, shipping.pk)]
