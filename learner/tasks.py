"""Celery tasks of the learner: take ids, call learner/training.py, record status there.

Both run on the ``training`` queue (settings.CELERY_TASK_ROUTES), so training
can move to large-memory or GPU workers without touching the web workers.
"""

from celery import shared_task

from annotate.models import Project
from learner import training


@shared_task(name="learner.tasks.train_version")
def train_version(version_id: int) -> str:
    """Train one queued version; a second delivery of the same task does nothing."""
    return training.run_version(version_id)


@shared_task(name="learner.tasks.retrain")
def retrain(project_id: int, trigger: str = "annotations") -> str:
    """Queue and train a new version, unless one is already queued or running.

    annotate sends this task by name when enough new annotations arrive, so
    that annotate never imports learner.
    """
    project = Project.objects.filter(pk=project_id).first()
    version = training.create_version(project=project, trigger=trigger) if project else None
    if version is None:
        return "busy"
    return training.run_version(version.pk)


@shared_task(name="learner.tasks.warm_embeddings")
def warm_embeddings(project_id: int, after_id: int = 0) -> str:
    """Encode one batch of the project's texts for the embedding member; then the next batch, or a retrain.

    Sent when a version had to train without embeddings (too many new
    texts). Each batch is its own short task, so retrains queue between them.
    """
    next_after = training.warm_embeddings(project_id=project_id, after_id=after_id)
    if next_after is not None:
        warm_embeddings.delay(project_id, next_after)
        return f"encoded the items up to {next_after}"
    retrain.delay(project_id, trigger="embeddings")
    return "encoded; retrain sent"
