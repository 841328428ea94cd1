"""The Celery application, and the periodic upkeep every worker runs.

Settings come from config/settings.py (CELERY_*).

The upkeep (docs/operations.md, "Periodic jobs") runs in a thread of each
worker's main process, at start and then on a timer, instead of through
Celery beat: it needs no extra process in the embedded mode (`manage.py
serve`) or in docker-compose, it still runs while the worker's only pool
process is busy training, and it does not need the broker, so it works
while Redis is away. Each job is one conditional UPDATE or DELETE, so two
workers running it at once, or a run repeated, changes nothing more.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from celery import Celery
from celery.signals import worker_ready
from django.db import connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("tagwise")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The periodic jobs, by task name, and how often each runs in seconds. The
# stale check runs often: a version is failed within STALE_AFTER plus this
# interval of its last heartbeat (learner/models.py).
UPKEEP = {
    "learner.tasks.fail_stale_versions": 30,
    "annotate.tasks.clean_expired_leases": 600,
}
# How often the upkeep thread wakes to see whether a job is due.
UPKEEP_TICK = 5


def run_due_upkeep(*, last_run: dict[str, float], now: float) -> list[str]:
    """Run, in this thread, each upkeep job whose interval has passed since ``last_run``; return their names.

    A failing job (the database is down) is logged and tried again at its
    next turn; it never stops the others or the thread.
    """
    ran = []
    for name, every in UPKEEP.items():
        if now - last_run.get(name, float("-inf")) < every:
            continue
        last_run[name] = now
        ran.append(name)
        try:
            changed = app.tasks[name]()
            if changed:
                logger.info("Periodic job %s: %s rows", name, changed)
        except Exception:
            logger.exception("The periodic job %s failed; it runs again in %s s", name, every)
    return ran


def _upkeep_loop() -> None:
    last_run: dict[str, float] = {}
    while True:
        if run_due_upkeep(last_run=last_run, now=time.monotonic()):
            # A fresh connection per pass: one broken by a database restart is never reused.
            connection.close()
        time.sleep(UPKEEP_TICK)


_upkeep_started = threading.Event()


@worker_ready.connect
def start_upkeep(**_: Any) -> None:
    """Start the upkeep thread once the worker is ready; it runs the jobs at once, then on their timers.

    The signal comes again each time the worker reconnects to the broker;
    one thread is enough.
    """
    if _upkeep_started.is_set():
        return
    _upkeep_started.set()
    logger.info("Periodic jobs started: %s", ", ".join(f"{name} every {every} s" for name, every in UPKEEP.items()))
    threading.Thread(target=_upkeep_loop, name="tagwise-upkeep", daemon=True).start()
