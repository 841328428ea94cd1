"""My work marks an annotation "edited" only when it was changed after it was stored, not microseconds later."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotate.models import Annotation
from tests.factories import annotate_item


@pytest.fixture
def work(project, items, labels, annotator):
    created = timezone.now() - timedelta(hours=1)
    untouched = annotate_item(items[0], annotator, {labels[0]: 1})
    edited = annotate_item(items[1], annotator, {labels[0]: 0})
    # Two writes of the same submit, microseconds apart, as QA found; and a real edit a minute later.
    Annotation.objects.filter(pk=untouched.pk).update(
        created_at=created, updated_at=created + timedelta(microseconds=10)
    )
    Annotation.objects.filter(pk=edited.pk).update(created_at=created, updated_at=created + timedelta(minutes=1))
    return untouched, edited


def row_of(html, external_id):
    """The table row of an item: from its <tr> up to the item's name (the badge sits in the first cell)."""
    return html.split(f"<strong>{external_id}</strong>")[0].rsplit("<tr>", 1)[1]


def test_only_the_edited_annotation_is_marked(client, project, work, annotator):
    client.force_login(annotator)
    html = client.get(reverse("my-annotations", args=[project.pk])).content.decode()
    assert '<span class="badge">edited</span>' in row_of(html, "item-1")
    assert '<span class="badge">edited</span>' not in row_of(html, "item-0")
