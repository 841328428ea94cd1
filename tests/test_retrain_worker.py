"""The retrain loop end to end with a real Celery worker: annotations trigger it, the worker trains and re-ranks."""

from __future__ import annotations

import uuid

import pytest

from annotate.models import QueueEntry
from annotate.work.annotating import Answer, submit_annotation
from annotate.work.queue import build_cold_start_queue
from config.celery import app
from learner import training
from learner.models import ModelVersion
from tests.conftest import wait_until
from tests.factories import annotate_item
from tests.learner_support import make_labelled_project, make_texts_and_truth

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Training 40 texts takes seconds; the margin covers a slow, shared CI machine.
TRAINING_TIMEOUT = 180


def finished(project) -> bool:
    versions = ModelVersion.objects.filter(project=project)
    return versions.exists() and not versions.filter(status__in=ModelVersion.ACTIVE_STATUSES).exists()


def test_enough_new_annotations_trigger_a_retrain_that_reranks_the_queue(
    celery_worker_process, project, labels, annotator, second_annotator
):
    project.retrain_every = 5
    project.save(update_fields=["retrain_every"])
    items = make_labelled_project(project, labels, annotator, unanswered_items=10)
    build_cold_start_queue(project=project)
    truth = dict(
        zip(items, (names for _, names in make_texts_and_truth(40, [label.name for label in labels])), strict=True)
    )

    for item in items[-5:]:
        answers = {label.pk: Answer(value=int(label.name in truth[item]), confidence=1.0) for label in labels}
        submit_annotation(
            annotator=second_annotator, item=item, answers=answers, idempotency_key=uuid.uuid4(), duration_ms=3000
        )

    assert wait_until(lambda: finished(project), timeout=TRAINING_TIMEOUT), ModelVersion.objects.values()
    version = ModelVersion.objects.get(project=project)
    assert version.status == ModelVersion.Status.READY, version.error
    assert version.trigger == "annotations"
    assert version.dataset_counts["labelled_items"] == 35
    entries = QueueEntry.objects.filter(project=project)
    assert entries.count() == 40
    assert set(entries.values_list("model_version_id", flat=True)) == {version.pk}


def test_two_triggers_at_once_train_once(celery_worker_process, project, labels, annotator):
    make_labelled_project(project, labels, annotator)
    build_cold_start_queue(project=project)

    for _ in range(2):
        app.send_task("learner.tasks.retrain", kwargs={"project_id": project.pk, "trigger": "api"}, queue="training")

    # The second task either finds the slot taken, or runs after the first
    # and finds the answers unchanged; either way nothing trains twice.
    assert wait_until(lambda: _tasks_done("learner.tasks.retrain") == 2, timeout=TRAINING_TIMEOUT)
    assert finished(project)
    statuses = list(ModelVersion.objects.filter(project=project).values_list("status", flat=True))
    assert statuses.count(ModelVersion.Status.READY) == 1, statuses
    assert set(statuses) <= {ModelVersion.Status.READY, ModelVersion.Status.SKIPPED}


def test_a_failure_in_the_worker_keeps_the_previous_model_and_queue(celery_worker_process, project, labels, annotator):
    items = make_labelled_project(project, labels, annotator)
    build_cold_start_queue(project=project)
    good = training.create_version(project=project, trigger="manual")
    app.send_task("learner.tasks.train_version", args=[good.pk], queue="training")
    assert wait_until(lambda: finished(project), timeout=TRAINING_TIMEOUT)
    before = list(QueueEntry.objects.order_by("item_id").values_list("item_id", "priority", "focus_labels"))

    # New answers, so the retrain is not skipped; then a configuration the
    # model refuses makes training raise inside the worker.
    annotate_item(items[-1], annotator, {labels[0]: 1})
    broken = training.create_version(project=project, trigger="manual")
    ModelVersion.objects.filter(pk=broken.pk).update(config={"kind": "no-such-model"})
    app.send_task("learner.tasks.train_version", args=[broken.pk], queue="training")

    assert wait_until(lambda: finished(project), timeout=TRAINING_TIMEOUT)
    broken.refresh_from_db()
    assert broken.status == ModelVersion.Status.FAILED
    assert "no-such-model" in broken.error
    assert training.latest_ready(project=project) == good
    after = list(QueueEntry.objects.order_by("item_id").values_list("item_id", "priority", "focus_labels"))
    assert after == before


def _tasks_done(name: str) -> int:
    """How many tasks of this name the worker finished, from its log (there is no result backend)."""
    from django.conf import settings

    log = (settings.DATA_DIR / "worker.log").read_text()
    return sum(
        1 for line in log.splitlines() if f"Task {name}[" in line and (" succeeded " in line or " raised " in line)
    )
