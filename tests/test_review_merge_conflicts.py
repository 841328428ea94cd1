"""A merge conflict goes to the review queue even when no two annotators disagree, and says why it is there."""

from django.urls import reverse

from annotate.curation.review import MergedYes, resolved_entries, review_queue
from annotate.models import Resolution
from annotate.setup.labelset import merge_labels
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


def test_merge_conflict_entry_shows_the_yes_that_caused_it(
    client, project, guideline, items, annotator, manager, reviewer
):
    request, refund, _ = make_labels(project, ["refund request", "refund", "shipping"])
    annotate_item(items[0], annotator, {request: (1, 0.9), refund: (0, 0.8)}, guideline=guideline)
    merge_labels(source=request, target=refund, actor=manager)

    (entry,) = review_queue(project=project, limit=10).entries
    # The target label only holds the no; the yes stayed on the merged-away label.
    assert [(answer.annotator, answer.value) for answer in entry.answers] == [(annotator.username, 0)]
    assert entry.merged_yes == [MergedYes(annotator=annotator.username, source_name="refund request", confidence=0.9)]

    client.force_login(reviewer)
    page = client.get(reverse("review", args=[project.pk])).content.decode()
    assert "Merge conflict:" in page
    assert f"<strong>{annotator.username}</strong> said" in page
    assert "“refund request” (confidence 0.90)" in page

    # Still told once decided, on the resolved tab.
    Resolution.objects.create(item=items[0], label=refund, value=1, reviewer=reviewer)
    (decided,) = resolved_entries(project=project, limit=10).entries
    assert decided.merged_yes == entry.merged_yes


def test_ordinary_disputes_carry_no_merge_note(client, project, guideline, items, annotator, manager, reviewer):
    (shipping,) = make_labels(project, ["shipping"])
    annotate_item(items[1], annotator, {shipping: (1, 1.0)}, guideline=guideline)
    annotate_item(items[1], manager, {shipping: (0, 1.0)}, guideline=guideline)

    (entry,) = review_queue(project=project, limit=10).entries
    assert entry.merged_yes == []
    client.force_login(reviewer)
    assert "Merge conflict:" not in client.get(reverse("review", args=[project.pk])).content.decode()
