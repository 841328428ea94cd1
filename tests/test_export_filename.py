"""The export's file name keeps letters beyond ASCII (RFC 6266/5987), with an ASCII fallback for older clients."""

from __future__ import annotations

from urllib.parse import unquote

from annotate.models import Project
from tests.api_support import api, clear_throttles, client_for  # noqa: F401


def disposition(project, manager, query="format=jsonl"):
    return client_for(manager).get(api(f"/export?{query}", project))["Content-Disposition"]


def test_a_name_beyond_ascii_comes_in_utf8_with_an_ascii_fallback(project, items, manager):
    Project.objects.filter(pk=project.pk).update(name="Ünï Café")
    header = disposition(project, manager)
    fallback, utf8 = header.split("; ")[1:]
    assert header.startswith("attachment; ")
    assert fallback == 'filename="uni-cafe.jsonl"'
    assert utf8.startswith("filename*=UTF-8''") and utf8.isascii()
    assert unquote(utf8.removeprefix("filename*=UTF-8''")) == "ünï-café.jsonl"


def test_other_scripts_keep_their_letters_and_the_fallback_says_project(project, items, manager):
    Project.objects.filter(pk=project.pk).update(name="Отзывы клиентов 2026")
    header = disposition(project, manager, "format=csv")
    assert 'filename="2026.csv"' in header
    assert unquote(header.split("filename*=UTF-8''")[1]) == "отзывы-клиентов-2026.csv"
    Project.objects.filter(pk=project.pk).update(name="顧客")
    assert 'filename="project.jsonl"' in disposition(project, manager)


def test_an_ascii_name_is_sent_once_as_before(project, items, manager):
    assert disposition(project, manager) == 'attachment; filename="support-inbox.jsonl"'
