"""The model page in Chromium: a live progress bar that stops when training ends, then the new metrics."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from learner.models import ModelVersion
from tests.conftest import login, screenshot
from tests.factories import annotate_item, make_items
from tests.learner_support import ready_version, trained_artifact

pytestmark = pytest.mark.browser

NAMES = ["shipping", "refund", "billing", "bug", "praise"]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return trained_artifact(tmp_path_factory.mktemp("model"), NAMES)


def test_progress_bar_follows_training_then_stops_and_shows_the_new_model(page, project, labels, manager, artifact):
    ready_version(project, artifact, labels)
    running = ModelVersion.objects.create(
        project=project, status=ModelVersion.Status.TRAINING, progress=0.3, phase="training", trigger="annotations"
    )
    login(page, "manny")
    page.goto(f"/projects/{project.pk}/models/")
    bar = page.locator(f"#model-progress-{running.pk} [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "30")
    expect(page.get_by_role("button", name="Retrain now")).to_be_disabled()
    screenshot(page, "model-page-training")

    ModelVersion.objects.filter(pk=running.pk).update(progress=0.7, phase="calibrating")
    expect(bar).to_have_attribute("aria-valuenow", "70", timeout=6000)

    ModelVersion.objects.filter(pk=running.pk).update(
        **artifact, label_ids=[label.pk for label in labels], status=ModelVersion.Status.READY, progress=1.0
    )
    # The last poll sees the end and reloads the page once: the new version
    # is in use and nothing polls any more.
    expect(page.get_by_role("heading", name=f"Model in use: version {running.pk}")).to_be_visible(timeout=8000)
    expect(page.locator("[hx-trigger]")).to_have_count(0)
    expect(page.get_by_role("button", name="Retrain now")).to_be_enabled()
    expect(page.locator("figure.reliability")).to_have_count(len(NAMES))
    expect(page.locator("table.per-label tbody tr")).to_have_count(len(NAMES))
    expect(page.locator(".feature-row")).to_have_count(len(NAMES))
    screenshot(page, "model-page-ready")


def test_compare_and_item_predictions_pages(page, project, labels, manager, annotator, artifact):
    older = dict(
        artifact, metrics={**artifact["metrics"], "per_label": [dict(r) for r in artifact["metrics"]["per_label"]]}
    )
    for row in older["metrics"]["per_label"][:2]:
        row["f1"] = max(row["f1"] - 0.2, 0.0)
    first = ready_version(project, older, labels)
    second = ready_version(project, artifact, labels)
    item = make_items(project, 1, prefix="page")[0]
    item.text = "the courier lost my parcel and I want a refund"
    item.save()
    annotate_item(item, annotator, {labels[0]: 1, labels[4]: 0})

    login(page, "manny")
    page.goto(f"/projects/{project.pk}/models/compare/?before={first.pk}&after={second.pk}")
    expect(page.locator("td.better").first).to_be_visible()
    screenshot(page, "model-compare")

    page.goto(f"/projects/{project.pk}/items/{item.pk}/predictions/")
    expect(page.get_by_role("heading", name="Model predictions")).to_be_visible()
    expect(page.locator("table.scores tbody tr")).to_have_count(len(NAMES))
    screenshot(page, "item-predictions")
