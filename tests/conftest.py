"""Shared fixtures: named users per role, a small project, a real Celery worker, a browser."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache

from annotate.models import QueueEntry, Role
from tests.factories import add_member, make_guideline, make_items, make_labels, make_project, make_user

# Playwright's sync API runs an event loop in the test thread; Django refuses
# ORM calls from a thread with a running loop unless told this is intended.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts and ends with an empty cache, so cached figures and throttle counts never leak across."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queue(project, items, labels):
    """The items in the queue, in their order (the first has the highest priority)."""
    QueueEntry.objects.bulk_create(
        [QueueEntry(project=project, item=item, priority=10 - index) for index, item in enumerate(items)]
    )
    return items


@pytest.fixture
def sent_tasks(monkeypatch) -> list[tuple[str, tuple, dict]]:
    """The Celery tasks the code sends through annotate.jobs, recorded as (name, args, kwargs) instead of queued."""
    from annotate import jobs

    outbox: list[tuple[str, tuple, dict]] = []

    def record(name: str, *args: Any, **kwargs: Any) -> bool:
        outbox.append((name, args, kwargs))
        return True

    monkeypatch.setattr(jobs, "send", record)
    return outbox


@pytest.fixture(autouse=True)
def broker_not_backing_off(monkeypatch):
    """Each test starts with a broker that has not failed: annotate.jobs remembers a failure for a few seconds."""
    from annotate import jobs

    monkeypatch.setattr(jobs, "_broker_failed_at", None)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Use a cheap hasher: tests create many users, and PBKDF2's work factor costs over a second per user here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def project(db):
    return make_project("Support inbox")


@pytest.fixture
def other_project(db):
    return make_project("Someone else's project")


@pytest.fixture
def guideline(project):
    return make_guideline(project, 1)


@pytest.fixture
def labels(project, guideline):
    return make_labels(project, ["shipping", "refund", "billing", "bug", "praise"])


@pytest.fixture
def labelled(project, labels, annotator):
    """40 short texts whose labels show in their words, partly answered, with a cold-start queue (learner tests)."""
    # Imported here: the learner support pulls in torch, which most tests never need.
    from annotate.work.queue import build_cold_start_queue
    from tests.learner_support import make_labelled_project

    items = make_labelled_project(project, labels, annotator)
    build_cold_start_queue(project=project)
    return items


@pytest.fixture
def items(project):
    return make_items(project, 10)


@pytest.fixture
def annotator(project):
    user = make_user("annie")
    add_member(project, user, Role.ANNOTATOR)
    return user


@pytest.fixture
def second_annotator(project):
    user = make_user("arthur")
    add_member(project, user, Role.ANNOTATOR)
    return user


@pytest.fixture
def reviewer(project):
    user = make_user("rita")
    add_member(project, user, Role.REVIEWER)
    return user


@pytest.fixture
def manager(project):
    user = make_user("manny")
    add_member(project, user, Role.MANAGER)
    return user


@pytest.fixture
def outsider(other_project):
    """A manager of another project, who must see nothing of ``project``."""
    user = make_user("otto")
    add_member(other_project, user, Role.MANAGER)
    return user


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points a child process at the test database."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url_for_subprocess()
    env["TAGWISE_DATA_DIR"] = str(settings.DATA_DIR)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


@pytest.fixture
def celery_worker_process(transactional_db) -> Iterator[subprocess.Popen]:
    """A real Celery worker in its own process, consuming the default and training queues.

    It uses the same broker as the tests (the filesystem transport under the
    test data directory, or Redis when CELERY_BROKER_URL is set) and the test
    database, so tasks enqueued on commit by a test run for real.
    """
    from config.celery import app

    if settings.CELERY_BROKER_IS_FILESYSTEM:
        _purge_filesystem_broker()
    else:
        app.control.purge()
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "config",
        "worker",
        "-Q",
        "default,training",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    log_path = Path(settings.DATA_DIR) / "worker.log"
    log = log_path.open("w")
    worker = subprocess.Popen(command, cwd=ROOT, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: "ready" in log_path.read_text() or worker.poll() is not None, timeout=60)
        if worker.poll() is not None:
            raise RuntimeError(f"The Celery worker exited early:\n{log_path.read_text()}")
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def _purge_filesystem_broker() -> None:
    folder = Path(settings.CELERY_FILESYSTEM_DIR) / "in"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)


def _wait_for(condition: Any, timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)


def wait_until(condition: Any, timeout: float = 60.0, interval: float = 0.2) -> bool:
    """Poll a condition until it holds or the timeout passes; returns whether it held.

    Tests that wait for a worker use this instead of a fixed sleep: they go on
    as soon as the work is done, and fail (not pass) when it never is.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Browser tests need Debian's Chromium: run `sudo apt-get install -y chromium` (CI installs it).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    yield page
    context.close()


def login(page: Any, username: str) -> None:
    """Log in through the real login form (factories set the password to 'pw-<username>')."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-" + username)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
