"""The learner's REST API: model versions, retrain, predictions; roles, 404 across projects, throttling."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from learner.models import ModelVersion
from tests.factories import annotate_item, make_items
from tests.learner_support import ready_version, trained_artifact


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return trained_artifact(tmp_path_factory.mktemp("model"), ["shipping", "refund", "billing", "bug", "praise"])


@pytest.fixture(autouse=True)
def fresh_throttles(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def version(project, labels, artifact):
    return ready_version(project, artifact, labels)


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_list_versions_newest_first_with_a_cursor(manager, project, labels, artifact):
    versions = [ready_version(project, artifact, labels) for _ in range(3)]

    first = api(manager).get(f"/api/projects/{project.pk}/models", {"page_size": 2})

    assert first.status_code == 200
    body = first.json()
    assert [row["id"] for row in body["results"]] == [versions[2].pk, versions[1].pk]
    row = body["results"][0]
    assert row["status"] == "ready" and row["progress"] == 1.0
    assert row["metrics_summary"]["macro_f1"] == pytest.approx(versions[2].macro_f1)
    assert row["dataset_counts"]["items"] == 40
    second = api(manager).get(body["next"])
    assert [row["id"] for row in second.json()["results"]] == [versions[0].pk]


def test_a_queued_version_has_empty_counts_and_metrics(manager, project):
    queued = ModelVersion.objects.create(project=project)

    body = api(manager).get(f"/api/projects/{project.pk}/models/{queued.pk}").json()

    assert body["status"] == "queued" and body["dataset_counts"] == {} and body["metrics_summary"] == {}
    assert body["labels"] == [] and body["label_pair_confusions"] == []


def test_version_detail_has_per_label_metrics_and_thresholds(manager, project, labels, version):
    response = api(manager).get(f"/api/projects/{project.pk}/models/{version.pk}")

    assert response.status_code == 200
    body = response.json()
    assert [row["name"] for row in body["labels"]] == [label.name for label in labels]
    assert [row["label_id"] for row in body["labels"]] == [label.pk for label in labels]
    assert [row["threshold"] for row in body["labels"]] == pytest.approx(version.thresholds)
    assert body["labels"][0]["f1"] == pytest.approx(version.metrics["per_label"][0]["f1"])
    assert len(body["metrics"]["calibration"]) == len(labels)


def test_versions_are_for_managers_and_their_project_only(annotator, reviewer, outsider, project, version):
    url = f"/api/projects/{project.pk}/models"

    assert api().get(url).status_code == 401
    assert api(annotator).get(url).status_code == 403
    assert api(reviewer).get(url).status_code == 403
    assert api(outsider).get(url).status_code == 404
    assert api(outsider).get(f"{url}/{version.pk}").status_code == 404


def test_a_version_of_another_project_is_not_found(manager, project, other_project, labels, artifact):
    foreign = ready_version(other_project, artifact, labels)

    assert api(manager).get(f"/api/projects/{project.pk}/models/{foreign.pk}").status_code == 404


def test_retrain_queues_a_version_then_refuses_while_it_is_active(manager, project, labels):
    url = f"/api/projects/{project.pk}/retrain"

    accepted = api(manager).post(url)
    conflict = api(manager).post(url)

    assert accepted.status_code == 202
    assert accepted.json()["status"] == "queued" and accepted.json()["trigger"] == "api"
    assert conflict.status_code == 409
    assert conflict.json()["active"]["id"] == accepted.json()["id"]
    assert ModelVersion.objects.filter(project=project).count() == 1


def test_retrain_is_for_managers(annotator, reviewer, outsider, project):
    url = f"/api/projects/{project.pk}/retrain"

    assert api(annotator).post(url).status_code == 403
    assert api(reviewer).post(url).status_code == 403
    assert api(outsider).post(url).status_code == 404
    assert not ModelVersion.objects.filter(project=project).exists()


def test_item_predictions_give_every_label_with_its_answer_state(reviewer, annotator, project, labels, version):
    item = make_items(project, 1)[0]
    item.text = "my parcel delivery is late"
    item.save()
    annotate_item(item, annotator, {labels[0]: 1})

    response = api(reviewer).get(f"/api/projects/{project.pk}/items/{item.pk}/predictions")

    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == version.pk and body["item_id"] == item.pk
    scores = {score["label"]: score for score in body["scores"]}
    assert list(scores) == [label.name for label in labels]
    assert all(0 <= score["probability"] <= 1 for score in body["scores"])
    assert [score["threshold"] for score in body["scores"]] == pytest.approx(version.thresholds)
    assert body["predicted_labels"] == [score["label"] for score in body["scores"] if score["decision"]]
    # Answered yes by the annotator; the other four labels are unobserved, not "no".
    assert scores["shipping"]["answer"] == 1.0
    assert [scores[name]["answer"] for name in ["refund", "billing", "bug", "praise"]] == [None] * 4


def test_predictions_for_new_texts_follow_the_thresholds(reviewer, project, labels, version):
    texts = ["refund my money please", "the app crash error again", ""]

    response = api(reviewer).post(f"/api/projects/{project.pk}/predictions", {"texts": texts}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == version.pk
    assert len(body["predictions"]) == 3
    for prediction in body["predictions"]:
        assert len(prediction["scores"]) == len(labels)
        for score in prediction["scores"]:
            # Without implies/excludes rules a decision is exactly "probability reaches the threshold".
            assert score["decision"] == (score["probability"] >= score["threshold"])
    refund = [p["scores"][1]["probability"] for p in body["predictions"]]
    assert refund[0] > refund[1]


@pytest.mark.parametrize(
    "payload",
    [{}, {"texts": []}, {"texts": "not a list"}, {"texts": ["x"] * 101}, {"texts": ["x" * 20_001]}],
)
def test_predictions_refuse_bad_input(reviewer, project, version, payload):
    response = api(reviewer).post(f"/api/projects/{project.pk}/predictions", payload, format="json")

    assert response.status_code == 400


def test_predictions_without_a_ready_model_answer_409(reviewer, project, labels):
    item = make_items(project, 1)[0]
    ModelVersion.objects.create(project=project, status=ModelVersion.Status.TRAINING)

    by_item = api(reviewer).get(f"/api/projects/{project.pk}/items/{item.pk}/predictions")
    by_text = api(reviewer).post(f"/api/projects/{project.pk}/predictions", {"texts": ["hi"]}, format="json")

    for response in (by_item, by_text):
        assert response.status_code == 409
        assert "No model is ready" in response.json()["detail"]


def test_a_missing_artifact_is_a_clear_409(reviewer, project, labels, artifact, tmp_path):
    ready_version(project, artifact, labels, artifact_path=str(tmp_path / "gone.joblib"))

    response = api(reviewer).post(f"/api/projects/{project.pk}/predictions", {"texts": ["hi"]}, format="json")

    assert response.status_code == 409
    assert "artifact" in response.json()["detail"]


def test_predictions_need_a_reviewer_and_an_item_of_the_project(
    annotator, outsider, reviewer, project, other_project, version
):
    item = make_items(project, 1)[0]
    foreign = make_items(other_project, 1, prefix="x")[0]
    base = f"/api/projects/{project.pk}"

    assert api(annotator).get(f"{base}/items/{item.pk}/predictions").status_code == 403
    assert api(annotator).post(f"{base}/predictions", {"texts": ["a"]}, format="json").status_code == 403
    assert api(outsider).get(f"{base}/items/{item.pk}/predictions").status_code == 404
    assert api(outsider).post(f"{base}/predictions", {"texts": ["a"]}, format="json").status_code == 404
    assert api(reviewer).get(f"{base}/items/{foreign.pk}/predictions").status_code == 404


def test_predictions_are_throttled(settings, reviewer, project, version):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"expensive": "2/min"}}
    from rest_framework.settings import api_settings
    from rest_framework.throttling import ScopedRateThrottle

    # DRF reads the rates once; point the throttle at the changed settings for this test.
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        url = f"/api/projects/{project.pk}/predictions"
        codes = [api(reviewer).post(url, {"texts": ["a"]}, format="json").status_code for _ in range(3)]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original

    assert codes == [200, 200, 429]


def test_the_schema_documents_the_learner_endpoints(manager):
    response = api(manager).get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "409" in paths["/api/projects/{project_id}/retrain"]["post"]["responses"]
    assert "202" in paths["/api/projects/{project_id}/retrain"]["post"]["responses"]
    assert "409" in paths["/api/projects/{project_id}/predictions"]["post"]["responses"]
    assert "429" in paths["/api/projects/{project_id}/predictions"]["post"]["responses"]
    item = paths["/api/projects/{project_id}/items/{item_id}/predictions"]["get"]
    assert "$ref" in item["responses"]["200"]["content"]["application/json"]["schema"]
    assert "/api/projects/{project_id}/models/{version_id}" in paths
