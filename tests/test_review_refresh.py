"""On a large project the review page shows the last review order at once while a worker orders the new answers."""

from __future__ import annotations

import pytest

from annotate import tasks
from annotate.curation import review
from tests.factories import annotate_item


@pytest.fixture
def sent(sent_tasks):
    """The refresh tasks the views send, recorded instead of queued."""
    return sent_tasks


REFRESH = "annotate.tasks.refresh_review_order"


@pytest.fixture
def disputed(items, labels, annotator, second_annotator):
    shipping = labels[0]
    annotate_item(items[0], annotator, {shipping: 1})
    annotate_item(items[0], second_annotator, {shipping: 0})
    return labels


def dispute_another(items, labels, annotator, second_annotator) -> None:
    refund = labels[1]
    annotate_item(items[1], annotator, {refund: 1})
    annotate_item(items[1], second_annotator, {refund: 0})


def test_a_large_project_shows_the_last_order_and_asks_the_worker_once(
    client, project, items, disputed, annotator, second_annotator, reviewer, sent, monkeypatch
):
    client.force_login(reviewer)
    first = client.get(f"/projects/{project.pk}/review/").content.decode()
    assert "a worker is ordering it again" not in first
    assert first.count("data-entry") == 1

    monkeypatch.setattr(review, "INLINE_ANSWERS", 0)
    dispute_another(items, disputed, annotator, second_annotator)
    stale = client.get(f"/projects/{project.pk}/review/").content.decode()
    client.get(f"/projects/{project.pk}/review/")

    assert "a worker is ordering it again" in stale
    # The old order: the new dispute is not listed yet.
    assert stale.count("data-entry") == 1
    assert sent == [(REFRESH, (project.pk,), {})]

    tasks.refresh_review_order(project.pk)
    fresh = client.get(f"/projects/{project.pk}/review/").content.decode()

    assert "a worker is ordering it again" not in fresh
    assert fresh.count("data-entry") == 2
    assert sent == [(REFRESH, (project.pk,), {})]


def test_a_small_project_is_ordered_in_the_request(
    client, project, items, disputed, annotator, second_annotator, reviewer, sent
):
    client.force_login(reviewer)
    client.get(f"/projects/{project.pk}/review/")
    dispute_another(items, disputed, annotator, second_annotator)

    html = client.get(f"/projects/{project.pk}/review/").content.decode()

    assert html.count("data-entry") == 2
    assert sent == []
