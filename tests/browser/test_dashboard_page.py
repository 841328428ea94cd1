"""The agreement dashboard in Chromium on a project with some history: every chart is drawn and legible."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from annotate.models import Annotation, Judgment, Label, Role
from tests.conftest import login, screenshot
from tests.factories import add_member, make_guideline, make_items, make_labels, make_user

pytestmark = pytest.mark.browser

NAMES = ["shipping", "refund", "billing", "bug report", "praise", "account access", "feature request", "spam"]


@pytest.fixture
def history(project, guideline, reviewer):
    """300 items, 8 labels (one added in version 2, one retired), 3 of 5 people per item, over 12 days."""
    cache.clear()
    rng = np.random.default_rng(7)
    v2 = make_guideline(project, 2)
    labels = make_labels(project, NAMES)
    Label.objects.filter(pk=labels[6].pk).update(introduced_in=v2)
    Label.objects.filter(pk=labels[7].pk).update(retired_in=v2)
    people = [make_user(name) for name in ["annie", "arthur", "anton", "bea", "carl"]]
    for person in people:
        add_member(project, person, Role.ANNOTATOR)
    items = make_items(project, 300)
    truth = rng.random((300, len(labels))) < np.array([0.3, 0.2, 0.15, 0.1, 0.08, 0.05, 0.12, 0.04])
    accuracy = [0.95, 0.9, 0.85, 0.93, 0.7]
    start = timezone.now() - datetime.timedelta(days=11)
    annotations, answers = [], []
    for index, item in enumerate(items):
        version = guideline if index < 150 else v2
        for who in rng.choice(len(people), size=3, replace=False):
            annotations.append(
                Annotation(
                    item=item,
                    annotator=people[who],
                    guideline_version=version,
                    duration_ms=int(rng.gamma(4, 2500)),
                    created_at=start + datetime.timedelta(days=int(index * 12 / 300), hours=int(rng.integers(8))),
                )
            )
            answers.append((who, index, version))
    Annotation.objects.bulk_create(annotations)
    judgments = []
    for annotation, (who, index, version) in zip(annotations, answers, strict=True):
        for position, label in enumerate(labels):
            if rng.random() > 0.75 or (position == 6 and version.number < 2):
                continue
            right = rng.random() < accuracy[who]
            judgments.append(
                Judgment(
                    annotation=annotation,
                    label=label,
                    value=int(truth[index, position] == right),
                    confidence=float(rng.choice([0.5, 0.8, 1.0])),
                )
            )
    Judgment.objects.bulk_create(judgments)
    return labels


def test_the_dashboard_draws_every_chart(page, project, history, reviewer):
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/agreement/")

    expect(page.locator("h1")).to_have_text("Agreement")
    expect(page.locator("svg")).to_have_count(6)
    # One dot per label and series with enough data: 7 active labels x (all, v1, v2), minus
    # "feature request" in version 1, which did not have it.
    expect(page.locator("figure.chart").first.locator("circle")).to_have_count(7 * 3 - 1)
    expect(page.locator("body")).to_contain_text("Retired or merged labels are left out: spam")
    expect(page.locator("table.annotators tbody tr")).to_have_count(5)
    path = screenshot(page, "dashboard-1280")
    # Close-ups of the densest charts, to check their text is legible.
    page.locator("section.card", has_text="Per label, by version").screenshot(
        path=path.with_name("dashboard-labels.png")
    )
    page.locator("section.card", has_text="Label co-occurrence").screenshot(
        path=path.with_name("dashboard-heatmap.png")
    )
