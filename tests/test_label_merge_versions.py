"""A merge never puts answers on annotations made before the target label existed."""

from annotate.models import Judgment
from annotate.setup.labelset import add_label, merge_labels, preview_merge
from tests.factories import annotate_item, make_guideline, make_labels


def test_positives_from_before_the_target_existed_stay_on_the_merged_label(
    project, guideline, items, annotator, second_annotator, manager
):
    (request,) = make_labels(project, ["refund request"])
    # Under v1, before "refund" existed.
    early = annotate_item(items[0], annotator, {request: (1, 0.9)}, guideline=guideline)
    v2 = make_guideline(project)
    refund = add_label(project=project, actor=manager, name="refund")
    assert refund.introduced_in == v2
    # Under v2, when both were asked.
    late = annotate_item(items[1], second_annotator, {request: (1, 0.7)}, guideline=v2)

    plan = preview_merge(source=request, target=refund)
    assert plan.counts["positives_moved"] == 1
    assert plan.counts["positives_before_target"] == 1
    assert "1 positives were given under guideline versions before “refund” existed" in plan.message

    merge_labels(source=request, target=refund, actor=manager, expected=plan.counts)
    on_refund = set(Judgment.objects.filter(label=refund).values_list("annotation_id", "value", "confidence"))
    assert on_refund == {(late.pk, 1, 0.7)}
    # The v1 answer is kept, as history of the merged label.
    assert Judgment.objects.filter(label=request, annotation=early).exists()
