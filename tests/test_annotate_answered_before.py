"""An item answered in another tab: the refusal offers the next item."""

import re

from django.urls import reverse

from annotate.models import Annotation

HTMX = {"HTTP_HX_REQUEST": "true"}


def key_of(page):
    return re.search(rb'name="idempotency_key" value="([0-9a-f-]+)"', page).group(1).decode()


def test_second_tab_refusal_links_to_the_next_item(client, project, queue, labels, annotator):
    client.force_login(annotator)
    first_tab = client.get(reverse("annotate", args=[project.pk])).content
    second_tab = client.get(reverse("annotate", args=[project.pk])).content
    url = reverse("annotate-submit", args=[project.pk, queue[0].pk])
    answer = {f"label-{labels[0].pk}": "yes"}
    assert client.post(url, {"idempotency_key": key_of(first_tab), **answer}, **HTMX).status_code == 200
    refused = client.post(url, {"idempotency_key": key_of(second_tab), **answer}, **HTMX)
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "You have already answered this item" in html
    link = re.search(r'<a class="button" href="([^"]+)" data-next-item>Next item</a>', html)
    assert link and link.group(1) == reverse("annotate", args=[project.pk])
    assert Annotation.objects.count() == 1


def test_other_refusals_do_not_offer_the_next_item(client, project, queue, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content
    url = reverse("annotate-submit", args=[project.pk, queue[0].pk])
    refused = client.post(url, {"idempotency_key": key_of(page)}, **HTMX)
    assert refused.status_code == 422
    assert "data-next-item" not in refused.content.decode()
