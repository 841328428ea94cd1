"""A time spent that is not a finite number is a bad request, not a server error."""

import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation
from annotate.work.annotating import DURATION_SLACK_MS


@pytest.mark.parametrize("duration", ["inf", "-inf", "1e400", "nan", "soon"])
def test_submit_with_a_non_finite_duration_is_a_bad_request(client, project, queue, labels, annotator, duration):
    client.force_login(annotator)
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": "yes", "duration_ms": duration}
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data)
    assert response.status_code == 400
    assert not Annotation.objects.exists()


@pytest.mark.parametrize("duration", ["inf", "-inf", "1e400", "nan"])
def test_skip_with_a_non_finite_duration_is_a_bad_request(client, project, queue, annotator, duration):
    client.force_login(annotator)
    data = {"idempotency_key": str(uuid.uuid4()), "reason": "spam", "duration_ms": duration}
    response = client.post(reverse("annotate-skip", args=[project.pk, queue[0].pk]), data)
    assert response.status_code == 400
    assert not Annotation.objects.exists()


def test_a_large_finite_duration_is_still_stored_clamped(client, project, queue, labels, annotator):
    client.force_login(annotator)
    client.get(reverse("annotate", args=[project.pk]))  # the queue hands out the item (a lease)
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": "yes", "duration_ms": "1e300"}
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data)
    assert response.status_code == 302
    # Clamped to the time since the hand-out plus the slack for clocks.
    assert 0 < Annotation.objects.get().duration_ms <= DURATION_SLACK_MS + 60_000
