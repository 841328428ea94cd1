"""The dashboard counts the merge conflicts its review link leads to, next to the disputes."""

import re

from django.core.cache import cache
from django.urls import reverse

from annotate.labelset import merge_labels
from annotate.models import Resolution
from annotate.review import review_queue
from tests.factories import annotate_item


def stat(html: str, name: str) -> int | None:
    found = re.search(r'stat-value">(\d+)</span><span class="stat-name">(?:<a [^>]*>)?' + name + "<", html)
    return int(found.group(1)) if found else None


def test_merge_conflicts_are_counted_beside_the_disputes(client, project, guideline, items, labels, annotator, manager):
    cache.clear()
    shipping, refund, billing, *_ = labels
    # A conflict from one annotator, and an ordinary dispute between two.
    annotate_item(items[0], annotator, {refund: (1, 0.9), billing: (0, 0.8)}, guideline=guideline)
    annotate_item(items[1], annotator, {shipping: 1}, guideline=guideline)
    annotate_item(items[1], manager, {shipping: 0}, guideline=guideline)
    merge_labels(source=refund, target=billing, actor=manager)

    client.force_login(manager)
    html = client.get(reverse("dashboard", args=[project.pk])).content.decode()
    assert stat(html, "disputed") == 1
    assert stat(html, "merge conflicts") == 1
    # Together they are what the review tab lists.
    assert review_queue(project=project, limit=10).total == 2

    Resolution.objects.create(item=items[0], label=billing, value=0, reviewer=manager)
    cache.clear()
    html = client.get(reverse("dashboard", args=[project.pk])).content.decode()
    assert stat(html, "merge conflicts") is None
