"""A submit with no answer at all is refused (skipping covers that); unknown answer values are a bad request."""

import re
import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation, QueueEntry
from annotate.work.annotating import SubmitRefused, submit_annotation

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_submit_annotation_refuses_no_answers(project, queue, annotator):
    with pytest.raises(SubmitRefused, match="Answer at least one label, or skip the item"):
        submit_annotation(annotator=annotator, item=queue[0], answers={}, idempotency_key=uuid.uuid4(), duration_ms=5)
    assert not Annotation.objects.exists()
    assert QueueEntry.objects.get(item=queue[0]).completed == 0


def test_an_empty_htmx_submit_shows_the_refusal_on_the_same_item(client, project, queue, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content
    key = re.search(rb'name="idempotency_key" value="([0-9a-f-]+)"', page).group(1).decode()
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), {"idempotency_key": key}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Answer at least one label, or skip the item" in html
    assert "Text number 0" in html
    assert not Annotation.objects.exists()
    assert QueueEntry.objects.get(item=queue[0]).completed == 0


@pytest.mark.parametrize("value", ["maybe", "1", "YES"])
def test_an_unknown_answer_value_is_a_bad_request(client, project, queue, labels, annotator, value):
    client.force_login(annotator)
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": value, f"label-{labels[1].pk}": "yes"}
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, **HTMX)
    assert response.status_code == 400
    assert not Annotation.objects.exists()
