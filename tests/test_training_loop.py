"""The retrain loop without a worker: claim, snapshot, train, score, re-rank, and every way it can go wrong."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from annotate import jobs
from annotate.curation.answers import load_answers
from annotate.models import Item, Judgment, QueueEntry, QueueReason
from learner import training
from learner.ml import load_model
from learner.ml.sampling import item_scores, rank_for_annotation, uncertainty
from learner.models import QUEUED_STALE_AFTER, STALE_AFTER, ModelVersion
from tests.factories import annotate_item
from tests.learner_support import make_labelled_project, small_config, train_now


@pytest.fixture(autouse=True)
def fast_training(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(training, "default_config", small_config)
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def queue_state(project) -> list[tuple]:
    return list(
        QueueEntry.objects.filter(project=project)
        .order_by("item_id")
        .values_list("item_id", "priority", "focus_labels", "reason", "model_version_id")
    )


def unobserved_labels(item, labels) -> set[int]:
    answered = set(Judgment.objects.filter(annotation__item=item).values_list("label_id", flat=True))
    return {label.pk for label in labels} - answered


def test_a_version_trains_stores_its_metrics_and_reranks_the_queue(project, labels, labelled):
    version = train_now(project)

    assert version.status == ModelVersion.Status.READY, version.error
    assert version.progress == 1.0 and version.finished_at is not None
    assert Path(version.artifact_path).is_file()
    assert len(version.thresholds) == len(labels)
    assert version.label_ids == [label.pk for label in labels]
    assert version.dataset_counts["items"] == 40 and version.dataset_counts["labelled_items"] == 36
    assert version.dataset_counts["observed_entries"] == 36 * 3
    assert set(version.metrics["overall"]) >= {"macro_f1", "micro_f1", "hamming_loss", "lrap", "coverage_error"}
    assert [row["label"] for row in version.metrics["per_label"]] == [label.name for label in labels]
    assert len(version.metrics["calibration"]) == len(labels)

    entries = QueueEntry.objects.filter(project=project).select_related("item")
    assert entries.count() == 40
    assert all(entry.model_version_id == version.pk for entry in entries)
    for entry in entries:
        # Focus labels are the ones nobody answered yet: asking again what
        # an annotator already said would waste their time.
        unobserved = unobserved_labels(entry.item, labels)
        assert entry.focus_labels, entry.item.external_id
        assert set(entry.focus_labels) <= unobserved
        assert len(entry.focus_labels) == min(training.FOCUS_LABELS, len(unobserved))
    # The head of the queue is the item whose unanswered labels the model is
    # least sure about, by the stored model's own probabilities.
    answers = load_answers(project=project)
    observed = ~np.isnan(answers.consensus().targets)
    model = load_model(version.artifact_path)
    texts = [Item.objects.get(pk=pk).text for pk in answers.item_ids]
    scores = item_scores(uncertainty(model.predict_proba(texts), model.thresholds), observed)
    top = entries.order_by("-priority").first()
    # The head is the first pick of the one ranking function on the stored
    # model's probabilities, with the version's seed (the pick samples among
    # the most uncertain items for diversity, so it need not be the single
    # most uncertain one). Two items can tie to within rounding (the reloaded
    # model reads its embeddings from the float cache), so scores are compared.
    proba = model.predict_proba(texts)
    (first, *_) = rank_for_annotation(
        proba,
        observed,
        model.features(texts),
        batch_size=int((~observed.all(axis=1)).sum()),
        focus_size=None,
        exploration=training.EXPLORATION_SHARE,
        seed=version.pk,
        thresholds=model.thresholds,
    )
    head_score = scores[int(np.searchsorted(answers.item_ids, top.item_id))]
    assert head_score == pytest.approx(scores[first.item], rel=1e-4), (head_score, scores[first.item])
    assert head_score > np.median(scores)
    assert top.reason == QueueReason.UNCERTAIN


def test_a_retrain_with_unchanged_answers_is_skipped(project, labelled):
    first = train_now(project)
    before = queue_state(project)

    second = train_now(project)

    assert second.status == ModelVersion.Status.SKIPPED
    assert second.skip_kind == ModelVersion.SkipKind.UNCHANGED_ANSWERS
    assert second.dataset_hash == first.dataset_hash
    assert training.latest_ready(project=project) == first
    assert queue_state(project) == before


def test_new_answers_change_the_snapshot_and_train_again(project, labels, labelled, second_annotator):
    first = train_now(project)
    annotate_item(labelled[-1], second_annotator, {labels[0]: 1})

    second = train_now(project)

    assert second.status == ModelVersion.Status.READY, second.error
    assert second.dataset_hash != first.dataset_hash
    assert training.latest_ready(project=project) == second


def test_a_failed_training_keeps_the_previous_model_and_the_queue(
    project, labels, labelled, second_annotator, monkeypatch
):
    good = train_now(project)
    before = queue_state(project)
    annotate_item(labelled[-1], second_annotator, {labels[0]: 1})

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory while training")

    monkeypatch.setattr(training, "train_model", broken)
    failed = train_now(project)

    assert failed.status == ModelVersion.Status.FAILED
    assert "out of memory while training" in failed.error
    assert failed.finished_at is not None and failed.artifact_path == ""
    assert training.latest_ready(project=project) == good
    assert queue_state(project) == before


def test_a_failure_while_writing_the_queue_rolls_back_the_ready_status(
    project, labels, labelled, second_annotator, monkeypatch
):
    good = train_now(project)
    before = queue_state(project)
    annotate_item(labelled[-1], second_annotator, {labels[0]: 1})

    def broken(**kwargs):
        raise RuntimeError("queue table locked")

    monkeypatch.setattr(training, "set_queue_priorities", broken)
    failed = train_now(project)

    assert failed.status == ModelVersion.Status.FAILED
    assert "queue table locked" in failed.error
    assert training.latest_ready(project=project) == good
    assert queue_state(project) == before
    # The failed version had saved its model and scores; neither is left on disk.
    assert not training.artifact_path(failed).exists()
    assert not training.predictions_path(failed).exists()
    assert Path(good.artifact_path).exists() and training.predictions_path(good).exists()


def test_a_version_failed_while_it_writes_the_queue_stops_at_its_next_chunk(
    project, labels, labelled, second_annotator, monkeypatch
):
    """The queue is written in short chunks (no submit waits for a whole re-rank); a lost slot stops the writing."""
    good = train_now(project)
    annotate_item(labelled[-1], second_annotator, {labels[0]: 1})
    monkeypatch.setattr(training, "RANKING_CHUNK", 2)
    real = training.set_queue_priorities
    chunks: list[list[int]] = []

    def first_chunk_then_marked_stale(**kwargs):
        written = real(**kwargs)
        chunks.append([entry[0] for entry in kwargs["entries"]])
        # The periodic check fails the version between its first and its second chunk.
        ModelVersion.objects.filter(pk=kwargs["model_version_id"]).update(
            status=ModelVersion.Status.FAILED, error="The worker stopped reporting progress."
        )
        return written

    monkeypatch.setattr(training, "set_queue_priorities", first_chunk_then_marked_stale)
    lost = train_now(project)

    assert lost.status == ModelVersion.Status.FAILED
    assert training.latest_ready(project=project) == good
    assert len(chunks) == 1 and len(chunks[0]) == 2 and chunks[0] == sorted(chunks[0])
    versions = dict(QueueEntry.objects.filter(project=project).values_list("item_id", "model_version_id"))
    assert {versions[item_id] for item_id in chunks[0]} == {lost.pk}
    assert {version for item_id, version in versions.items() if item_id not in chunks[0]} == {good.pk}


def test_a_version_delivered_twice_trains_once(project, labelled, monkeypatch):
    calls = []
    real = training.train_model

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_model", counting)
    version = training.create_version(project=project, trigger="manual")

    assert training.run_version(version.pk) == ModelVersion.Status.READY
    assert training.run_version(version.pk) == "not-claimed"
    assert len(calls) == 1
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.READY


def test_too_few_answered_items_is_skipped_with_a_reason(project, labels, annotator):
    make_labelled_project(project, labels, annotator, count=12, unanswered_items=5)

    version = train_now(project)

    assert version.status == ModelVersion.Status.SKIPPED
    assert version.skip_kind == ModelVersion.SkipKind.NOT_ENOUGH_DATA
    assert "7 items have answers" in version.error
    assert not QueueEntry.objects.filter(project=project, model_version_id=version.pk).exists()


def test_only_one_version_can_be_queued_at_a_time(project, labelled):
    first = training.create_version(project=project, trigger="annotations")
    assert first is not None
    assert training.create_version(project=project, trigger="manual") is None
    training.run_version(first.pk)
    assert training.create_version(project=project, trigger="manual") is not None


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_triggers_create_one_version(project, labels):
    barrier = threading.Barrier(2)
    results: list[ModelVersion | None] = []

    def trigger() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(training.create_version(project=project, trigger="annotations"))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 2
    assert sum(version is not None for version in results) == 1
    assert ModelVersion.objects.filter(project=project).count() == 1


def test_stale_versions_are_marked_failed_and_free_the_slot(project, labelled):
    stuck = training.create_version(project=project, trigger="manual")
    long_ago = timezone.now() - STALE_AFTER - timedelta(minutes=1)
    ModelVersion.objects.filter(pk=stuck.pk).update(
        status=ModelVersion.Status.TRAINING, started_at=long_ago, heartbeat_at=long_ago
    )

    fresh = training.create_version(project=project, trigger="manual")

    stuck.refresh_from_db()
    assert stuck.status == ModelVersion.Status.FAILED
    assert "stopped reporting progress" in stuck.error
    assert fresh is not None


def test_a_training_version_with_a_recent_heartbeat_is_not_stale(project, labelled):
    running = training.create_version(project=project, trigger="manual")
    ModelVersion.objects.filter(pk=running.pk).update(
        status=ModelVersion.Status.TRAINING, heartbeat_at=timezone.now() - timedelta(minutes=1)
    )

    assert ModelVersion.objects.fail_stale(project=project, now=timezone.now()) == 0
    assert training.create_version(project=project, trigger="manual") is None


def test_a_queued_version_that_never_started_is_stale(project, labelled):
    lost = training.create_version(project=project, trigger="manual")
    ModelVersion.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - QUEUED_STALE_AFTER - timedelta(minutes=1)
    )

    assert ModelVersion.objects.fail_stale(project=project, now=timezone.now()) == 1
    lost.refresh_from_db()
    assert lost.status == ModelVersion.Status.FAILED
    assert "never started" in lost.error


def test_a_stale_version_that_wakes_up_cannot_publish(project, labels, labelled, monkeypatch):
    """A worker that was presumed dead must not overwrite the queue when it comes back."""
    real = training.train_model

    def slow_then_marked_stale(*args, **kwargs):
        model = real(*args, **kwargs)
        ModelVersion.objects.filter(project=project).update(
            status=ModelVersion.Status.FAILED, error="The worker stopped reporting progress."
        )
        return model

    monkeypatch.setattr(training, "train_model", slow_then_marked_stale)
    before = queue_state(project)
    version = train_now(project)

    assert version.status == ModelVersion.Status.FAILED
    assert training.latest_ready(project=project) is None
    assert queue_state(project) == before


def test_a_retrain_the_broker_never_got_frees_the_slot(
    project, labelled, monkeypatch, django_capture_on_commit_callbacks
):
    from config.celery import app

    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    # The domain sends tasks by name through annotate.jobs, so the broker fails in the Celery app itself.
    monkeypatch.setattr(app, "send_task", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        version = training.queue_retrain(project=project, trigger="manual")

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.FAILED
    assert "broker could not be reached" in version.error
    assert training.create_version(project=project, trigger="manual") is not None


def test_a_retrain_request_sends_its_task_once_committed(
    project, labelled, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = training.queue_retrain(project=project, trigger="manual")
        assert sent_tasks == []

    assert sent_tasks == [(jobs.TRAIN_VERSION, (version.pk,), {})]
