"""An answer to a label merged or retired after the page was shown is refused with a message, never dropped."""

import re
import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation, Judgment, Lease
from annotate.setup.labelset import merge_labels, retire_label, set_label_rules
from tests.factories import annotate_item, make_labels

HTMX = {"HTTP_HX_REQUEST": "true"}


def open_item(client, project) -> tuple[int, str]:
    page = client.get(reverse("annotate", args=[project.pk])).content.decode()
    item_id = int(re.search(r'hx-post="/projects/\d+/annotate/(\d+)/submit/"', page).group(1))
    key = re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', page).group(1)
    return item_id, key


def test_a_yes_to_a_label_merged_meanwhile_is_refused_and_nothing_is_saved(
    client, project, queue, labels, annotator, manager
):
    shipping, refund, billing = labels[:3]
    client.force_login(annotator)
    item_id, key = open_item(client, project)
    # While the annotator works, a manager merges "refund" into "billing".
    merge_labels(source=refund, target=billing, actor=manager)

    data = {"idempotency_key": key, f"label-{refund.pk}": "yes", f"label-{shipping.pk}": "no"}
    response = client.post(reverse("annotate-submit", args=[project.pk, item_id]), data, **HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "The labels changed while you worked: “refund” was merged into “billing”. Nothing was saved." in html
    assert not Annotation.objects.exists()
    assert not Judgment.objects.exists()
    # The item stays the annotator's, shown again with the labels as they are now.
    assert Lease.objects.filter(item_id=item_id, annotator=annotator).exists()
    assert f'name="label-{refund.pk}"' not in html
    assert f'name="label-{billing.pk}"' in html


def test_an_answer_to_a_label_retired_meanwhile_is_refused(client, project, queue, labels, annotator, manager):
    refund = labels[1]
    client.force_login(annotator)
    item_id, key = open_item(client, project)
    retire_label(label=refund, actor=manager)

    data = {"idempotency_key": key, f"label-{refund.pk}": "no"}
    response = client.post(reverse("annotate-submit", args=[project.pk, item_id]), data, **HTMX)

    assert response.status_code == 422
    assert "“refund” was retired" in response.content.decode()
    # Not the misleading "answer at least one label": the answer was there.
    assert "Answer at least one label" not in response.content.decode()
    assert not Annotation.objects.exists()


def test_an_answer_to_another_projects_label_is_refused(client, project, queue, annotator, other_project):
    (foreign,) = make_labels(other_project, ["foreign"])
    client.force_login(annotator)
    item_id, key = open_item(client, project)
    data = {"idempotency_key": key, f"label-{foreign.pk}": "yes"}
    response = client.post(reverse("annotate-submit", args=[project.pk, item_id]), data, **HTMX)
    assert response.status_code == 422
    assert "some answers are for labels this project does not have" in response.content.decode()
    assert not Annotation.objects.exists()


@pytest.mark.parametrize("field", ["label-refund", "label-0007", "label- 7", "label-+7", "label-1_0", "label-"])
def test_a_malformed_label_field_is_a_bad_request(client, project, queue, annotator, field):
    client.force_login(annotator)
    item_id, key = open_item(client, project)
    data = {"idempotency_key": key, field: "yes"}
    response = client.post(reverse("annotate-submit", args=[project.pk, item_id]), data, **HTMX)
    assert response.status_code == 400
    assert not Annotation.objects.exists()


def test_an_edit_with_a_label_retired_meanwhile_keeps_the_stored_answers(
    client, project, guideline, queue, labels, annotator, manager
):
    shipping, refund = labels[:2]
    annotation = annotate_item(queue[0], annotator, {shipping: (1, 0.8), refund: (1, 0.8)}, guideline=guideline)
    retire_label(label=refund, actor=manager)
    client.force_login(annotator)
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{shipping.pk}": "no", f"label-{refund.pk}": "no"}
    response = client.post(reverse("annotation-edit", args=[project.pk, annotation.pk]), data)

    assert response.status_code == 422
    assert "“refund” was retired" in response.content.decode()
    stored = dict(Judgment.objects.filter(annotation=annotation).values_list("label_id", "value"))
    assert stored == {shipping.pk: 1, refund.pk: 1}


def test_a_retired_answer_is_refused_before_any_rule_warning(client, project, queue, labels, annotator, manager):
    _, refund, billing, bug, _ = labels
    set_label_rules(label=refund, actor=manager, implies=[billing], excludes=[])
    client.force_login(annotator)
    item_id, key = open_item(client, project)
    retire_label(label=bug, actor=manager)

    # "refund" without "billing" would warn; the warning page shows only active labels,
    # so "submit anyway" there would store the item without the answer to "bug".
    data = {"idempotency_key": key, f"label-{bug.pk}": "yes", f"label-{refund.pk}": "yes"}
    response = client.post(reverse("annotate-submit", args=[project.pk, item_id]), data, **HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "“bug” was retired" in html
    assert "refund implies billing" not in html
    assert not Annotation.objects.exists()


def test_a_replayed_submit_after_a_label_change_is_not_told_it_was_lost(
    client, project, queue, labels, annotator, manager
):
    shipping, refund = labels[:2]
    client.force_login(annotator)
    item_id, key = open_item(client, project)
    data = {"idempotency_key": key, f"label-{refund.pk}": "yes", f"label-{shipping.pk}": "no"}
    url = reverse("annotate-submit", args=[project.pk, item_id])
    assert client.post(url, data, **HTMX).status_code == 200
    retire_label(label=refund, actor=manager)

    # The browser retries the same request: what was stored stays, once, and no false alarm.
    replay = client.post(url, data, **HTMX)
    assert replay.status_code == 200
    assert "Nothing was saved" not in replay.content.decode()
    (annotation,) = Annotation.objects.all()
    assert dict(annotation.judgments.values_list("label_id", "value")) == {refund.pk: 1, shipping.pk: 0}
