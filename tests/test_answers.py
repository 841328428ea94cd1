"""The answer arrays keep three states and put each annotation in its own slot."""

import numpy as np

from annotate.curation.answers import load_answers
from annotate.models import Annotation, Resolution
from tests.factories import annotate_item, make_guideline, make_items, make_labels, make_project, make_user


def test_answers_keep_unobserved_apart_from_negative(items, labels, annotator, second_annotator, reviewer, guideline):
    shipping, refund, billing, bug, _praise = labels
    annotate_item(items[0], annotator, {shipping: (1, 0.8), refund: (0, 1.0)}, guideline=guideline)
    annotate_item(items[0], second_annotator, {shipping: (0, 0.55)}, guideline=guideline)
    annotate_item(items[1], second_annotator, {billing: 1}, guideline=guideline)
    Annotation.objects.create(item=items[2], annotator=annotator, skipped=True, skip_reason="spam")
    Resolution.objects.create(item=items[1], label=bug, value=0, reviewer=reviewer)

    answers = load_answers(project=items[0].project)

    assert answers.values.shape == (10, 5, 2)
    assert answers.label_names == ["shipping", "refund", "billing", "bug", "praise"]
    first = answers.values[0]
    assert first[0].tolist() == [1.0, 0.0]  # shipping: yes from slot 0, no from slot 1
    assert first[1, 0] == 0.0 and np.isnan(first[1, 1])  # refund: a no, and an unobserved
    assert np.isnan(first[2:]).all()  # nobody was asked billing, bug or praise on item 0
    assert answers.confidence[0, 0].tolist() == [0.8, 0.55]
    assert answers.rater_ids[0].tolist() == [annotator.pk, second_annotator.pk]
    assert answers.rater_ids[1].tolist() == [second_annotator.pk, -1]
    assert answers.version[0].tolist() == [1, 1]
    # The skipped annotation answers nothing and takes no slot.
    assert answers.rater_ids[2].tolist() == [-1, -1]
    assert np.isnan(answers.values[2]).all()
    assert answers.resolution[1, 3] == 0.0
    assert np.isnan(answers.resolution).sum() == 10 * 5 - 1

    result = answers.consensus()
    assert result.targets[0, 0] == 0.8 / (0.8 + 0.55)
    assert result.disputed[0, 0]
    assert result.targets[1, 3] == 0.0  # the resolution, although nobody answered bug
    assert np.isnan(result.targets[0, 2])


def test_answers_ignore_other_projects_and_can_take_a_subset(db):
    ours, theirs = make_project("Ours"), make_project("Theirs")
    make_guideline(ours, 1)
    our_labels = make_labels(ours, ["a", "b"])
    their_labels = make_labels(theirs, ["a", "b"])
    our_items, their_items = make_items(ours, 3), make_items(theirs, 3)
    user = make_user("both")
    for item in our_items:
        annotate_item(item, user, {our_labels[0]: 1})
    for item in their_items:
        annotate_item(item, user, {their_labels[0]: 0, their_labels[1]: 0})

    answers = load_answers(project=ours, item_ids=[our_items[1].pk, our_items[2].pk])

    assert answers.item_ids.tolist() == [our_items[1].pk, our_items[2].pk]
    assert answers.values[:, 0, 0].tolist() == [1.0, 1.0]
    assert np.isnan(answers.values[:, 1, 0]).all()


def test_answered_only_keeps_the_answered_and_resolved_items_with_the_same_answers(
    items, labels, annotator, second_annotator, reviewer, guideline
):
    shipping, refund, _billing, bug, _praise = labels
    annotate_item(items[3], annotator, {shipping: 1, refund: 0}, guideline=guideline)
    annotate_item(items[3], second_annotator, {shipping: 0}, guideline=guideline)
    annotate_item(items[7], second_annotator, {refund: 1}, guideline=guideline)
    Annotation.objects.create(item=items[5], annotator=annotator, skipped=True, skip_reason="spam")
    Resolution.objects.create(item=items[8], label=bug, value=1, reviewer=reviewer)

    everything = load_answers(project=items[0].project)
    answered = load_answers(project=items[0].project, answered_only=True)

    # The skipped item holds no answer, so it is left out like the untouched ones.
    assert answered.item_ids.tolist() == [items[3].pk, items[7].pk, items[8].pk]
    rows = np.searchsorted(everything.item_ids, answered.item_ids)
    np.testing.assert_array_equal(answered.values, everything.values[rows])
    np.testing.assert_array_equal(answered.confidence, everything.confidence[rows])
    np.testing.assert_array_equal(answered.rater_ids, everything.rater_ids[rows])
    np.testing.assert_array_equal(answered.resolution, everything.resolution[rows])
    assert answered.resolution[2, 3] == 1.0
    # Nothing outside those rows holds an answer or a resolution.
    others = np.setdiff1d(np.arange(len(everything.item_ids)), rows)
    assert np.isnan(everything.values[others]).all() and np.isnan(everything.resolution[others]).all()
