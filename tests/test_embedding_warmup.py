"""A retrain with too many texts to encode trains at once without embeddings; a worker encodes them and retrains."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Item
from learner import tasks, training
from learner.ml.embeddings import embeddings_available, uncached_texts
from learner.models import ModelVersion
from tests.factories import annotate_item
from tests.learner_support import small_config, train_now

pytestmark = pytest.mark.skipif(not embeddings_available(), reason="the packaged sentence encoder is not installed")


@pytest.fixture(autouse=True)
def fast_training(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(training, "default_config", small_config)
    # An empty embedding cache of this test's own.
    settings.DATA_DIR = tmp_path
    settings.ARTIFACT_DIR = tmp_path / "artifacts"


WARM = "learner.tasks.warm_embeddings"
RETRAIN = "learner.tasks.retrain"


@pytest.fixture
def sent(sent_tasks):
    return sent_tasks


def project_texts(project) -> list[str]:
    return list(Item.objects.filter(project=project).values_list("text", flat=True))


def test_a_large_first_retrain_defers_embeddings_and_the_warmup_brings_them(
    client, project, labels, labelled, manager, second_annotator, sent, monkeypatch
):
    monkeypatch.setattr(training, "EMBED_WHILE_TRAINING", 10)
    monkeypatch.setattr(training, "WARM_BATCH", 15)
    distinct = len(set(project_texts(project)))
    assert distinct > 15

    first = train_now(project)
    assert first.status == ModelVersion.Status.READY
    assert first.metrics["embeddings"] == f"deferred: {distinct} texts are being encoded; the next model uses them"
    assert sent == [(WARM, (project.pk,), {})]
    # The model page says why this model has no embedding member.
    client.force_login(manager)
    page = client.get(reverse("model-version", args=[project.pk, first.pk])).content.decode()
    assert f"Sentence embeddings: deferred: {distinct} texts are being encoded" in page

    # Unchanged answers train nothing new while the texts are still being encoded.
    assert train_now(project).status == ModelVersion.Status.SKIPPED
    # New answers train again, still without embeddings, and start no second warm-up.
    annotate_item(labelled[-1], second_annotator, {labels[0]: 1})
    second = train_now(project)
    assert second.status == ModelVersion.Status.READY
    assert second.embeddings_deferred
    assert sent == [(WARM, (project.pk,), {})]

    # The worker runs the warm-up: one task per 15 items, walking them by id, then a retrain.
    batches = 0
    while sent and sent[0][0] == WARM:
        _, args, _ = sent.pop(0)
        tasks.warm_embeddings(*args)
        batches += 1
    assert batches == len(labelled) // 15 + 1
    assert sent == [(RETRAIN, (project.pk,), {"trigger": "embeddings"})]
    assert uncached_texts(project_texts(project), training.embedding_cache_path()) == []

    # The answers have not changed, but that retrain is not skipped: it is the one with embeddings.
    third = train_now(project, trigger="embeddings")
    assert third.status == ModelVersion.Status.READY
    assert not third.embeddings_deferred
    assert third.metrics["embeddings"] in ("used", "not used: held-out share 0")

    # Once warm, a retrain on unchanged answers is skipped again, and nothing more is sent.
    assert train_now(project).status == ModelVersion.Status.SKIPPED
    assert sent == [(RETRAIN, (project.pk,), {"trigger": "embeddings"})]


def test_a_retrain_sent_by_the_warmup_that_still_lacks_embeddings_starts_no_new_warmup(
    project, labelled, sent, monkeypatch
):
    # As if the warm-up had run but the cache kept nothing: no endless chain of trainings.
    monkeypatch.setattr(training, "EMBED_WHILE_TRAINING", 10)
    version = train_now(project, trigger="embeddings")
    assert version.status == ModelVersion.Status.READY
    assert version.embeddings_deferred
    assert sent == []


def test_a_small_project_encodes_its_texts_while_training(project, labelled, sent):
    version = train_now(project)
    assert version.status == ModelVersion.Status.READY
    assert version.metrics["embeddings"] in ("used", "not used: held-out share 0")
    assert sent == []
    assert uncached_texts(project_texts(project), training.embedding_cache_path()) == []
