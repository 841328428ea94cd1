"""The annotator's own progress on the annotate page: today, in total, left for them, and their private agreement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.curation import annotator_agreement as agreement_module
from annotate.models import Annotation, Lease, Role
from annotate.work import annotating
from annotate.work.annotating import annotator_progress
from tests.factories import add_member, annotate_item, make_items, make_user


@pytest.fixture
def worked(project, queue, labels, guideline, annotator, second_annotator):
    shipping = labels[0]
    annotate_item(queue[0], annotator, {shipping: 1}, guideline=guideline)
    annotate_item(queue[1], annotator, {shipping: 0}, guideline=guideline)
    old = annotate_item(queue[2], annotator, {shipping: 1}, guideline=guideline)
    Annotation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    Annotation.objects.create(item=queue[3], annotator=annotator, skipped=True, skip_reason="spam")
    annotate_item(queue[9], second_annotator, {shipping: 1}, guideline=guideline)
    return queue


def test_progress_counts_today_total_and_the_items_left_for_them(project, worked, annotator):
    progress = annotator_progress(annotator=annotator, project=project)
    assert (progress.today, progress.total, progress.skipped) == (2, 3, 1)
    # Ten open entries; the annotator answered three and skipped one. Another's answer leaves theirs open.
    assert (progress.left, progress.left_capped) == (6, False)


def test_the_annotate_page_shows_the_three_figures(client, project, worked, annotator):
    client.force_login(annotator)
    html = client.get(f"/projects/{project.pk}/annotate/").content.decode()
    assert "<strong>2</strong> today" in html
    assert "<strong>3</strong> in total" in html
    assert "<strong>6</strong> left for you" in html


def test_submit_and_next_updates_the_figures_in_the_swapped_work_area(client, project, worked, labels, annotator):
    client.force_login(annotator)
    client.get(f"/projects/{project.pk}/annotate/")  # leases the next item
    item = Lease.objects.get(annotator=annotator).item
    response = client.post(
        f"/projects/{project.pk}/annotate/{item.pk}/submit/",
        {f"label-{labels[0].pk}": "yes", "idempotency_key": "6f1c1c1e-3f7a-4d0e-9a53-4f4f4d1e2b11"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>3</strong> today" in html and "<strong>4</strong> in total" in html
    assert "<strong>5</strong> left for you" in html


def test_left_is_capped_so_a_large_queue_is_not_counted_to_the_end(project, worked, annotator, monkeypatch):
    monkeypatch.setattr(annotating, "LEFT_COUNT_CAP", 4)
    progress = annotator_progress(annotator=annotator, project=project)
    assert (progress.left, progress.left_capped) == (4, True)


@pytest.fixture
def overlap(project, labels, guideline, annotator, second_annotator):
    """12 items both annotators answered on shipping; annie differs on two. Refund: annie alone."""
    shipping, refund, *_ = labels
    items = make_items(project, 12, prefix="o")
    for index, item in enumerate(items):
        theirs = 1 if index < 6 else 0
        mine = 1 - theirs if index in (0, 11) else theirs
        annotate_item(item, annotator, {shipping: mine, refund: 1}, guideline=guideline)
        annotate_item(item, second_annotator, {shipping: theirs}, guideline=guideline)
    return items


def test_agreement_per_label_appears_once_enough_answers_overlap(client, project, overlap, annotator):
    mine = agreement_module.compute_annotator_agreement(annotator=annotator, project=project)
    (row,) = mine.labels  # refund was answered by annie alone: nothing to compare
    assert (row.label, row.compared) == ("shipping", 12)
    assert row.percent_agreement == pytest.approx(10 / 12)
    assert row.kappa == pytest.approx((10 / 12 - 0.5) / 0.5)
    client.force_login(annotator)
    page = client.get(f"/projects/{project.pk}/annotate/").content.decode()
    # The annotate page only offers it; the figures load when opened, off the submit path.
    assert "Your agreement with the others" in page and "(only you see this)" in page
    assert "83%" not in page
    partial = client.get(f"/projects/{project.pk}/mine/agreement/", headers={"HX-Request": "true"}).content.decode()
    assert '<td class="num">83%</td>' in partial and '<td class="num">0.67</td>' in partial
    assert "<html" not in partial
    whole = client.get(f"/projects/{project.pk}/mine/agreement/").content.decode()
    assert "Only you see this page." in whole and '<td class="num">83%</td>' in whole


def test_too_little_overlap_shows_no_figure(project, overlap, annotator, monkeypatch):
    monkeypatch.setattr(agreement_module, "MIN_COMPARED", 13)
    assert not agreement_module.compute_annotator_agreement(annotator=annotator, project=project).shown


def test_someone_without_answers_sees_no_agreement_of_anyone(client, project, overlap, queue):
    newcomer = make_user("nadia")
    add_member(project, newcomer, Role.ANNOTATOR)
    client.force_login(newcomer)
    assert "Your agreement with the others" not in client.get(f"/projects/{project.pk}/annotate/").content.decode()
    # The figures page shows the requester's own figures only: none for someone without answers.
    html = client.get(f"/projects/{project.pk}/mine/agreement/").content.decode()
    assert "Your agreement appears once 10 of your answers" in html
    assert "83%" not in html and "annie" not in html


def test_agreement_counts_the_most_recent_items_only(project, overlap, annotator, monkeypatch):
    # The first item (o-0) is one of annie's two disagreements and her oldest answer.
    monkeypatch.setattr(agreement_module, "RECENT_ITEMS", 11)
    monkeypatch.setattr(agreement_module, "MIN_COMPARED", 5)
    (row,) = agreement_module.compute_annotator_agreement(annotator=annotator, project=project).labels
    assert row.compared == 11
    assert row.percent_agreement == pytest.approx(10 / 11)


def test_agreement_is_cached_until_ten_more_answers(project, overlap, annotator, monkeypatch):
    calls = []
    real = agreement_module.compute_annotator_agreement

    def counted(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(agreement_module, "compute_annotator_agreement", counted)
    for answered in (12, 13, 19):
        agreement_module.annotator_agreement(annotator=annotator, project=project, answered=answered)
    assert len(calls) == 1
    agreement_module.annotator_agreement(annotator=annotator, project=project, answered=20)
    assert len(calls) == 2
