"""With the database unreachable pages answer a clear 503 (htmx: a message in place), /healthz 503; then it recovers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from annotate.models import Annotation
from config.views import DATABASE_UNAVAILABLE_MESSAGE
from tests.test_annotate_views import HTMX, form_data

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Outage:
    """Point the connection at a database that is not there, and back."""

    def __init__(self) -> None:
        self.saved = dict(connection.settings_dict)

    def start(self) -> None:
        connection.close()
        if connection.vendor == "sqlite":
            connection.settings_dict["NAME"] = "/nonexistent/folder/tagwise.sqlite3"
        else:
            connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))

    def end(self) -> None:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(self.saved)


@pytest.fixture
def outage() -> Iterator[Outage]:
    down = Outage()
    yield down
    down.end()


@pytest.fixture
def browser() -> Client:
    """A client that gets the error page a browser would, instead of the exception re-raised into the test."""
    return Client(raise_request_exception=False)


def test_healthz_answers_503_while_the_database_is_away_and_200_after(browser, outage):
    outage.start()
    response = browser.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "database unavailable"})
    outage.end()
    assert browser.get("/healthz").status_code == 200


def test_a_signed_in_page_answers_the_503_page_then_recovers_by_itself(browser, project, queue, annotator, outage):
    browser.force_login(annotator)
    url = reverse("annotate", args=[project.pk])
    outage.start()
    response = browser.get(url)
    assert response.status_code == 503
    html = response.content.decode()
    assert DATABASE_UNAVAILABLE_MESSAGE in html and "<html" in html
    assert "Server Error (500)" not in html
    assert response.headers["Retry-After"] == "5"
    outage.end()
    # The same session, no restart: the database is back and the page works.
    assert browser.get(url).status_code == 200


def test_an_htmx_submit_gets_a_message_in_place_and_the_same_answers_store_once_after(
    browser, project, queue, labels, annotator, outage
):
    browser.force_login(annotator)
    page = browser.get(reverse("annotate", args=[project.pk])).content
    data = form_data(page, {labels[0]: ("yes", 0.9), labels[2]: ("no", 0.7)})
    url = reverse("annotate-submit", args=[project.pk, queue[0].pk])
    outage.start()
    response = browser.post(url, data, **HTMX)
    assert response.status_code == 503
    html = response.content.decode()
    assert html.startswith('<div class="form-error" role="alert">') and DATABASE_UNAVAILABLE_MESSAGE in html
    outage.end()
    assert Annotation.objects.count() == 0
    # The page kept the answers; sending them again stores them once.
    assert browser.post(url, data, **HTMX).status_code == 200
    assert browser.post(url, data, **HTMX).status_code == 200
    assert Annotation.objects.get(annotator=annotator).judgments.count() == 2


def test_the_api_answers_json_503(browser, project, annotator, outage):
    browser.force_login(annotator)
    outage.start()
    response = browser.get("/api/projects/")
    assert response.status_code == 503
    assert response.json() == {"detail": DATABASE_UNAVAILABLE_MESSAGE}


def test_a_bug_is_still_a_500(browser, monkeypatch, project, labels, annotator):
    """Only a lost database is a 503; any other error keeps the plain 500."""
    from annotate.views import annotating

    def broken(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(annotating, "next_item", broken)
    browser.force_login(annotator)
    assert browser.get(reverse("annotate", args=[project.pk])).status_code == 500


def test_the_500_handler_answers_503_for_a_database_error_raised_outside_a_view(rf):
    """A middleware that reads the session or the user hits the database before any view: the 500 handler answers."""
    from django.db import OperationalError

    from config.views import server_error

    request = rf.get("/projects/1/annotate/", HTTP_HX_REQUEST="true")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert DATABASE_UNAVAILABLE_MESSAGE in response.content.decode()
    try:
        raise ZeroDivisionError
    except ZeroDivisionError:
        assert server_error(rf.get("/")).status_code == 500
