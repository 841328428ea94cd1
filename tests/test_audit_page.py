"""The audit page: managers browse the project's trail, filtered by action, actor and date, a page at a time."""

from __future__ import annotations

import datetime
import re

from django.urls import reverse
from django.utils import timezone

from annotate.models import AuditEvent, record_audit
from annotate.views.audit import PAGE_SIZE


def test_filters_by_action_actor_and_date(client, project, other_project, manager, reviewer):
    record_audit(action="label.add", actor=manager, project=project, after={"name": "refund"})
    record_audit(action="guideline.publish", actor=reviewer, project=project, after={"number": 2})
    record_audit(action="label.add", actor=manager, project=other_project, after={"name": "secret-label"})
    client.force_login(manager)
    url = reverse("audit", args=[project.pk])

    html = client.get(url).content.decode()
    assert "2 events" in html and "secret-label" not in html
    assert "&quot;name&quot;: &quot;refund&quot;" in html

    html = client.get(url, {"action": "guideline.publish"}).content.decode()
    assert "1 event" in html and "&quot;number&quot;: 2" in html and "refund" not in html.split("<tbody>")[1]

    html = client.get(url, {"actor": "manny"}).content.decode()
    assert "1 event" in html and "label.add</code>" in html

    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    assert "0 events" in client.get(url, {"since": tomorrow}).content.decode()
    assert "2 events" in client.get(url, {"until": timezone.localdate().isoformat()}).content.decode()
    # A bad date is a form error, not a silently dropped filter (see tests/test_audit_dates.py).
    assert client.get(url, {"since": "not a date"}).status_code == 400


def test_each_row_reads_as_a_one_line_change(client, project, manager):
    record_audit(
        action="label.update",
        actor=manager,
        project=project,
        before={"name": "shipping", "shortcut_key": "1"},
        after={"name": "delivery", "shortcut_key": "d"},
    )
    record_audit(action="member.add", actor=manager, project=project, after={"user": "nina", "role": "reviewer"})
    client.force_login(manager)
    html = client.get(reverse("audit", args=[project.pk])).content.decode()
    assert "name: shipping → delivery; shortcut_key: 1 → d" in html
    assert "role: reviewer; user: nina" in html


def test_pages_through_a_long_trail(client, project, manager):
    AuditEvent.objects.bulk_create(
        [AuditEvent(action="test", project=project, after={"n": n}) for n in range(PAGE_SIZE + 5)]
    )
    client.force_login(manager)
    url = reverse("audit", args=[project.pk])
    first = client.get(url, {"action": "test"}).content.decode()
    assert "Page 1 of 2" in first and "action=test&amp;page=2" in first
    second = client.get(url, {"action": "test", "page": 2}).content.decode()
    assert second.count("<tr>") == 1 + 5  # the header row and the five oldest events


def test_people_read_as_names_and_lists_as_their_items(client, project, manager, annotator):
    """The page showed "auth.User #8" and "user_id: 8", and a change of skip reasons had no summary (issue 14)."""
    from annotate.setup.accounts import deactivate_person
    from annotate.setup.members import change_role
    from annotate.setup.project_settings import change_settings

    annotator.first_name, annotator.last_name = "Annie", "Example"
    annotator.save()
    change_role(membership=annotator.memberships.get(), role="reviewer", actor=manager)
    deactivate_person(person=annotator, actor=manager)
    change_settings(project=project, actor=manager, changes={"skip_reasons": ["unclear", "spam"]})
    client.force_login(manager)
    html = client.get(reverse("audit", args=[project.pk])).content.decode()
    rows = html.split("<tbody>")[1]
    summaries = re.findall(r'<div class="summary">(.*?)</div>', rows)
    assert summaries and not any("user_id" in line for line in summaries)
    assert "auth.User #" not in rows
    assert "Person: Annie Example" in rows
    assert "Membership of Annie Example" in rows
    assert "skip_reasons: unclear, not in English, spam → unclear, spam" in rows


def test_a_decision_names_its_reviewer(client, project, items, labels, manager, reviewer):
    """A resolution.set row read "reviewer_id: 7"; it names the reviewer, and a second reviewer's change shows both."""
    from annotate.curation.review import set_resolution

    reviewer.first_name, reviewer.last_name = "Rita", "Reviewer"
    reviewer.save()
    set_resolution(item=items[0], label=labels[0], value=1, note="", reviewer=reviewer)
    set_resolution(item=items[0], label=labels[0], value=0, note="", reviewer=manager)
    client.force_login(manager)
    rows = client.get(reverse("audit", args=[project.pk])).content.decode().split("<tbody>")[1]
    summaries = re.findall(r'<div class="summary">(.*?)</div>', rows)
    assert not any("reviewer_id" in line for line in summaries)
    assert any("reviewer: Rita Reviewer → manny" in line for line in summaries), summaries
    assert any("reviewer: Rita Reviewer" in line and "→" not in line.split("reviewer:")[1] for line in summaries)
