"""Pages show people by name (full name, else username); the API and exports keep the stable usernames."""

from __future__ import annotations

from django.urls import reverse

from annotate.models import record_audit
from tests.api_support import api, client_for
from tests.factories import annotate_item


def test_members_and_audit_pages_show_full_names_and_the_api_keeps_usernames(
    client, project, items, labels, annotator, manager
):
    annotator.first_name, annotator.last_name = "Annie", "Lindqvist"
    annotator.save()
    manager.first_name = "Manfred"
    manager.save()
    record_audit(action="member.role", actor=manager, project=project)
    annotate_item(items[0], annotator, {labels[0]: 1})
    client.force_login(manager)

    members = client.get(reverse("members", args=[project.pk])).content.decode()
    assert "Annie Lindqvist" in members
    audit = client.get(reverse("audit", args=[project.pk])).content.decode()
    assert "<td>Manfred</td>" in audit
    assert '<option value="manny">Manfred</option>' in audit
    assert client.get(reverse("audit", args=[project.pk]), {"actor": "manny"}).status_code == 200

    rows = client_for(manager).get(api("/annotations", project)).json()["results"]
    assert [row["annotator"] for row in rows] == ["annie"]
    exported = b"".join(
        client_for(manager).get(api("/export", project), {"include_judgments": "true"}).streaming_content
    )
    assert b"annie" in exported and b"Lindqvist" not in exported


def test_the_guideline_history_names_its_authors(client, project, annotator, manager):
    from tests.factories import make_guideline

    manager.first_name, manager.last_name = "Manfred", "Ost"
    manager.save()
    make_guideline(project, 1, author=manager)
    client.force_login(annotator)
    page = client.get(reverse("guideline", args=[project.pk])).content.decode()
    assert "Manfred Ost" in page
