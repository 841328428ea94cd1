"""Celery tasks of the annotate app: thin wrappers that take ids and call a function.

Tasks import the domain, never the reverse: the domain sends these by name
through annotate/jobs.py (docs/architecture.md).
"""

from celery import shared_task
from django.utils import timezone

from annotate.curation.project_agreement import answers_generation, project_agreement
from annotate.curation.review import compute_disputed_order
from annotate.dataset.importers import run_import_job
from annotate.models import Project
from annotate.work.queue import build_cold_start_queue, delete_expired_leases


@shared_task(name="annotate.tasks.fill_queue")
def fill_queue(project_id: int) -> int:
    """Give new items of a project a place in the queue (after an import, say)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    return build_cold_start_queue(project=project)


@shared_task(name="annotate.tasks.import_items")
def import_items(job_id: int) -> None:
    """Run a background import (ImportJob); a second delivery of the same job does nothing."""
    run_import_job(job_id=job_id)


@shared_task(name="annotate.tasks.refresh_agreement")
def refresh_agreement(project_id: int) -> None:
    """Count the agreement figures of a project's current data, for the dashboard to pick up."""
    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        project_agreement(project=project)


@shared_task(name="annotate.tasks.refresh_review_order")
def refresh_review_order(project_id: int) -> None:
    """Compute the review order of a project's current answers, for the review page to pick up."""
    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        compute_disputed_order(project=project, generation_=answers_generation(project=project))


@shared_task(name="annotate.tasks.clean_expired_leases")
def clean_expired_leases() -> int:
    """Periodic (config/celery.py): delete leases long expired, not only when their holder asks for the next item."""
    return delete_expired_leases(now=timezone.now())
