"""The item browser's model filters and scores: yes / no / unsure, least sure first, the item page, and no model."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from annotate.curation import items as browsing
from annotate.curation.items import ItemFilters, browse_items, model_scores
from annotate.models import ItemFlag
from learner import training
from learner.models import ModelVersion
from tests.factories import annotate_item

# The stored scores of items 0-7 (items 8 and 9 came after the version was
# trained). Shipping is the interesting column; refund is sure everywhere
# except on item 5; billing and bug are sure everywhere; praise is a label
# the version never knew.
SHIPPING = [0.9, 0.05, 0.55, 0.44, 0.85, 0.2, 0.52, 0.3]
REFUND = [0.01, 0.99, 0.01, 0.99, 0.01, 0.49, 0.01, 0.99]
# Item 2 reaches the shipping threshold, but a label rule turned it down:
# the filters follow the stored decisions, not the probability.
SHIPPING_DECIDED = [True, False, False, False, True, False, True, False]


@pytest.fixture(autouse=True)
def artifacts(settings, tmp_path):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"


def store_version(project, labels, items, *, created_at=None) -> ModelVersion:
    shipping, refund, billing, bug, _praise = labels
    known = [shipping, refund, billing, bug]
    proba = np.array([SHIPPING, REFUND, [0.99] * 8, [0.01] * 8]).T
    decisions = proba >= 0.5
    decisions[:, 0] = SHIPPING_DECIDED
    version = ModelVersion.objects.create(
        project=project,
        status=ModelVersion.Status.READY,
        progress=1.0,
        label_ids=[label.pk for label in known],
        thresholds=[0.5] * 4,
        created_at=created_at or timezone.now(),
        finished_at=created_at or timezone.now(),
    )
    training.save_predictions(
        version=version,
        item_ids=np.array([item.pk for item in items[:8]]),
        label_ids=[label.pk for label in known],
        proba=proba,
        decisions=decisions,
        thresholds=np.full(4, 0.5),
    )
    return version


@pytest.fixture
def scored(project, items, labels):
    return store_version(project, labels, items)


def ids(project, *, limit=100, **filters):
    page = browse_items(
        project=project, filters=ItemFilters(**filters), after=None, limit=limit, scores=model_scores(project=project)
    )
    return [int(row.item.external_id.split("-")[1]) for row in page.rows]


def test_model_says_yes_no_or_unsure_on_a_label(project, labels, scored):
    shipping, refund, _, _, praise = labels
    assert ids(project, label=shipping, model="yes") == [0, 4, 6]
    # Items 8 and 9 were not scored: the model said neither yes nor no.
    assert ids(project, label=shipping, model="no") == [1, 2, 3, 5, 7]
    assert ids(project, label=shipping, model="unsure") == [2, 3, 6]
    assert ids(project, label=refund, model="unsure") == [5]
    # A label the version never knew: it says nothing about it.
    assert ids(project, label=praise, model="yes") == [] and ids(project, label=praise, model="no") == []


def test_least_sure_first_on_a_label_and_on_any_label(project, labels, scored):
    shipping = labels[0]
    assert ids(project, label=shipping, order="uncertain") == [6, 2, 3, 7, 5, 4, 0, 1]
    # Without a label, an item's least sure label counts: refund on item 5.
    assert ids(project, order="uncertain") == [5, 6, 2, 3, 7, 4, 0, 1]
    assert ids(project, label=shipping, model="no", order="uncertain") == [2, 3, 7, 5, 1]


def test_model_filters_combine_with_the_answers_and_the_flags(
    project, items, labels, scored, guideline, annotator, second_annotator
):
    shipping = labels[0]
    annotate_item(items[4], annotator, {shipping: 0}, guideline=guideline)  # the model disagrees
    annotate_item(items[1], annotator, {shipping: 0}, guideline=guideline)  # the model agrees
    annotate_item(items[0], annotator, {shipping: 1}, guideline=guideline)
    ItemFlag.objects.create(item=items[7], annotator=second_annotator, reason="broken")
    assert ids(project, label=shipping, state="no", model="yes") == [4]
    assert ids(project, label=shipping, state="unobserved", model="yes") == [6]
    assert ids(project, flagged=True, label=shipping, model="no") == [7]


def test_pages_of_model_filters_are_asked_a_chunk_at_a_time(
    project, items, labels, scored, second_annotator, monkeypatch
):
    # Chunks of two ids, one row a page: the flagged items are found far along the candidates.
    monkeypatch.setattr(browsing, "ID_CHUNK", 2)
    for index in (3, 7):
        ItemFlag.objects.create(item=items[index], annotator=second_annotator, reason="broken")
    scores = model_scores(project=project)
    filters = ItemFilters(flagged=True, label=labels[0], model="no", order="uncertain")
    seen, after = [], None
    while True:
        page = browse_items(project=project, filters=filters, after=after, limit=1, scores=scores)
        seen += [row.item.external_id for row in page.rows]
        if not page.has_next:
            break
        after = page.next_after
    assert seen == ["item-3", "item-7"]


def test_the_least_sure_order_pages_on_through_the_links(client, project, labels, scored, reviewer, monkeypatch):
    from annotate.views import items as view

    monkeypatch.setattr(view, "PAGE_SIZE", 3)
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/items/"
    seen = []
    html = client.get(url, {"order": "uncertain"}).content.decode()
    while True:
        seen += re.findall(r'<code class="external-id">item-(\d+)</code>', html)
        link = re.search(r'<a href="\?([^"]+)" data-next-page>', html)
        if not link:
            break
        assert "order=uncertain" in link.group(1)
        html = client.get(url + "?" + link.group(1).replace("&amp;", "&")).content.decode()
    assert [int(index) for index in seen] == [5, 6, 2, 3, 7, 4, 0, 1]


def test_the_list_offers_the_model_filters_and_shows_the_chosen_labels_score(
    client, project, items, labels, scored, reviewer
):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/", {"label": labels[0].pk, "model": "yes"}).content.decode()
    assert 'name="model"' in html and 'name="order"' in html
    assert f"version {scored.pk}" in html
    assert re.findall(r'<code class="external-id">(item-\d+)</code>', html) == ["item-0", "item-4", "item-6"]
    assert '<td class="model-score" data-label="Model"><span class="answer yes">yes</span> <span class="muted"' in html
    assert ">0.90</span>" in html and ">0.52</span>" in html


def test_the_item_page_shows_the_models_scores(client, project, items, labels, scored, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/{items[2].pk}/").content.decode()
    assert f"model version {scored.pk}" in html
    cells = re.findall(r'<td class="model-score" data-label="Model">(.*?)</td>', html)
    # Labels in their order: shipping (turned down by a rule), refund, billing, bug, praise (unknown).
    assert len(cells) == 5
    assert '<span class="answer no">no</span>' in cells[0] and ">0.550</span>" in cells[0]
    assert "threshold 0.50" in cells[0]
    assert '<span class="answer yes">yes</span>' in cells[2] and ">0.990</span>" in cells[2]
    assert "not scored" in cells[4]


def test_an_item_added_after_the_version_has_no_scores(client, project, items, labels, scored, reviewer):
    client.force_login(reviewer)
    html = client.get(f"/projects/{project.pk}/items/{items[9].pk}/").content.decode()
    assert f"Model version {scored.pk} has not scored this item" in html
    assert 'class="model-score"' not in html


def test_the_newest_version_with_stored_scores_is_used(project, items, labels):
    older = store_version(project, labels, items, created_at=timezone.now() - timedelta(days=1))
    newer = store_version(project, labels, items)
    assert model_scores(project=project).version_id == newer.pk
    # The newest version's files are gone (pruned): the one before it answers.
    import shutil

    shutil.rmtree(training.predictions_path(newer))
    assert model_scores(project=project).version_id == older.pk


def test_without_a_model_there_are_no_model_filters_and_no_error(client, project, items, labels, reviewer):
    # A version that failed stored nothing; a ready one whose files are gone counts as none either.
    ModelVersion.objects.create(project=project, status=ModelVersion.Status.FAILED)
    ModelVersion.objects.create(project=project, status=ModelVersion.Status.READY)
    assert model_scores(project=project) is None
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/items/"
    response = client.get(url, {"label": labels[0].pk, "state": "unobserved"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="model"' not in html and 'name="order"' not in html and "model-score" not in html
    assert len(re.findall(r'<code class="external-id">', html)) == 10
    for query, field in (({"label": labels[0].pk, "model": "yes"}, "model"), ({"order": "uncertain"}, "order")):
        response = client.get(url, query)
        assert response.status_code == 400
        assert f'data-field="{field}"'.encode() in response.content
    html = client.get(f"{url}{items[0].pk}/").content.decode()
    assert "model-score" not in html and "Model" not in html


@pytest.mark.parametrize(
    ("query", "field"),
    [({"model": "maybe"}, "model"), ({"model": "yes"}, "label"), ({"order": "random"}, "order")],
)
def test_a_model_filter_the_form_never_sends_is_a_400(client, project, labels, scored, reviewer, query, field):
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.pk}/items/", query)
    assert response.status_code == 400
    assert f'data-field="{field}"'.encode() in response.content
