"""The agreement dashboard page and its JSON twin render the project's figures for reviewers only."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from annotate.curation.project_agreement import project_agreement
from annotate.models import Annotation, Label, Role
from tests.api_support import client_for
from tests.factories import add_member, annotate_item, make_guideline, make_project, make_user


@pytest.fixture
def answered(project, items, labels, guideline, annotator, second_annotator):
    """Two versions, three people, a label introduced in version 2, and two days of work."""
    shipping, refund, billing, bug, praise = labels
    v2 = make_guideline(project, 2)
    Label.objects.filter(pk=praise.pk).update(introduced_in=v2)
    third = make_user("anton")
    add_member(project, third, Role.ANNOTATOR)
    plan = [
        (guideline, {shipping: 1, refund: 0, billing: 1}, {shipping: 1, refund: 0, billing: 0}),
        (guideline, {shipping: 0, refund: 1}, {shipping: 0, refund: 1, bug: 1}),
        (guideline, {shipping: 1, bug: 0}, {shipping: 1, bug: 0}),
        (v2, {shipping: 1, praise: 1}, {shipping: 1, praise: 1}),
        (v2, {refund: 1, praise: 0}, {refund: 0, praise: 0}),
        (v2, {billing: 1, praise: 1}, {billing: 1, praise: 0}),
    ]
    yesterday = timezone.now() - datetime.timedelta(days=1)
    for index, (version, first, second) in enumerate(plan):
        when = yesterday if index < 3 else timezone.now()
        annotate_item(items[index], annotator, first, guideline=version, duration_ms=3000 + index, created_at=when)
        annotate_item(items[index], second_annotator, second, guideline=version, duration_ms=5000, created_at=when)
    annotate_item(items[0], third, {shipping: 1, refund: 1}, guideline=guideline, duration_ms=7000)
    Annotation.objects.create(item=items[7], annotator=third, skipped=True, skip_reason="spam")
    return labels


def test_the_dashboard_renders_every_chart_with_the_figures(client, project, answered, reviewer):
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.pk}/agreement/")

    assert response.status_code == 200
    html = response.content.decode()
    figures = project_agreement(project=project)
    overall = figures["agreement"]["overall"]
    # The headline numbers are the computed ones.
    assert f'id="pooled-kappa">{overall["pooled"]["kappa"]:.3f}<' in html
    assert figures["versions"] == [1, 2]
    # Charts: per-label intervals (kappa and alpha), answers, cardinality, heatmap, progress.
    assert html.count("<svg") == 6
    assert "<figcaption>Fleiss' kappa</figcaption>" in html and "<figcaption>Krippendorff's alpha</figcaption>" in html
    assert ">v1</" in html and ">v2</" in html
    # praise was introduced in version 2: the table says so for version 1.
    assert "not asked" in html
    # Answers per label: all 13 annotations were asked shipping; 9 answered it.
    shipping = next(row for row in figures["judgments"] if row["label"] == "shipping")
    assert (shipping["positive"], shipping["negative"], shipping["unobserved"]) == (7, 2, 4)
    assert "7 / 2 / 4" in html
    # praise was only asked of the 6 version 2 annotations.
    assert next(row for row in figures["judgments"] if row["label"] == "praise")["asked"] == 6
    assert "shipping and refund:" in html  # a heatmap cell's tooltip
    assert len(figures["progress"]) == 2 and sum(day["annotations"] for day in figures["progress"]) == 13
    # The annotator table, by person.
    people = {row["username"]: row for row in figures["annotators"]}
    assert set(people) == {"annie", "arthur", "anton"}
    assert people["anton"]["skipped"] == 1 and people["anton"]["median_seconds"] == 7.0
    assert people["annie"]["median_seconds"] == pytest.approx(3.0025)
    assert "annie" in html and "anton" in html and f"{figures['cardinality']['cardinality']:.2f}" in html


def test_a_warm_dashboard_reads_the_cache(client, project, answered, reviewer, django_assert_max_num_queries):
    client.force_login(reviewer)
    client.get(f"/projects/{project.pk}/agreement/")
    # Session, user, project, membership, the generation's aggregates; no answer is read again.
    with django_assert_max_num_queries(10):
        assert client.get(f"/projects/{project.pk}/agreement/").status_code == 200


def test_a_new_judgment_shows_on_the_next_render(client, project, answered, reviewer, annotator, items):
    client.force_login(reviewer)
    before = client.get(f"/projects/{project.pk}/agreement/").content.decode()
    assert ">7 / 2 / 4<" in before
    annotate_item(items[8], annotator, {answered[0]: 1})
    after = client.get(f"/projects/{project.pk}/agreement/").content.decode()
    assert ">8 / 2 / 4<" in after  # shipping gained a positive answer; the cached page was not reused


def test_only_reviewers_and_managers_see_the_dashboard(client, project, answered, annotator, manager, outsider):
    client.force_login(annotator)
    assert client.get(f"/projects/{project.pk}/agreement/").status_code == 403
    client.force_login(manager)
    assert client.get(f"/projects/{project.pk}/agreement/").status_code == 200
    client.force_login(outsider)
    assert client.get(f"/projects/{project.pk}/agreement/").status_code == 404


def test_an_empty_project_renders(client, project, labels, reviewer):
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.pk}/agreement/")
    assert response.status_code == 200
    assert "No annotations yet." in response.content.decode()


def test_a_project_without_labels_or_items_renders(client, reviewer):
    bare = make_project("Bare")
    add_member(bare, reviewer, Role.REVIEWER)
    client.force_login(reviewer)
    assert client.get(f"/projects/{bare.pk}/agreement/").status_code == 200
    assert client.get(f"/api/projects/{bare.pk}/agreement").status_code == 200


def test_the_api_returns_the_same_figures_typed(project, answered, annotator, reviewer, outsider):
    response = client_for(reviewer).get(f"/api/projects/{project.pk}/agreement")

    assert response.status_code == 200
    body = response.json()
    assert body["labels"] == ["shipping", "refund", "billing", "bug", "praise"]
    assert body["versions"] == [1, 2]
    v1_praise = body["agreement"]["by_version"][0]["per_label"][4]
    assert v1_praise["asked"] is False and v1_praise["kappa"] is None
    assert {row["username"] for row in body["annotators"]} == {"annie", "arthur", "anton"}
    assert len(body["cooccurrence"]) == 5 and body["progress"][0]["day"]
    # An annotator must never see how the others answered.
    assert client_for(annotator).get(f"/api/projects/{project.pk}/agreement").status_code == 403
    assert client_for(outsider).get(f"/api/projects/{project.pk}/agreement").status_code == 404


def test_the_schema_types_the_agreement_response(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/projects/{project_id}/agreement"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ProjectAgreement")
    per_label = schema["components"]["schemas"]["LabelAgreement"]["properties"]
    assert per_label["kappa"]["nullable"] is True and per_label["kappa_ci"]["maxItems"] == 2
    assert "429" in operation["responses"]
