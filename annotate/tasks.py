"""Celery tasks of the annotate app: thin wrappers that take ids and call a function."""

from celery import shared_task

from annotate.models import Project
from annotate.work.queue import build_cold_start_queue


@shared_task
def fill_queue(project_id: int) -> int:
    """Give new items of a project a place in the queue (after an import, say)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    return build_cold_start_queue(project=project)


@shared_task
def import_items(job_id: int) -> None:
    """Run a background import (ImportJob); a second delivery of the same job does nothing."""
    from annotate.dataset.importers import run_import_job

    run_import_job(job_id=job_id)


@shared_task
def refresh_agreement(project_id: int) -> None:
    """Count the agreement figures of a project's current data, for the dashboard to pick up."""
    # Imported here: annotate.curation.project_agreement imports this module to send the task.
    from annotate.curation.project_agreement import project_agreement

    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        project_agreement(project=project)


@shared_task
def refresh_review_order(project_id: int) -> None:
    """Compute the review order of a project's current answers, for the review page to pick up."""
    # Imported here: annotate.curation.review imports this module to send the task.
    from annotate.curation.project_agreement import answers_generation
    from annotate.curation.review import compute_disputed_order

    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        compute_disputed_order(project=project, generation_=answers_generation(project=project))
