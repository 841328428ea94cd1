"""A version moves only through the named transitions of ``ModelVersion.objects``; each says whether it won."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from annotate.models import Project
from learner.models import QUEUED_STALE_AFTER, STALE_AFTER, STALE_QUEUED_ERROR, UNSENT_ERROR, ModelVersion

Status = ModelVersion.Status


def status_of(version: ModelVersion) -> str:
    version.refresh_from_db()
    return version.status


@pytest.fixture
def queued(project: Project) -> ModelVersion:
    return ModelVersion.objects.create(project=project)


def test_a_version_is_claimed_once(queued):
    assert ModelVersion.objects.claim(queued.pk)
    assert not ModelVersion.objects.claim(queued.pk)
    queued.refresh_from_db()
    assert (queued.status, queued.phase) == (Status.TRAINING, "snapshot")
    assert queued.started_at is not None and queued.heartbeat_at == queued.started_at


def test_the_happy_path_from_queued_to_ready(queued):
    versions = ModelVersion.objects
    assert not versions.heartbeat(queued.pk, progress=0.1, phase="features")  # not claimed yet
    assert versions.claim(queued.pk)
    assert versions.heartbeat(queued.pk, progress=0.5, phase="training")
    assert not versions.publish(queued.pk, artifact_path="m", metrics={}, thresholds=[], embeddings_deferred=False)
    assert versions.to_scoring(queued.pk)
    assert not versions.heartbeat(queued.pk, progress=0.6, phase="training")  # scoring: no more training progress
    assert versions.publish(queued.pk, artifact_path="m", metrics={"a": 1}, thresholds=[0.5], embeddings_deferred=True)
    queued.refresh_from_db()
    assert (queued.status, queued.progress, queued.artifact_path) == (Status.READY, 1.0, "m")
    assert queued.embeddings_deferred and queued.finished_at is not None
    assert not versions.to_scoring(queued.pk)


def test_finish_only_ends_an_active_version(queued):
    assert ModelVersion.objects.claim(queued.pk)
    assert ModelVersion.objects.finish(
        queued.pk, Status.SKIPPED, error="why", skip_kind=ModelVersion.SkipKind.NOT_ENOUGH_DATA
    )
    assert not ModelVersion.objects.finish(queued.pk, Status.FAILED, error="too late")
    queued.refresh_from_db()
    assert (queued.status, queued.error, queued.skip_kind) == (Status.SKIPPED, "why", "not_enough_data")


@pytest.mark.parametrize(
    ("status", "kind"),
    [(Status.READY, ""), (Status.SKIPPED, ""), (Status.FAILED, ModelVersion.SkipKind.UNCHANGED_ANSWERS)],
)
def test_finish_refuses_a_status_or_kind_that_does_not_fit(queued, status, kind):
    with pytest.raises(ValueError):
        ModelVersion.objects.finish(queued.pk, status, skip_kind=kind)
    assert status_of(queued) == Status.QUEUED


def test_a_version_the_broker_never_got_fails_only_while_queued(queued, project):
    assert ModelVersion.objects.fail_unsent(queued.pk)
    queued.refresh_from_db()
    assert (queued.status, queued.error) == (Status.FAILED, UNSENT_ERROR)

    claimed = ModelVersion.objects.create(project=project)
    assert ModelVersion.objects.claim(claimed.pk)
    assert not ModelVersion.objects.fail_unsent(claimed.pk)
    assert status_of(claimed) == Status.TRAINING


def test_a_stale_version_loses_its_slot_and_cannot_publish(queued, project):
    assert ModelVersion.objects.claim(queued.pk)
    later = timezone.now() + STALE_AFTER + timedelta(seconds=1)

    assert ModelVersion.objects.fail_stale(project=project, now=timezone.now()) == 0
    assert ModelVersion.objects.fail_stale(project=project, now=later) == 1
    assert not ModelVersion.objects.to_scoring(queued.pk)
    assert status_of(queued) == Status.FAILED


def test_a_queued_version_turns_stale_after_its_own_delay(queued, project):
    assert ModelVersion.objects.fail_stale(project=project, now=timezone.now() + STALE_AFTER * 2) == 0
    assert ModelVersion.objects.fail_stale(project=project, now=timezone.now() + QUEUED_STALE_AFTER * 2) == 1
    queued.refresh_from_db()
    assert queued.error == STALE_QUEUED_ERROR


def test_only_a_ready_version_forgets_its_artifact(queued):
    ModelVersion.objects.filter(pk=queued.pk).update(artifact_path="m")
    assert not ModelVersion.objects.forget_artifact(queued.pk)
    ModelVersion.objects.filter(pk=queued.pk).update(status=Status.READY)
    assert ModelVersion.objects.forget_artifact(queued.pk)
    queued.refresh_from_db()
    assert queued.artifact_path == ""


@pytest.mark.parametrize(("status", "kind"), [("skipped", ""), ("failed", "not_enough_data")])
def test_the_database_holds_a_kind_on_every_skip_and_on_nothing_else(project, status, kind):
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(project=project, status=status, skip_kind=kind)


@pytest.mark.django_db(transaction=True)
def test_the_migration_reads_the_kind_and_deferred_embeddings_from_the_old_words(project):
    before, after = [("learner", "0001_initial")], [("learner", "0002_skip_kind_embeddings_deferred")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("learner", "ModelVersion")
    unchanged = old.objects.create(
        project_id=project.pk, status="skipped", error="The answers have not changed since the last ready model."
    )
    too_few = old.objects.create(
        project_id=project.pk, status="skipped", error="Only 4 items have answers; training needs 10."
    )
    deferred = old.objects.create(
        project_id=project.pk, status="ready", metrics={"embeddings": "deferred: 5000 texts are being encoded"}
    )
    used = old.objects.create(project_id=project.pk, status="ready", metrics={"embeddings": "used"})

    executor = MigrationExecutor(connection)
    executor.migrate(after)

    rows = dict(ModelVersion.objects.values_list("pk", "skip_kind"))
    assert rows == {unchanged.pk: "unchanged_answers", too_few.pk: "not_enough_data", deferred.pk: "", used.pk: ""}
    assert list(ModelVersion.objects.filter(embeddings_deferred=True).values_list("pk", flat=True)) == [deferred.pk]
    # The pages show the history in the same words as before.
    assert ModelVersion.objects.get(pk=unchanged.pk).status_text == "Skipped (data unchanged)"
    assert ModelVersion.objects.get(pk=too_few.pk).status_text == "Skipped (not enough data)"
