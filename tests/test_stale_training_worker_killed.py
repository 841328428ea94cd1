"""A real worker killed while it trains: the next worker's periodic check fails the version and frees the slot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from learner import training
from learner.models import STALE_AFTER, STALE_RUNNING_ERROR, ModelVersion
from tests.conftest import ROOT, _purge_filesystem_broker, subprocess_env, wait_until

pytestmark = pytest.mark.worker

Status = ModelVersion.Status


class Workers:
    """Start real Celery workers (prefork, one pool process, as `manage.py serve` runs them); stop them at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, name: str) -> tuple[subprocess.Popen, Path]:
        log_path = Path(settings.DATA_DIR) / f"worker-{name}.log"
        command = [
            str(Path(sys.executable).parent / "celery"),
            *("-A", "config", "worker", "-Q", "default,training", "--concurrency", "1", "--loglevel", "INFO"),
            *("--without-heartbeat", "--without-gossip", "--without-mingle", "--logfile", str(log_path)),
        ]
        log_path.unlink(missing_ok=True)
        # A session of its own, so one killpg stops the main process and its pool process together.
        worker = subprocess.Popen(command, cwd=ROOT, env=subprocess_env(), start_new_session=True)
        self.started.append(worker)
        assert wait_until(lambda: log_path.exists() and "ready" in log_path.read_text(), timeout=90)
        return worker, log_path

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()


@pytest.fixture
def workers(transactional_db) -> Iterator[Workers]:
    if settings.CELERY_BROKER_IS_FILESYSTEM:
        _purge_filesystem_broker()
    else:
        # Both queues: a retrain left by another test would take the slot this test frees.
        with app.connection_for_write() as connection:
            for queue in ("default", "training"):
                connection.default_channel.queue_purge(queue)
    started = Workers()
    yield started
    started.stop_all()


def test_a_worker_killed_in_training_is_noticed_by_the_next_worker_and_the_slot_is_freed(workers, project, labelled):
    first, _ = workers.start("first")
    version = training.queue_retrain(project=project, trigger="manual")
    assert version is not None
    assert wait_until(
        lambda: ModelVersion.objects.get(pk=version.pk).status != Status.QUEUED, timeout=60, interval=0.02
    )
    os.killpg(first.pid, signal.SIGKILL)  # the whole worker, main and pool process, as a lost machine would
    first.wait(timeout=10)
    version.refresh_from_db()
    if version.status != Status.TRAINING:
        pytest.skip(f"training ended ({version.status}) before the kill could land; nothing to recover")

    # The slot is held: no retrain can start while the dead worker's version looks alive.
    assert training.create_version(project=project, trigger="manual") is None
    # Time passes without a heartbeat (moved back rather than waited for).
    ModelVersion.objects.filter(pk=version.pk).update(heartbeat_at=timezone.now() - STALE_AFTER - timedelta(seconds=1))

    workers.start("second")  # its periodic check runs at start
    assert wait_until(lambda: ModelVersion.objects.get(pk=version.pk).status == Status.FAILED, timeout=60)
    version.refresh_from_db()
    assert version.error == STALE_RUNNING_ERROR
    # The slot is free: a new version may start, unless a redelivered task already took it.
    newer = ModelVersion.objects.filter(project=project, pk__gt=version.pk)
    assert newer.exists() or training.create_version(project=project, trigger="manual") is not None
