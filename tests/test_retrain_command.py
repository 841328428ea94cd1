"""``manage.py retrain``: queue for a worker, follow it, or train in-process."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from learner import training
from learner.models import ModelVersion
from tests.learner_support import make_labelled_project, small_config


@pytest.fixture(autouse=True)
def fast_training(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(training, "default_config", small_config)
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args: str) -> str:
    out = StringIO()
    call_command("retrain", *args, stdout=out)
    return out.getvalue()


def test_sync_trains_in_process(project, labels, annotator):
    make_labelled_project(project, labels, annotator)

    output = run(str(project.pk), "--sync")

    version = ModelVersion.objects.get(project=project)
    assert version.status == ModelVersion.Status.READY and version.trigger == "command"
    assert f"Version {version.pk} is ready, macro F1 {version.macro_f1:.3f}" in output


def test_sync_reports_a_skip(project, labels, annotator):
    make_labelled_project(project, labels, annotator, count=12, unanswered_items=5)

    output = run(str(project.pk), "--sync")

    assert "was skipped" in output and "training needs 10" in output


def test_default_queues_for_a_worker_on_commit(project, labels, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        output = run(str(project.pk))

    version = ModelVersion.objects.get(project=project)
    assert version.status == ModelVersion.Status.QUEUED
    assert f"Queued version {version.pk}" in output
    assert len(callbacks) == 1  # the task is sent once the version is committed


def test_wait_gives_up_after_its_timeout(project, labels):
    with pytest.raises(CommandError, match=r"still queued after 0\.1 s"):
        run(str(project.pk), "--wait", "--timeout", "0.1")


def test_a_busy_project_is_refused(project, labels):
    active = ModelVersion.objects.create(project=project, status=ModelVersion.Status.TRAINING)

    with pytest.raises(CommandError, match=f"already queued or running \\(version {active.pk}, training\\)"):
        run(str(project.pk), "--sync")


def test_an_unknown_project_is_refused(db):
    with pytest.raises(CommandError, match="no project 999"):
        run("999")
