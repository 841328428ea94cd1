"""With Redis unreachable (cache and broker on a closed port) signed-in pages work and a submit is stored once."""

from __future__ import annotations

import copy
import socket
import time

import pytest
from celery import Celery
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache, caches
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

import config.cache
import config.celery
from annotate import jobs
from annotate.models import Annotation, Project
from tests.test_annotate_views import HTMX, form_data


def closed_port() -> int:
    """A local port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The production cache and session settings, and a Celery app, pointed at a Redis that is not there."""
    url = f"redis://127.0.0.1:{closed_port()}"
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": f"{url}/1",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    # Celery reads CELERY_BROKER_URL (set when the suite runs on Redis) before the broker it is given.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    broker = Celery("redis-down", broker=f"{url}/0", set_as_current=False)
    broker.conf.broker_connection_retry = False
    monkeypatch.setattr(config.celery, "app", broker)
    return url


def test_the_cache_answers_misses_instead_of_errors(redis_down):
    assert cache.get("anything", "fallback") == "fallback"
    assert cache.add("key", 1) is False
    cache.set("key", 1)
    assert cache.get_many(["key"]) == {}
    assert cache.incr("counter", 3) == 3


def test_a_signed_in_annotator_keeps_working_and_the_submit_waits_for_no_broker(
    redis_down, client, project: Project, queue, labels, annotator, django_capture_on_commit_callbacks
):
    Project.objects.filter(pk=project.pk).update(retrain_every=1)
    client.force_login(annotator)
    # The session lives in the database; the cache never had it.
    assert Session.objects.count() == 1

    page = client.get(reverse("annotate", args=[project.pk]))
    assert page.status_code == 200
    data = form_data(page.content, {labels[0]: ("yes", 0.9), labels[1]: ("no", 0.6)})
    url = reverse("annotate-submit", args=[project.pk, queue[0].pk])
    # The submit brings the retrain counter to its threshold: the retrain task cannot be sent.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, data, **HTMX)
    assert response.status_code == 200
    assert len(callbacks) == 1
    assert "Text number 1" in response.content.decode()
    stored = Annotation.objects.get(annotator=annotator)
    assert {j.label_id: j.value for j in stored.judgments.all()} == {labels[0].pk: 1, labels[1].pk: 0}
    # A retry of the same submit stores nothing more.
    assert client.post(url, data, **HTMX).status_code == 200
    assert Annotation.objects.filter(annotator=annotator).count() == 1


def test_a_retrain_the_broker_did_not_take_is_asked_again_by_the_next_answer(
    redis_down, client, project: Project, queue, labels, annotator, django_capture_on_commit_callbacks
):
    """The counter was reset before the send, so a refused send cost a whole retrain_every of answers."""
    Project.objects.filter(pk=project.pk).update(retrain_every=3, annotations_since_retrain=2)
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk]))
    data = form_data(page.content, {labels[0]: ("yes", 0.9)})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, **HTMX)
    assert response.status_code == 200
    project.refresh_from_db()
    assert project.annotations_since_retrain == 2


@pytest.fixture
def hanging_broker(settings, monkeypatch):
    """A Redis broker that takes connections and never answers (a stopped process), with the production settings."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # connections complete in the kernel; nothing ever reads or answers them
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    broker = Celery("redis-hangs", broker=f"redis://127.0.0.1:{listener.getsockname()[1]}/0", set_as_current=False)
    broker.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    broker.conf.task_publish_retry_policy = settings.CELERY_TASK_PUBLISH_RETRY_POLICY
    monkeypatch.setattr(config.celery, "app", broker)
    yield broker
    listener.close()


def test_a_hanging_broker_costs_a_send_seconds_and_then_nothing(hanging_broker, monkeypatch):
    """A send to a stopped Redis hung until gunicorn killed the request (30 s, a bare 500)."""
    started = time.monotonic()
    assert jobs.send(jobs.RETRAIN, project_id=1, trigger="annotations") is False
    # Bounded by the socket timeouts, well inside gunicorn's 30 s.
    assert time.monotonic() - started < 15
    # Right after, the process leaves the broker alone instead of waiting again.
    tried = []
    monkeypatch.setattr(hanging_broker, "send_task", lambda *args, **kwargs: tried.append(args))
    assert jobs.send(jobs.RETRAIN, project_id=1, trigger="annotations") is False
    assert tried == []
    monkeypatch.setattr(jobs, "_broker_failed_at", time.monotonic() - jobs.BROKER_BACKOFF_SECONDS)
    assert jobs.send(jobs.RETRAIN, project_id=1, trigger="annotations") is True
    assert len(tried) == 1


def test_the_login_page_and_dashboard_work_without_the_cache(redis_down, client, project, queue, manager):
    assert client.get(reverse("login")).status_code == 200
    client.force_login(manager)
    assert client.get(reverse("dashboard", args=[project.pk])).status_code == 200


class SwitchableRedis:
    """Stands in for the Redis client behind the cache: a dict that refuses every call while ``down``."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}
        self.down = False

    def _up(self) -> None:
        if self.down:
            raise RedisConnectionError("Connection refused")

    def get(self, key, default=None):
        self._up()
        return copy.deepcopy(self.data.get(key, default))

    def set(self, key, value, timeout):
        self._up()
        self.data[key] = copy.deepcopy(value)

    def delete(self, key):
        self._up()
        return self.data.pop(key, None) is not None

    def delete_many(self, keys):
        self._up()
        for key in keys:
            self.data.pop(key, None)

    def has_key(self, key):
        self._up()
        return key in self.data

    def add(self, key, value, timeout):
        self._up()
        if key in self.data:
            return False
        self.data[key] = copy.deepcopy(value)
        return True

    def get_many(self, keys):
        self._up()
        return {key: copy.deepcopy(self.data[key]) for key in keys if key in self.data}

    def touch(self, key, timeout):
        self._up()
        return key in self.data

    def incr(self, key, delta):
        self._up()
        self.data[key] = self.data.get(key, 0) + delta
        return self.data[key]


def test_a_logout_while_redis_is_away_does_not_come_back_with_redis(
    redis_down, client, project, annotator, monkeypatch
):
    """Redis kept the ended session's copy and served it again once back (issue 16)."""
    monkeypatch.setattr(config.cache, "RETRY_AFTER", 0.0)
    redis = SwitchableRedis()
    caches["default"].__dict__["_cache"] = redis  # in place of the client the cache would connect with
    client.force_login(annotator)
    home = reverse("home")
    assert client.get(home).status_code == 200
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert any(session_key in key for key in redis.data)  # the session is read from Redis

    redis.down = True
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=session_key).exists()
    redis.down = False

    # The old cookie (another tab, or a copy someone kept) no longer signs anyone in.
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    response = client.get(home)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not any(session_key in key for key in redis.data)
