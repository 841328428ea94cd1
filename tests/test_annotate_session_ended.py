"""An htmx request whose session has ended gets a 401, not the login page to swap into the work area."""

import uuid

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from annotate.models import Annotation

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_htmx_submit_after_logout_is_a_401_and_stores_nothing(client, project, queue, labels, annotator):
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": "yes", "duration_ms": "900"}
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, **HTMX)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/plain")
    assert "session has ended" in response.content.decode()
    assert "<form" not in response.content.decode()
    assert not Annotation.objects.exists()


def test_htmx_skip_after_logout_is_a_401(client, project, queue):
    data = {"idempotency_key": str(uuid.uuid4()), "reason": "spam"}
    response = client.post(reverse("annotate-skip", args=[project.pk, queue[0].pk]), data, **HTMX)
    assert response.status_code == 401


def test_without_htmx_the_login_redirect_stays(client, project, queue):
    response = client.get(reverse("annotate", args=[project.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))


def test_other_htmx_redirects_pass_through(client, project, queue, labels, annotator):
    # A logged-in htmx request that redirects elsewhere is not a login redirect.
    client.force_login(annotator)
    client.get(reverse("annotate", args=[project.pk]))  # the queue hands out the item (a lease)
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": "yes"}
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("annotate", args=[project.pk])


def test_an_annotator_deactivated_mid_item_is_told_so_not_to_log_in_again(
    client, project, queue, labels, annotator, manager
):
    """ "Log in again" led only to the login form's refusal; the 401 names the deactivation."""
    from annotate.setup.accounts import deactivate_person

    client.force_login(annotator)
    client.get(reverse("annotate", args=[project.pk]))
    deactivate_person(person=annotator, actor=manager)
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": "yes", "duration_ms": "900"}
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, **HTMX)
    assert response.status_code == 401
    assert response["X-Account-Deactivated"] == "1"
    assert "deactivated" in response.content.decode()
    assert not Annotation.objects.exists()
