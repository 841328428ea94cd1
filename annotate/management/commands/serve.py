"""Run the web server and one Celery worker together, in the foreground.

Ctrl-C (or SIGTERM) stops both. This is the embedded mode of `make run`;
production runs the two as separate containers (docker-compose.yml).
"""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

WORKER_NICENESS = 10


def lower_priority() -> None:
    """Run in the worker's process before it starts: lower its CPU priority below the web's."""
    os.nice(WORKER_NICENESS)


def web_command(*, bin_dir: str, bind: str) -> list[str]:
    """The gunicorn command line of the embedded mode.

    Without its control socket: gunicorn's default is one per user
    (~/.gunicorn/gunicorn.ctl), shared by every instance, so a second
    checkout's ``make run`` would take it over; nothing here uses it.
    """
    return [
        os.path.join(bin_dir, "gunicorn"),
        "config.wsgi",
        "--bind",
        bind,
        "--workers",
        "2",
        "--threads",
        "4",
        "--no-control-socket",
        "--access-logfile",
        "-",
    ]


class Command(BaseCommand):
    help = "Run gunicorn and a Celery worker until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("TAGWISE_BIND", "127.0.0.1:8000"))

    def handle(self, *args: Any, **options: Any) -> None:
        bin_dir = os.path.dirname(sys.executable)
        commands = {
            "web": web_command(bin_dir=bin_dir, bind=options["bind"]),
            "worker": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                "default,training",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
            ],
        }
        # The worker runs at a lower CPU priority: a retrain then uses the cores the web leaves idle
        # instead of slowing the submits of the people annotating (docs/operations.md, "One machine").
        priority = {"web": None, "worker": lower_priority}
        children = {
            name: subprocess.Popen(command, cwd=settings.BASE_DIR, preexec_fn=priority[name])
            for name, command in commands.items()
        }
        self.stdout.write(self.style.SUCCESS(f"Tagwise is running at http://{options['bind']}/ (Ctrl-C stops it)"))

        def stop(*_: Any) -> None:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        interrupted = False
        try:
            # If one of the two dies, stop the other: half an app is worse than none.
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            stop()
            for child in children.values():
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = {name: child.returncode for name, child in children.items() if child.returncode not in (0, -15, None)}
        if failed and not interrupted:
            self.stderr.write(f"Stopped; exit codes: {failed}")
