"""A real Celery worker runs tasks enqueued on commit, and never those of a rolled-back transaction."""

import pytest
from django.db import transaction

from annotate.models import QueueEntry
from annotate.tasks import fill_queue
from tests.conftest import wait_until
from tests.factories import make_items, make_project

pytestmark = pytest.mark.worker


def test_task_enqueued_on_commit_runs_in_the_worker(celery_worker_process):
    with transaction.atomic():
        project = make_project("Worker project")
        make_items(project, 5)
        fill_queue.delay_on_commit(project.pk)
    assert wait_until(lambda: QueueEntry.objects.filter(project=project).count() == 5)


def test_task_of_a_rolled_back_transaction_never_runs(celery_worker_process):
    rolled_back = make_project("Rolled back")
    make_items(rolled_back, 3, prefix="rb")
    committed = make_project("Committed")
    make_items(committed, 2, prefix="ok")

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        fill_queue.delay_on_commit(rolled_back.pk)
        raise Rollback
    fill_queue.delay_on_commit(committed.pk)

    # The worker takes one task at a time in order; once the later task has
    # run, the earlier one would have run too, had it been sent.
    assert wait_until(lambda: QueueEntry.objects.filter(project=committed).count() == 2)
    assert not QueueEntry.objects.filter(project=rolled_back).exists()
