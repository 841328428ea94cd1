"""Celery tasks of the learner: take ids, call learner/training.py, record status there.

Both run on the ``training`` queue (settings.CELERY_TASK_ROUTES), so training
can move to large-memory or GPU workers without touching the web workers.
"""

from celery import shared_task
from django.utils import timezone

from annotate import jobs
from annotate.models import Project
from learner import training
from learner.models import ModelVersion


@shared_task(name="learner.tasks.train_version")
def train_version(version_id: int) -> str:
    """Train one queued version; a second delivery of the same task does nothing."""
    return training.run_version(version_id)


# Retrains that follow a change the running version cannot know about (a
# merged or retired label, newly encoded texts) wait for the slot instead of
# being dropped: once a minute, for at most half an hour.
WAIT_WHEN_BUSY = {"labels", "embeddings"}
BUSY_RETRY_SECONDS = 60
BUSY_RETRIES = 30


@shared_task(name="learner.tasks.retrain")
def retrain(project_id: int, trigger: str = "annotations", attempt: int = 0) -> str:
    """Queue and train a new version, unless one is already queued or running.

    annotate sends this task by name when enough new annotations arrive, so
    that annotate never imports learner; the next annotations ask again.
    """
    project = Project.objects.filter(pk=project_id).first()
    version = training.create_version(project=project, trigger=trigger) if project else None
    if version is not None:
        return training.run_version(version.pk)
    if project is not None and trigger in WAIT_WHEN_BUSY and attempt < BUSY_RETRIES:
        jobs.send(jobs.RETRAIN, project_id, trigger=trigger, attempt=attempt + 1, countdown=BUSY_RETRY_SECONDS)
        return "busy; asked again in a minute"
    return "busy"


@shared_task(name="learner.tasks.warm_embeddings")
def warm_embeddings(project_id: int, after_id: int = 0) -> str:
    """Encode one batch of the project's texts for the embedding member; then the next batch, or a retrain.

    Sent when a version had to train without embeddings (too many new
    texts). Each batch is its own short task, so retrains queue between them.
    """
    next_after = training.warm_embeddings(project_id=project_id, after_id=after_id)
    if next_after is not None:
        jobs.send(jobs.WARM_EMBEDDINGS, project_id, next_after)
        return f"encoded the items up to {next_after}"
    jobs.send(jobs.RETRAIN, project_id, trigger="embeddings")
    return "encoded; retrain sent"


@shared_task(name="learner.tasks.fail_stale_versions")
def fail_stale_versions() -> int:
    """Periodic (config/celery.py): fail the versions whose worker stopped beating, freeing their projects' slots.

    The next trigger, or the redelivered task of a killed worker, then
    trains; the previous model and the queue stay as they were.
    """
    return ModelVersion.objects.fail_stale(now=timezone.now())
