"""``manage.py retrain PROJECT_ID [--wait | --sync]``: retrain a project's model from the command line."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Project
from learner import training
from learner.models import ModelVersion

POLL_SECONDS = 2.0


class Command(BaseCommand):
    help = (
        "Queue a retrain of a project's model for a Celery worker. --wait follows it until it ends; "
        "--sync trains in this process instead, with no worker needed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("project_id", type=int)
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", help="Wait for the worker and print the outcome.")
        mode.add_argument("--sync", action="store_true", help="Train in this process instead of a worker.")
        parser.add_argument(
            "--timeout", type=float, default=3600.0, help="Seconds --wait waits before giving up (default 3600)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(pk=options["project_id"]).first()
        if project is None:
            raise CommandError(f"There is no project {options['project_id']}.")
        if options["sync"]:
            version = training.create_version(project=project, trigger="command")
            self._refuse_if_busy(project, version)
            self.stdout.write(f"Training version {version.pk} of {project.name} in this process…")
            training.run_version(version.pk)
        else:
            version = training.queue_retrain(project=project, trigger="command")
            self._refuse_if_busy(project, version)
            self.stdout.write(f"Queued version {version.pk} of {project.name} for a worker.")
            if not options["wait"]:
                return
            self._wait(version, timeout=options["timeout"])
        version.refresh_from_db()
        self._report(version)

    def _refuse_if_busy(self, project: Project, version: ModelVersion | None) -> None:
        if version is None:
            active = training.active_version(project=project)
            which = f" (version {active.pk}, {active.status})" if active else ""
            raise CommandError(f"A retrain of {project.name} is already queued or running{which}.")

    def _wait(self, version: ModelVersion, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            version.refresh_from_db()
            if not version.is_active:
                return
            line = f"  {version.status}: {version.phase or 'waiting for a worker'} {version.progress:.0%}"
            if line != last:
                self.stdout.write(line)
                last = line
            if time.monotonic() >= deadline:
                raise CommandError(f"Version {version.pk} is still {version.status} after {timeout:g} s.")
            time.sleep(POLL_SECONDS)

    def _report(self, version: ModelVersion) -> None:
        if version.status == ModelVersion.Status.READY:
            score = f", macro F1 {version.macro_f1:.3f}" if version.macro_f1 is not None else ""
            self.stdout.write(self.style.SUCCESS(f"Version {version.pk} is ready{score}."))
        elif version.status == ModelVersion.Status.SKIPPED:
            self.stdout.write(f"Version {version.pk} was skipped: {version.error}")
        else:
            raise CommandError(f"Version {version.pk} {version.status}: {version.error}")
