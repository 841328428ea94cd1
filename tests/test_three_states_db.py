"""The three states at the database level: the database itself refuses a fourth."""

import pytest
from django.db import IntegrityError, transaction

from annotate.models import Annotation, Judgment
from tests.factories import annotate_item


def test_no_row_means_unobserved(items, labels, annotator, guideline):
    shipping, refund, billing, *_ = labels
    annotation = annotate_item(items[0], annotator, {shipping: 1, refund: 0}, guideline=guideline)
    stored = {j.label_id: j.value for j in annotation.judgments.all()}
    assert stored == {shipping.pk: 1, refund.pk: 0}
    assert not Judgment.objects.filter(annotation=annotation, label=billing).exists()


@pytest.mark.parametrize(
    ("value", "confidence"),
    [(2, 0.8), (-1, 0.8), (1, 0.0), (1, 1.5), (0, -0.2)],
)
def test_database_rejects_out_of_range_judgments(items, labels, annotator, value, confidence):
    annotation = Annotation.objects.create(item=items[0], annotator=annotator)
    with pytest.raises(IntegrityError), transaction.atomic():
        # A raw update sidesteps every form and model validation: only the
        # database's check constraints stand in the way.
        Judgment.objects.bulk_create(
            [Judgment(annotation=annotation, label=labels[0], value=value, confidence=confidence)]
        )
    assert not Judgment.objects.filter(annotation=annotation).exists()


def test_database_rejects_two_judgments_for_one_label(items, labels, annotator):
    annotation = Annotation.objects.create(item=items[0], annotator=annotator)
    Judgment.objects.create(annotation=annotation, label=labels[0], value=1, confidence=0.8)
    with pytest.raises(IntegrityError), transaction.atomic():
        Judgment.objects.create(annotation=annotation, label=labels[0], value=0, confidence=0.8)
    assert Judgment.objects.get(annotation=annotation).value == 1


def test_one_current_annotation_per_item_and_annotator(items, annotator):
    Annotation.objects.create(item=items[0], annotator=annotator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.create(item=items[0], annotator=annotator)


def test_confidence_of_exactly_one_is_allowed(items, labels, annotator):
    annotation = Annotation.objects.create(item=items[0], annotator=annotator)
    Judgment.objects.create(annotation=annotation, label=labels[0], value=0, confidence=1.0)
    assert annotation.judgments.get().confidence == 1.0
