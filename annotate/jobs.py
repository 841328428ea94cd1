"""Background work the domain asks for: Celery tasks sent by their registered name.

Domain modules never import a tasks module; tasks import the domain
(docs/architecture.md). A domain function that wants work done later calls
``send`` or ``send_on_commit`` with the task's name. A broker that cannot be
reached is logged and reported as False, never turned into an error page for
a change that is already stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

# The learner's task that queues and trains a new version (learner/tasks.py).
RETRAIN = "learner.tasks.retrain"
TRAIN_VERSION = "learner.tasks.train_version"
WARM_EMBEDDINGS = "learner.tasks.warm_embeddings"
# annotate's own tasks (annotate/tasks.py).
FILL_QUEUE = "annotate.tasks.fill_queue"
IMPORT_ITEMS = "annotate.tasks.import_items"
REFRESH_AGREEMENT = "annotate.tasks.refresh_agreement"
REFRESH_REVIEW_ORDER = "annotate.tasks.refresh_review_order"


# After a send fails, this process leaves the broker alone for this long: a
# broker that hangs would otherwise cost every request its timeout
# (config/settings.py, REDIS_BROKER_TRANSPORT_OPTIONS).
BROKER_BACKOFF_SECONDS = 5.0
_broker_failed_at: float | None = None


def send(name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> bool:
    """Send the task ``name`` now; False (and a logged error) when the broker cannot take it."""
    from config.celery import app

    global _broker_failed_at
    if _broker_failed_at is not None and time.monotonic() - _broker_failed_at < BROKER_BACKOFF_SECONDS:
        logger.warning("Not sending the task %s%r: the broker failed a moment ago", name, args)
        return False
    try:
        app.send_task(name, args=args, kwargs=kwargs, countdown=countdown)
    except Exception:
        _broker_failed_at = time.monotonic()
        logger.exception("Could not send the task %s%r", name, args)
        return False
    _broker_failed_at = None
    return True


def send_on_commit(name: str, *args: Any, if_not_sent: Callable[[], object] | None = None, **kwargs: Any) -> None:
    """Send the task once the current transaction commits, so a rolled-back change never starts work.

    ``if_not_sent`` runs when the broker does not take the task, for a caller
    that can arrange to ask again later.
    """

    def send_after_commit() -> None:
        if not send(name, *args, **kwargs) and if_not_sent is not None:
            if_not_sent()

    transaction.on_commit(send_after_commit)


def request_retrain(*, project_id: int, trigger: str, if_not_sent: Callable[[], object] | None = None) -> None:
    """Ask the learner for a retrain when the transaction commits; the learner decides whether one runs.

    annotate never imports learner: the task goes by name, and the learner's
    training slot (one active version per project) drops a second request.
    """
    send_on_commit(RETRAIN, project_id=project_id, trigger=trigger, if_not_sent=if_not_sent)
