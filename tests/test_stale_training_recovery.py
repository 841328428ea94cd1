"""A version whose worker stopped beating is failed by the periodic check within two minutes, freeing the slot."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from config import celery as upkeep
from learner import tasks, training
from learner.models import HEARTBEAT_EVERY, STALE_AFTER, STALE_RUNNING_ERROR, ModelVersion, ModelVersionQuerySet
from tests.factories import make_project

Status = ModelVersion.Status


@pytest.fixture
def clock(monkeypatch):
    """A frozen clock that the test moves forward: ``clock.advance(seconds)``."""

    class Clock:
        now = timezone.now()

        def advance(self, seconds: float) -> None:
            self.now += timedelta(seconds=seconds)

    frozen = Clock()
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@pytest.fixture
def training_version(project, clock) -> ModelVersion:
    version = ModelVersion.objects.create(project=project)
    assert ModelVersion.objects.claim(version.pk)  # heartbeat_at = clock.now
    return version


def status_of(version: ModelVersion) -> str:
    version.refresh_from_db()
    return version.status


def test_a_lost_worker_is_noticed_within_two_minutes_of_its_last_heartbeat():
    # The check runs every UPKEEP seconds, so the slot is freed at most this long after the last beat.
    check_every = upkeep.UPKEEP["learner.tasks.fail_stale_versions"]
    assert STALE_AFTER + timedelta(seconds=check_every) <= timedelta(minutes=2)
    # A live worker beats several times within STALE_AFTER, so one slow beat is not taken for death.
    assert STALE_AFTER >= HEARTBEAT_EVERY * 4


def test_the_periodic_check_fails_a_silent_version_and_frees_the_slot(project, clock, training_version):
    clock.advance(STALE_AFTER.total_seconds() - 1)
    assert tasks.fail_stale_versions() == 0
    assert status_of(training_version) == Status.TRAINING
    assert training.create_version(project=project, trigger="manual") is None  # the slot is still held

    clock.advance(2)
    assert tasks.fail_stale_versions() == 1
    training_version.refresh_from_db()
    assert (training_version.status, training_version.error) == (Status.FAILED, STALE_RUNNING_ERROR)
    assert training_version.finished_at == clock.now
    # Run again (a second worker, the next turn): nothing more happens.
    assert tasks.fail_stale_versions() == 0
    assert training.create_version(project=project, trigger="manual") is not None


def test_a_version_that_keeps_beating_keeps_its_slot(clock, training_version):
    for _ in range(10):
        clock.advance(HEARTBEAT_EVERY.total_seconds())
        assert ModelVersion.objects.keep_alive(training_version.pk)
        assert tasks.fail_stale_versions() == 0
    assert ModelVersion.objects.to_scoring(training_version.pk)
    clock.advance(HEARTBEAT_EVERY.total_seconds())
    assert ModelVersion.objects.keep_alive(training_version.pk)  # scoring beats too
    assert tasks.fail_stale_versions() == 0
    assert status_of(training_version) == Status.SCORING


def test_a_finished_version_takes_no_more_heartbeats(training_version):
    assert ModelVersion.objects.finish(training_version.pk, Status.FAILED, error="boom")
    assert not ModelVersion.objects.keep_alive(training_version.pk)


def test_the_check_covers_every_project(clock, training_version):
    other = ModelVersion.objects.create(project=make_project("Second"))
    assert ModelVersion.objects.claim(other.pk)
    clock.advance(STALE_AFTER.total_seconds() + 1)
    assert tasks.fail_stale_versions() == 2
    assert (status_of(training_version), status_of(other)) == (Status.FAILED, Status.FAILED)


def test_the_worker_runs_its_upkeep_at_start_then_each_job_on_its_own_timer(clock, training_version):
    last_run: dict[str, float] = {}
    assert set(upkeep.run_due_upkeep(last_run=last_run, now=1000.0)) == set(upkeep.UPKEEP)
    assert upkeep.run_due_upkeep(last_run=last_run, now=1010.0) == []
    clock.advance(STALE_AFTER.total_seconds() + 1)
    assert upkeep.run_due_upkeep(last_run=last_run, now=1031.0) == ["learner.tasks.fail_stale_versions"]
    assert status_of(training_version) == Status.FAILED


def test_a_failing_job_does_not_stop_the_others(monkeypatch, clock, training_version):
    def broken() -> int:
        raise RuntimeError("database gone")

    monkeypatch.setitem(upkeep.app.tasks, "annotate.tasks.clean_expired_leases", broken)
    clock.advance(STALE_AFTER.total_seconds() + 1)
    assert set(upkeep.run_due_upkeep(last_run={}, now=0.0)) == set(upkeep.UPKEEP)
    assert status_of(training_version) == Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_training_beats_from_its_own_thread_while_a_step_reports_nothing(monkeypatch, project):
    """The heartbeat thread writes while the training body is busy, so a slow step does not look like a dead worker."""
    version = ModelVersion.objects.create(project=project)
    assert ModelVersion.objects.claim(version.pk)
    ModelVersion.objects.filter(pk=version.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    beaten = threading.Event()
    real_keep_alive = ModelVersionQuerySet.keep_alive

    def keep_alive(self: ModelVersionQuerySet, version_id: int) -> bool:
        won = real_keep_alive(self, version_id)
        beaten.set()
        return won

    monkeypatch.setattr(ModelVersionQuerySet, "keep_alive", keep_alive)
    monkeypatch.setattr(training, "HEARTBEAT_EVERY", timedelta(milliseconds=10))
    with training._kept_alive(version.pk):
        assert beaten.wait(timeout=10)
    version.refresh_from_db()
    assert version.heartbeat_at > timezone.now() - timedelta(minutes=1)
