"""The dashboard's "to review" is what its link shows: the disputes plus the merge conflicts."""

import re

from django.core.cache import cache
from django.urls import reverse

from annotate.curation.review import review_queue
from annotate.models import Resolution
from annotate.setup.labelset import merge_labels
from tests.factories import annotate_item


def stat(html: str, name: str) -> int | None:
    found = re.search(r'stat-value">(\d+)</span><span class="stat-name">(?:<a [^>]*>)?' + name + "<", html)
    return int(found.group(1)) if found else None


def test_to_review_counts_disputes_and_merge_conflicts_once_each(
    client, project, guideline, items, labels, annotator, second_annotator, manager
):
    cache.clear()
    shipping, refund, billing, *_ = labels
    # Item 0: two annotators' conflicts on one entry. Item 1: an ordinary dispute.
    annotate_item(items[0], annotator, {refund: (1, 0.9), billing: (0, 0.8)}, guideline=guideline)
    annotate_item(items[0], second_annotator, {refund: (1, 0.7), billing: (0, 0.6)}, guideline=guideline)
    annotate_item(items[1], annotator, {shipping: 1}, guideline=guideline)
    annotate_item(items[1], manager, {shipping: 0}, guideline=guideline)
    # Item 2: a conflict on an entry that is disputed anyway.
    annotate_item(items[2], annotator, {refund: (1, 0.9), billing: (0, 0.8)}, guideline=guideline)
    annotate_item(items[2], manager, {billing: (1, 0.8)}, guideline=guideline)
    merge_labels(source=refund, target=billing, actor=manager)

    client.force_login(manager)
    html = client.get(reverse("dashboard", args=[project.pk])).content.decode()
    assert stat(html, "disputed") == 2
    assert stat(html, "to review") == 3 == review_queue(project=project, limit=10).total

    Resolution.objects.create(item=items[0], label=billing, value=0, reviewer=manager)
    cache.clear()
    html = client.get(reverse("dashboard", args=[project.pk])).content.decode()
    assert stat(html, "to review") == 2 == review_queue(project=project, limit=10).total
