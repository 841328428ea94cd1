"""A missing page or a refused one is a page of the app (top bar, a way back), never the server's bare text."""

from django.test import Client
from django.urls import reverse

from tests.factories import make_user


def test_a_missing_page_keeps_the_top_bar_and_a_way_home(client, db):
    client.force_login(make_user("nora", first_name="Nora", last_name="Quist"))
    response = client.get("/projects/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Page not found</h1>" in html
    assert "Nora Quist" in html  # the top bar, with the log-out button
    assert f'href="{reverse("home")}">Your projects</a>' in html


def test_a_page_the_role_does_not_allow_says_so(client, project, annotator):
    client.force_login(annotator)
    response = client.get(reverse("project-settings", args=[project.pk]))
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Not allowed</h1>" in html
    assert f'href="{reverse("home")}">Your projects</a>' in html


def test_the_api_still_answers_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_expired_form_gets_a_page_that_says_what_to_do(db):
    """A login form sent without its token showed Django's stock page ("More information ... with DEBUG=True")."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "annie", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form has expired" in html and "reload the page and send it again" in html
    assert "DEBUG" not in html and 'class="topbar"' in html


def test_a_form_from_an_untrusted_address_says_reloading_will_not_help(db):
    client = Client(enforce_csrf_checks=True)
    token = client.get(reverse("login")).cookies["csrftoken"].value
    response = client.post(
        reverse("login"),
        {"username": "annie", "password": "x", "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="https://elsewhere.example",
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "does not trust" in html and "CSRF_TRUSTED_ORIGINS" in html and "reload the page" not in html
