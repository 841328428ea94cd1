"""The model pages: who may see them, what they show, and the progress bar that stops polling."""

from __future__ import annotations

import pytest
from django.urls import reverse

from learner.models import ModelVersion
from tests.factories import annotate_item, make_items
from tests.learner_support import ready_version, trained_artifact


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return trained_artifact(tmp_path_factory.mktemp("model"), ["shipping", "refund", "billing", "bug", "praise"])


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def version(project, labels, artifact):
    return ready_version(project, artifact, labels)


def logged_in(client, user):
    client.force_login(user)
    return client


def test_the_model_page_shows_versions_metrics_charts_and_features(client, manager, version, labels):
    response = logged_in(client, manager).get(reverse("models", args=[version.project_id]))

    assert response.status_code == 200
    html = response.content.decode()
    assert f"#{version.pk}" in html and "in use" in html
    for name in ["Macro F1", "Micro F1", "Weighted F1", "Hamming loss", "Subset accuracy", "Coverage error"]:
        assert name in html
    assert f"{version.macro_f1:.3f}" in html
    for label in labels:
        assert label.name in html
    # One reliability diagram per label, drawn inline.
    assert html.count('class="reliability"') == len(labels)
    assert html.count("<svg") >= len(labels)
    # The features of the stored artifact: signal words of the synthetic texts.
    assert 'class="feature feature-' in html
    assert "Labels mixed up most" in html
    assert 'name="csrfmiddlewaretoken"' in html and reverse("model-retrain", args=[version.project_id]) in html


def test_the_model_page_before_any_model(client, manager, project):
    response = logged_in(client, manager).get(reverse("models", args=[project.pk]))

    assert response.status_code == 200
    assert "No model has been trained yet" in response.content.decode()


@pytest.mark.parametrize("name", ["models", "model-version", "model-compare", "model-progress"])
def test_annotators_and_reviewers_are_refused_and_outsiders_see_nothing(
    client, annotator, reviewer, outsider, version, name
):
    args = [version.project_id, version.pk] if name in {"model-version", "model-progress"} else [version.project_id]
    url = reverse(name, args=args)

    assert logged_in(client, annotator).get(url).status_code == 403
    assert logged_in(client, reviewer).get(url).status_code == 403
    assert logged_in(client, outsider).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_a_version_of_another_project_is_not_found(client, manager, project, other_project, artifact, labels):
    foreign = ready_version(other_project, artifact, labels)

    response = logged_in(client, manager).get(reverse("model-version", args=[project.pk, foreign.pk]))

    assert response.status_code == 404


def test_the_version_page_shows_a_failure_and_its_error(client, manager, project):
    failed = ModelVersion.objects.create(
        project=project, status=ModelVersion.Status.FAILED, error="RuntimeError: out of memory"
    )

    response = logged_in(client, manager).get(reverse("model-version", args=[project.pk, failed.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "RuntimeError: out of memory" in html
    assert "previous ready model and the queue were left as they were" in html


def test_progress_polls_while_training(client, manager, project):
    training = ModelVersion.objects.create(
        project=project, status=ModelVersion.Status.TRAINING, progress=0.42, phase="training"
    )

    response = logged_in(client, manager).get(
        reverse("model-progress", args=[project.pk, training.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert reverse("model-progress", args=[project.pk, training.pk]) in html
    assert 'aria-valuenow="42"' in html and "training" in html
    assert "HX-Refresh" not in response.headers
    assert "<html" not in html


@pytest.mark.parametrize("status", [ModelVersion.Status.READY, ModelVersion.Status.FAILED, ModelVersion.Status.SKIPPED])
def test_progress_stops_polling_once_the_version_is_done(client, manager, project, status):
    kind = ModelVersion.SkipKind.UNCHANGED_ANSWERS if status == ModelVersion.Status.SKIPPED else ""
    done = ModelVersion.objects.create(
        project=project, status=status, progress=1.0, error="nothing changed", skip_kind=kind
    )

    response = logged_in(client, manager).get(
        reverse("model-progress", args=[project.pk, done.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "hx-trigger" not in html and "hx-get" not in html
    # The page reloads once, so the finished version's metrics appear.
    assert response.headers["HX-Refresh"] == "true"


def test_the_model_page_polls_only_while_a_version_is_active(client, manager, project, version):
    url = reverse("models", args=[project.pk])
    assert "hx-trigger" not in logged_in(client, manager).get(url).content.decode()

    ModelVersion.objects.create(project=project, status=ModelVersion.Status.QUEUED)

    html = client.get(url).content.decode()
    assert html.count('hx-trigger="every 2s"') == 1
    assert "waiting for a worker" in html
    assert "disabled" in html  # the retrain button, while a version holds the slot


def test_retrain_button_queues_one_version(client, manager, project, labels):
    url = reverse("model-retrain", args=[project.pk])

    first = logged_in(client, manager).post(url, follow=True)
    second = client.post(url, follow=True)

    assert first.status_code == 200
    versions = ModelVersion.objects.filter(project=project)
    assert versions.count() == 1
    assert versions.get().trigger == "manual" and versions.get().status == ModelVersion.Status.QUEUED
    assert "is queued for training" in first.content.decode()
    assert "already queued or running" in second.content.decode()


def test_retrain_needs_a_manager_and_a_post(client, annotator, reviewer, manager, project):
    url = reverse("model-retrain", args=[project.pk])

    assert logged_in(client, annotator).post(url).status_code == 403
    assert logged_in(client, reviewer).post(url).status_code == 403
    assert logged_in(client, manager).get(url).status_code == 405
    assert not ModelVersion.objects.filter(project=project).exists()


def test_compare_shows_per_label_f1_changes(client, manager, project, labels, artifact, version):
    better = dict(artifact, metrics=dict(artifact["metrics"]))
    better["metrics"]["per_label"] = [dict(row) for row in artifact["metrics"]["per_label"]]
    old_f1 = better["metrics"]["per_label"][0]["f1"]
    better["metrics"]["per_label"][0]["f1"] = old_f1 - 0.25
    older = ready_version(project, better, labels)

    response = logged_in(client, manager).get(
        reverse("model-compare", args=[project.pk]), {"before": older.pk, "after": version.pk}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f"{old_f1 - 0.25:.3f}" in html and f"{old_f1:.3f}" in html
    assert "+0.250" in html
    assert 'class="better"' in html


def test_compare_refuses_a_version_of_another_project(client, manager, project, other_project, labels, artifact):
    mine = ready_version(project, artifact, labels)
    foreign = ready_version(other_project, artifact, labels)

    response = logged_in(client, manager).get(
        reverse("model-compare", args=[project.pk]), {"before": foreign.pk, "after": mine.pk}
    )

    assert response.status_code == 404


def test_item_predictions_show_probabilities_thresholds_and_answers(
    client, reviewer, annotator, project, labels, version
):
    item = make_items(project, 1, prefix="ask")[0]
    item.text = "my parcel delivery is late again"
    item.save()
    annotate_item(item, annotator, {labels[0]: 1, labels[1]: 0})

    response = logged_in(client, reviewer).get(reverse("item-predictions", args=[project.pk, item.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Model predictions" in html and f"version {version.pk}" in html
    for position, label in enumerate(labels):
        assert label.name in html
        assert f"{version.thresholds[position]:.2f}" in html
    # Two answered labels, three that nobody answered.
    assert html.count(">unobserved<") == 3


def test_item_predictions_as_an_htmx_partial(client, manager, project, version):
    item = make_items(project, 1)[0]

    response = logged_in(client, manager).get(
        reverse("item-predictions", args=[project.pk, item.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "Model predictions" in html


def test_item_predictions_without_a_model_say_so(client, reviewer, project, labels):
    item = make_items(project, 1)[0]

    response = logged_in(client, reviewer).get(reverse("item-predictions", args=[project.pk, item.pk]))

    assert response.status_code == 200
    assert "No model is ready" in response.content.decode()


def test_item_predictions_need_a_reviewer_and_an_item_of_the_project(
    client, annotator, reviewer, outsider, project, other_project, version
):
    item = make_items(project, 1)[0]
    foreign = make_items(other_project, 1, prefix="x")[0]

    assert logged_in(client, annotator).get(reverse("item-predictions", args=[project.pk, item.pk])).status_code == 403
    assert logged_in(client, outsider).get(reverse("item-predictions", args=[project.pk, item.pk])).status_code == 404
    assert (
        logged_in(client, reviewer).get(reverse("item-predictions", args=[project.pk, foreign.pk])).status_code == 404
    )


def test_the_model_page_charts_macro_f1_across_ready_versions(client, manager, project, labels, artifact, version):
    url = reverse("models", args=[project.pk])
    assert 'class="trend"' not in logged_in(client, manager).get(url).content.decode()

    newer = ready_version(project, artifact, labels)
    ModelVersion.objects.create(project=project, status=ModelVersion.Status.FAILED)

    html = client.get(url).content.decode()
    assert 'class="trend"' in html
    assert f"version {version.pk}: macro F1 {version.macro_f1:.3f}" in html
    assert f"version {newer.pk}: macro F1 {newer.macro_f1:.3f}" in html
