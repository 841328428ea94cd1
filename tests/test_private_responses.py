"""Signed-in pages, API answers and exports are never cached; static files still are (issue 16)."""

from django.urls import reverse

from tests.api_support import api, client_for


def test_a_signed_in_page_and_an_api_answer_are_not_stored(client, project, annotator, manager):
    client.force_login(annotator)
    page = client.get(reverse("project", args=[project.pk]))
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert "camera=()" in page["Permissions-Policy"]
    answer = client_for(manager).get(api("/export", project), {"format": "jsonl"})
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"


def test_static_files_keep_their_own_caching(client, annotator):
    client.force_login(annotator)
    answer = client.get("/static/css/annotate.css")
    assert answer.status_code == 200
    assert answer["Cache-Control"] != "no-store"
