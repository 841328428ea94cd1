"""The project resources: roles per endpoint, other projects are 404, cursor pagination, audited changes."""

from __future__ import annotations

import pytest

from annotate.models import AuditEvent, Item, Membership, QueueEntry, Resolution, Role
from tests.api_support import api, clear_throttles, client_for  # noqa: F401
from tests.factories import annotate_item, make_guideline, make_items


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "minimum"),
    [
        ("", "annotator"),
        ("/labels", "annotator"),
        ("/guidelines", "annotator"),
        ("/annotations", "annotator"),
        ("/items", "reviewer"),
        ("/resolutions", "reviewer"),
        ("/export", "reviewer"),
        ("/members", "manager"),
        ("/audit", "manager"),
        ("/imports", "manager"),
    ],
)
def test_roles_per_endpoint(project, labels, guideline, annotator, reviewer, manager, outsider, path, minimum):
    ranks = {"annotator": 1, "reviewer": 2, "manager": 3}
    for user, role in [(annotator, "annotator"), (reviewer, "reviewer"), (manager, "manager")]:
        expected = 200 if ranks[role] >= ranks[minimum] else 403
        assert client_for(user).get(api(path, project)).status_code == expected, (role, path)
    # A member of another project learns nothing, not even that this one exists.
    assert client_for(outsider).get(api(path, project)).status_code == 404


@pytest.mark.django_db
def test_objects_of_another_project_are_404(project, other_project, labels, items, manager):
    foreign = make_items(other_project, 1, prefix="foreign")[0]
    client = client_for(manager)
    assert client.get(api(f"/items/{items[0].pk}", project)).status_code == 200
    assert client.get(api(f"/items/{foreign.pk}", project)).status_code == 404
    assert client.get(api(f"/items/{2**70}", project)).status_code == 404
    assert client.get(f"/api/projects/{2**70}").status_code == 404


@pytest.mark.django_db
def test_lists_use_cursor_pagination(project, manager):
    make_items(project, 7)
    client = client_for(manager)
    page = client.get(api("/items?page_size=3", project)).json()
    seen = [row["external_id"] for row in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [row["external_id"] for row in page["results"]]
    assert seen == [f"item-{n}" for n in range(7)]
    assert "cursor=" in client.get(api("/items?page_size=3", project)).json()["next"]


@pytest.mark.django_db
def test_annotators_see_only_their_own_annotations(project, labels, items, annotator, second_annotator, reviewer):
    annotate_item(items[0], annotator, {labels[0]: 1, labels[1]: (0, 0.6)})
    annotate_item(items[0], second_annotator, {labels[0]: 0})
    mine = client_for(annotator).get(api("/annotations", project)).json()["results"]
    assert [a["annotator"] for a in mine] == ["annie"]
    # Only answered labels have judgments: the other three are unobserved.
    assert mine[0]["judgments"] == [
        {"label": labels[0].pk, "label_name": "shipping", "value": 1, "confidence": 1.0},
        {"label": labels[1].pk, "label_name": "refund", "value": 0, "confidence": 0.6},
    ]
    everyone = client_for(reviewer).get(api(f"/annotations?item={items[0].pk}", project)).json()["results"]
    assert sorted(a["annotator"] for a in everyone) == ["annie", "arthur"]
    other = next(a for a in everyone if a["annotator"] == "arthur")
    assert client_for(annotator).get(api(f"/annotations/{other['id']}", project)).status_code == 404


@pytest.mark.django_db
def test_guideline_drafts_are_for_reviewers(project, guideline, annotator, reviewer):
    make_guideline(project, None, published=False)
    assert len(client_for(annotator).get(api("/guidelines", project)).json()["results"]) == 1
    assert len(client_for(reviewer).get(api("/guidelines", project)).json()["results"]) == 2


@pytest.mark.django_db
def test_managers_change_settings_and_roles_with_audit(project, annotator, reviewer, manager):
    client = client_for(manager)
    answer = client.patch(api("", project), {"overlap_count": 3, "default_confidence": 0.7}, format="json")
    assert answer.status_code == 200 and answer.json()["overlap_count"] == 3
    assert AuditEvent.objects.get(action="project.settings").before == {"overlap_count": 2, "default_confidence": 0.8}
    assert client.patch(api("", project), {"overlap_fraction": 2}, format="json").status_code == 400
    assert client_for(reviewer).patch(api("", project), {"overlap_count": 1}, format="json").status_code == 403

    answer = client.patch(api(f"/members/{annotator.pk}", project), {"role": "reviewer"}, format="json")
    assert answer.status_code == 200 and answer.json()["role"] == "reviewer"
    assert Membership.objects.get(user=annotator).role == Role.REVIEWER
    event = AuditEvent.objects.get(action="member.role")
    assert (event.before["role"], event.after["role"], event.actor) == ("annotator", "reviewer", manager)
    # The last manager cannot step down.
    assert client.patch(api(f"/members/{manager.pk}", project), {"role": "annotator"}, format="json").status_code == 409


@pytest.mark.django_db
def test_items_are_created_by_managers_and_queued(project, reviewer, manager):
    body = {"external_id": "new-1", "text": "Hello", "metadata": {"source": "api"}}
    assert client_for(reviewer).post(api("/items", project), body, format="json").status_code == 403
    answer = client_for(manager).post(api("/items", project), body, format="json")
    assert answer.status_code == 201
    item = Item.objects.get(pk=answer.json()["id"])
    assert QueueEntry.objects.filter(item=item).exists()
    assert client_for(manager).post(api("/items", project), body, format="json").status_code == 409


@pytest.mark.django_db
def test_resolutions_create_then_update_with_audit(project, other_project, labels, items, annotator, reviewer):
    client = client_for(reviewer)
    body = {"item": items[0].pk, "label": labels[3].pk, "value": 1, "note": "Clearly a bug."}
    assert client_for(annotator).post(api("/resolutions", project), body, format="json").status_code == 403
    created = client.post(api("/resolutions", project), body, format="json")
    assert created.status_code == 201 and created.json()["reviewer"] == "rita"
    updated = client.post(api("/resolutions", project), body | {"value": 0}, format="json")
    assert updated.status_code == 200 and updated.json()["id"] == created.json()["id"]
    assert Resolution.objects.get().value == 0
    events = list(AuditEvent.objects.filter(action="resolution.set").order_by("id"))
    assert events[0].before is None
    assert (events[1].before["value"], events[1].after["value"]) == (1, 0)
    foreign_item = make_items(other_project, 1, prefix="f")[0]
    answer = client.post(api("/resolutions", project), body | {"item": foreign_item.pk}, format="json")
    assert answer.status_code == 404 and "No such item" in answer.json()["detail"]
    listed = client.get(api("/resolutions", project)).json()["results"]
    assert [r["label_name"] for r in listed] == ["bug"]


@pytest.mark.django_db
def test_audit_events_for_managers_newest_first(project, manager):
    client = client_for(manager)
    client.patch(api("", project), {"retrain_every": 10}, format="json")
    client.patch(api("", project), {"retrain_every": 20}, format="json")
    events = client.get(api("/audit", project)).json()["results"]
    assert [e["after"] for e in events] == [{"retrain_every": 20}, {"retrain_every": 10}]
    assert events[0]["actor"] == "manny"
