"""On a large project the dashboard shows its last figures at once while a worker counts the new answers."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from annotate import tasks
from annotate.curation import project_agreement as pa
from tests.factories import annotate_item


@pytest.fixture
def sent(sent_tasks):
    """The refresh tasks the views send, recorded instead of queued."""
    return sent_tasks


REFRESH = "annotate.tasks.refresh_agreement"


@pytest.fixture
def answered(items, labels, annotator, second_annotator):
    shipping, refund, *_ = labels
    annotate_item(items[0], annotator, {shipping: 1, refund: 0})
    annotate_item(items[0], second_annotator, {shipping: 1, refund: 1})
    return labels


def add_answers(items, labels, annotator) -> None:
    shipping, refund, *_ = labels
    annotate_item(items[1], annotator, {shipping: 0, refund: 1})


def test_a_large_project_shows_its_last_figures_and_asks_the_worker_once(
    client, project, items, answered, annotator, reviewer, sent, monkeypatch
):
    client.force_login(reviewer)
    first = client.get(f"/projects/{project.pk}/agreement/")
    assert 'id="figures-live">' in first.content.decode()
    before = cache.get(pa.latest_key(project=project))
    assert before["n_answers"] == 4

    # Every project counts as large from here on.
    monkeypatch.setattr(pa, "INLINE_ANSWERS", 0)
    add_answers(items, answered, annotator)
    stale = client.get(f"/projects/{project.pk}/agreement/")
    again = client.get(f"/projects/{project.pk}/agreement/", headers={"HX-Request": "true"})

    html = stale.content.decode()
    assert "a worker is counting them" in html
    assert 'hx-trigger="every 3s"' in html
    # The old figures, not a recount in the request.
    assert '<span class="stat-value">4</span><span class="stat-name">answers</span>' in html
    # Two views of the same new data ask for one recount.
    assert sent == [(REFRESH, (project.pk,), {})]
    # The poll answers with the live part alone, still stale.
    assert again.content.decode().lstrip().startswith('<div id="figures-live" hx-get=')

    tasks.refresh_agreement(project.pk)
    fresh = client.get(f"/projects/{project.pk}/agreement/", headers={"HX-Request": "true"}).content.decode()

    assert fresh.lstrip().startswith('<div id="figures-live">')
    assert "a worker is counting them" not in fresh
    assert '<span class="stat-value">6</span><span class="stat-name">answers</span>' in fresh
    assert sent == [(REFRESH, (project.pk,), {})]


def test_a_small_project_is_recounted_in_the_request(client, project, items, answered, annotator, reviewer, sent):
    client.force_login(reviewer)
    client.get(f"/projects/{project.pk}/agreement/")
    add_answers(items, answered, annotator)

    html = client.get(f"/projects/{project.pk}/agreement/").content.decode()

    assert "a worker is counting them" not in html
    assert '<span class="stat-value">6</span><span class="stat-name">answers</span>' in html
    assert sent == []
