"""Reloading an address that only takes a form's POST shows a page, not Django's empty 405 (issue 14)."""

from __future__ import annotations

from django.urls import reverse


def test_a_browser_gets_a_page_with_the_status_and_allow_header(client, project, reviewer):
    client.force_login(reviewer)
    response = client.get(reverse("review-resolve", args=[project.pk]))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert "only takes the submission of a form" in html
    assert f'href="{reverse("home")}"' in html


def test_logged_out_the_logout_address_says_so_too(client):
    response = client.get(reverse("logout"))
    assert response.status_code == 405
    assert "only takes the submission of a form" in response.content.decode()


def test_the_api_and_htmx_keep_their_own_answers(client, project, reviewer):
    client.force_login(reviewer)
    htmx = client.get(reverse("review-resolve", args=[project.pk]), HTTP_HX_REQUEST="true")
    assert htmx.status_code == 405 and htmx.content == b""
    api = client.delete(f"/api/projects/{project.pk}/export")
    assert api.status_code == 405
    assert api["Content-Type"].startswith("application/json")
