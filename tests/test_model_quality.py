"""Is more labelling worth it? The prospective estimate from exploration answers, and the learning curve."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from annotate.models import Item, Label, Project, QueueReason
from learner import quality, training
from learner.models import ModelVersion
from tests.factories import annotate_item, make_items, make_user

EXPLORATION = QueueReason.EXPLORATION
SNAPSHOT = timezone.now() - timedelta(days=2)
AFTER = SNAPSHOT + timedelta(hours=1)
BEFORE = SNAPSHOT - timedelta(hours=1)


@pytest.fixture(autouse=True)
def artifacts(settings, tmp_path):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"


def truth_and_guess(count: int, n_labels: int, *, flip: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random 0/1 answers, and predictions that get a share ``flip`` of them wrong."""
    rng = np.random.default_rng(seed)
    truth = (rng.random((count, n_labels)) < 0.4).astype(np.int64)
    wrong = rng.random((count, n_labels)) < flip
    return truth, np.where(wrong, 1 - truth, truth).astype(bool)


def ready_with_predictions(
    project: Project,
    labels: list[Label],
    items: list[Item],
    decisions: np.ndarray,
    *,
    snapshot: datetime = SNAPSHOT,
    spent: int = 1000,
) -> ModelVersion:
    """A ready version storing ``decisions`` (items x labels) as its predictions, its snapshot read at ``snapshot``."""
    version = ModelVersion.objects.create(
        project=project,
        status=ModelVersion.Status.READY,
        progress=1.0,
        label_ids=[label.pk for label in labels],
        thresholds=[0.5] * len(labels),
        dataset_counts={
            "items": len(items),
            "labelled_items": len(items),
            "observed_entries": spent,
            "positive_entries": spent // 3,
            "labels": len(labels),
        },
        metrics={"snapshot_at": snapshot.isoformat()},
        created_at=snapshot,
        started_at=snapshot,
        finished_at=snapshot + timedelta(minutes=5),
    )
    training.save_predictions(
        version=version,
        item_ids=np.array([item.pk for item in items]),
        label_ids=[label.pk for label in labels],
        proba=decisions.astype(float),
        decisions=decisions,
        thresholds=np.full(len(labels), 0.5),
    )
    return version


def answer(items: list[Item], labels: list[Label], truth: np.ndarray, annotator, *, reason: str, at: datetime) -> None:
    for item, row in zip(items, truth, strict=True):
        annotate_item(
            item,
            annotator,
            {label: int(value) for label, value in zip(labels, row, strict=True)},
            queue_reason=reason,
            created_at=at,
            updated_at=at,
        )


def figures_of(version: ModelVersion) -> quality.Estimate:
    (found,) = quality.version_estimates(project=version.project, ready=[version])
    return found


def test_the_estimate_uses_exploration_answers_only(project, labels, annotator, second_annotator):
    items = make_items(project, 80)
    truth, guess = truth_and_guess(80, len(labels), flip=0.2)
    version = ready_with_predictions(project, labels, items, guess)
    answer(items[:40], labels, truth[:40], annotator, reason=EXPLORATION, at=AFTER)
    alone = figures_of(version)

    # Uncertain and overlap answers after the snapshot, all of them wrong
    # against the predictions, on other items and on the same ones.
    answer(items[40:], labels, 1 - guess[40:].astype(int), annotator, reason="uncertain", at=AFTER)
    answer(items[:40], labels, 1 - guess[:40].astype(int), second_annotator, reason="overlap", at=AFTER)
    mixed = figures_of(version)

    assert alone.enough and alone.items == 40 and alone.judgments == 40 * len(labels)
    assert mixed.items == alone.items and mixed.judgments == alone.judgments
    assert mixed.macro_f1 == alone.macro_f1
    assert [row.f1 for row in mixed.labels] == [row.f1 for row in alone.labels]
    assert 0.5 < alone.macro_f1.value < 0.95


def test_the_estimate_never_uses_answers_the_version_trained_on(project, labels, annotator, second_annotator):
    items = make_items(project, 60)
    truth, guess = truth_and_guess(60, len(labels), flip=0.2)
    version = ready_with_predictions(project, labels, items, guess)
    # Exploration answers from before the snapshot were trained on.
    answer(items[:30], labels, truth[:30], annotator, reason=EXPLORATION, at=BEFORE)
    # Entries answered before the snapshot by someone else were trained on,
    # even when an exploration answer comes after it.
    answer(items[30:], labels[:2], truth[30:, :2], annotator, reason="uncertain", at=BEFORE)
    answer(items[30:], labels, truth[30:], second_annotator, reason=EXPLORATION, at=AFTER)
    answer(items[:30], labels, truth[:30], second_annotator, reason=EXPLORATION, at=AFTER)

    found = figures_of(version)

    # Items 0-29: answered before by annie, so every entry is trained on.
    # Items 30-59: only the last three labels are new to the version.
    assert found.items == 30
    assert found.judgments == 30 * 3
    assert [row.items for row in found.labels] == [0, 0, 30, 30, 30]


def test_not_enough_exploration_answers_gives_no_figures(project, labels, annotator):
    items = make_items(project, 40)
    truth, guess = truth_and_guess(40, len(labels), flip=0.2)
    version = ready_with_predictions(project, labels, items, guess)
    few = quality.MIN_ITEMS - 1
    answer(items[:few], labels, truth[:few], annotator, reason=EXPLORATION, at=AFTER)

    worth = quality.worth_labelling(project=project)

    assert worth.estimate is None and worth.curve == [] and worth.gain is None and worth.chart is None
    assert worth.current is not None and worth.current.version_id == version.pk
    assert worth.current.items == quality.MIN_ITEMS - 1 and not worth.current.enough
    assert worth.current.labels == []
    assert worth.advice.startswith("Not enough exploration answers yet")


def test_intervals_contain_the_estimate_and_narrow_with_more_items():
    widths = []
    for count in (60, 600):
        truth, guess = truth_and_guess(count, 4, flip=0.25, seed=3)
        overall, labels = quality.estimate(truth.astype(float), guess, names=["a", "b", "c", "d"], n_boot=300)
        for interval in [*overall.values(), *(row.f1 for row in labels), *(row.precision for row in labels)]:
            assert interval.low <= interval.value <= interval.high
        widths.append(overall["macro_f1"].width)
        # The same seed gives the same intervals.
        again, _ = quality.estimate(truth.astype(float), guess, names=["a", "b", "c", "d"], n_boot=300)
        assert again == overall
    assert widths[1] < widths[0] / 2


def test_the_learning_curve_gain_comes_from_two_versions(project, labels, annotator, second_annotator):
    items = make_items(project, 60)
    truth, guess = truth_and_guess(60, len(labels), flip=0.3, seed=1)
    _, better = truth_and_guess(60, len(labels), flip=0.05, seed=1)
    first = ready_with_predictions(project, labels, items, guess, spent=1000)
    later = SNAPSHOT + timedelta(hours=2)
    second = ready_with_predictions(project, labels, items, better, snapshot=later, spent=3000)
    # 30 items answered between the two versions count for the first only;
    # 30 answered after both count for both.
    answer(items[:30], labels, truth[:30], annotator, reason=EXPLORATION, at=AFTER)
    answer(items[30:], labels, truth[30:], annotator, reason=EXPLORATION, at=later + timedelta(hours=1))

    worth = quality.worth_labelling(project=project)

    assert [point.version_id for point in worth.curve] == [first.pk, second.pk]
    assert [point.items for point in worth.curve] == [60, 30]
    f1_first, f1_second = (point.macro_f1.value for point in worth.curve)
    assert f1_second > f1_first
    assert worth.gain == pytest.approx((f1_second - f1_first) / 2000 * 1000)
    assert worth.estimate.version_id == second.pk and worth.current is None
    assert worth.advice.startswith(f"Keep labelling: the last 1,000 judgments raised macro F1 by {worth.gain:.2f}")
    assert len(worth.chart.points) == 2 and worth.chart.points[0].x < worth.chart.points[1].x


def test_one_version_has_no_gain(project, labels, annotator):
    items = make_items(project, 40)
    truth, guess = truth_and_guess(40, len(labels), flip=0.2)
    ready_with_predictions(project, labels, items, guess)
    answer(items, labels, truth, annotator, reason=EXPLORATION, at=AFTER)

    worth = quality.worth_labelling(project=project)

    assert worth.estimate is not None and worth.gain is None
    assert "n/a" in worth.advice


def test_the_model_page_shows_the_section(client, manager, project, labels, annotator):
    items = make_items(project, 40)
    truth, guess = truth_and_guess(40, len(labels), flip=0.2)
    guess[:, 4] = False  # "praise" is never predicted: its F1 is 0 and it needs answers.
    ready_with_predictions(project, labels, items, guess, spent=1000)
    ready_with_predictions(project, labels, items, guess, snapshot=SNAPSHOT + timedelta(minutes=30), spent=2000)
    answer(items, labels, truth, annotator, reason=EXPLORATION, at=AFTER)
    client.force_login(manager)

    html = client.get(reverse("models", args=[project.pk])).content.decode()

    assert "Is more labelling worth it?" in html
    assert "95% interval" in html and 'class="trend learning-curve"' in html
    assert html.count('class="needs-answers"') >= 1 and "yes: low F1" in html
    assert "tested on 40 exploration items" in html
    assert "Not enough exploration answers yet" not in html


def test_the_model_page_says_when_there_are_not_enough_answers(client, manager, project, labels, annotator):
    items = make_items(project, 40)
    truth, guess = truth_and_guess(40, len(labels), flip=0.2)
    ready_with_predictions(project, labels, items, guess)
    answer(items[:5], labels, truth[:5], annotator, reason=EXPLORATION, at=AFTER)
    client.force_login(manager)

    html = client.get(reverse("models", args=[project.pk])).content.decode()

    assert "Is more labelling worth it?" in html
    assert "Not enough exploration answers yet" in html and "has 5" in html
    assert 'class="trend learning-curve"' not in html


def test_the_section_is_cached_until_the_answers_change(project, labels, annotator, django_assert_max_num_queries):
    items = make_items(project, 40)
    truth, guess = truth_and_guess(40, len(labels), flip=0.2)
    ready_with_predictions(project, labels, items, guess)
    answer(items[:35], labels, truth[:35], annotator, reason=EXPLORATION, at=AFTER)
    first = quality.worth_labelling(project=project)

    with django_assert_max_num_queries(8):
        assert quality.worth_labelling(project=project).estimate == first.estimate
    answer(items[35:], labels, truth[35:], make_user("late"), reason=EXPLORATION, at=AFTER)
    assert quality.worth_labelling(project=project).estimate.items == 40


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_section_in_chromium(page, project, labels, manager, annotator, second_annotator):
    from playwright.sync_api import expect

    from tests.conftest import login, screenshot

    items = make_items(project, 90)
    truth, rough = truth_and_guess(90, len(labels), flip=0.3, seed=2)
    _, finer = truth_and_guess(90, len(labels), flip=0.12, seed=2)
    finer[:, 4] = False  # "praise" is never predicted, so it shows as a label that needs answers.
    ready_with_predictions(project, labels, items, rough, spent=1200)
    later = SNAPSHOT + timedelta(hours=2)
    ready_with_predictions(project, labels, items, finer, snapshot=later, spent=2400)
    answer(items[:45], labels, truth[:45], annotator, reason=EXPLORATION, at=AFTER)
    answer(items[45:], labels, truth[45:], annotator, reason=EXPLORATION, at=later + timedelta(hours=1))
    answer(items[:20], labels[:2], 1 - truth[:20, :2], second_annotator, reason="uncertain", at=AFTER)

    login(page, "manny")
    page.goto(f"/projects/{project.pk}/models/")

    section = page.locator("#worth-labelling")
    expect(section.get_by_role("heading", name="Is more labelling worth it?")).to_be_visible()
    expect(section.locator(".advice")).to_contain_text("the last 1,000 judgments")
    expect(section.locator("figure.learning-curve circle")).to_have_count(2)
    expect(section.locator("table.worth-labels tbody tr")).to_have_count(len(labels))
    screenshot(page, "model-page-worth-labelling")
