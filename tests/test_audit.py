"""Every audited action of guidelines, label set and members writes exactly one event with correct before/after.

And the trail is append-only for instances as well as querysets, while
deleting a project keeps its events (with the project set to NULL).
"""

from __future__ import annotations

import pytest

from annotate.models import AuditEvent, Membership, Project, Role, record_audit
from annotate.setup.guidelines import publish_guideline, save_draft
from annotate.setup.labelset import (
    LabelSetError,
    add_label,
    merge_labels,
    move_label,
    retire_label,
    set_label_rules,
    update_label,
)
from annotate.setup.members import MembershipError, add_member, change_role, remove_member
from tests.factories import make_user


def only_event(action):
    """The one event written since the test started, asserting there is exactly one."""
    events = list(AuditEvent.objects.all())
    assert [event.action for event in events] == [action]
    return events[0]


def test_guideline_publish(project, reviewer):
    draft = save_draft(project=project, text="Rules", author=reviewer)
    publish_guideline(draft=draft, changelog="First", author=reviewer)
    event = only_event("guideline.publish")
    assert (event.actor, event.project, event.before) == (reviewer, project, {"number": None})
    assert event.after == {"number": 1, "changelog": "First", "text": "Rules"}


def test_label_add(project, guideline, manager):
    label = add_label(project=project, actor=manager, name="warranty", color="#aa0000", shortcut_key="w")
    event = only_event("label.add")
    assert (event.actor, event.object_type, event.object_id, event.before) == (
        manager,
        "annotate.Label",
        str(label.pk),
        None,
    )
    assert event.after == {
        "id": label.pk,
        "name": "warranty",
        "description": "",
        "color": "#aa0000",
        "shortcut_key": "w",
        "order": 1,
        "introduced_in": 1,
        "retired_in": None,
        "merged_into": None,
    }


def test_label_update_records_only_changed_fields(project, labels, manager):
    shipping = labels[0]
    update_label(label=shipping, actor=manager, name="delivery", color="#4c78a8", shortcut_key="d")
    event = only_event("label.update")
    assert event.before == {"name": "shipping", "shortcut_key": "1"}
    assert event.after == {"name": "delivery", "shortcut_key": "d"}
    shipping.refresh_from_db()
    assert (shipping.pk, shipping.name) == (labels[0].pk, "delivery")
    # No change, no event.
    update_label(label=shipping, actor=manager, name="delivery")
    assert AuditEvent.objects.count() == 1


def test_label_update_refuses_a_taken_name_or_key(project, labels, manager):
    with pytest.raises(LabelSetError):
        update_label(label=labels[0], actor=manager, name="Refund")
    with pytest.raises(LabelSetError):
        update_label(label=labels[0], actor=manager, shortcut_key="2")
    with pytest.raises(LabelSetError):
        update_label(label=labels[0], actor=manager, color="red")
    assert not AuditEvent.objects.exists()


def test_label_reorder(project, labels, manager):
    move_label(label=labels[2], actor=manager, step=-1)
    event = only_event("label.reorder")
    assert event.before == {"shipping": 0, "refund": 1, "billing": 2, "bug": 3, "praise": 4}
    assert event.after == {"shipping": 1, "billing": 2, "refund": 3, "bug": 4, "praise": 5}
    assert [label.name for label in project.active_labels()] == ["shipping", "billing", "refund", "bug", "praise"]


def test_label_rules(project, labels, manager):
    _shipping, refund, billing, _bug, praise = labels
    set_label_rules(label=refund, actor=manager, implies=[billing], excludes=[praise])
    event = only_event("label.rules")
    assert event.before == {"implies": [], "excludes": []}
    assert event.after == {"implies": ["billing"], "excludes": ["praise"]}
    assert list(praise.excludes.all()) == [refund]  # excludes is symmetric
    with pytest.raises(LabelSetError):
        set_label_rules(label=refund, actor=manager, implies=[billing], excludes=[billing])
    with pytest.raises(LabelSetError):
        set_label_rules(label=refund, actor=manager, implies=[refund], excludes=[])
    assert AuditEvent.objects.count() == 1


def test_label_retire(project, labels, guideline, manager):
    retire_label(label=labels[4], actor=manager)
    event = only_event("label.retire")
    assert (event.before["retired_in"], event.after["retired_in"]) == (None, 1)
    assert event.after["name"] == "praise"
    assert labels[4] not in project.active_labels()
    with pytest.raises(LabelSetError):
        retire_label(label=labels[4], actor=manager)


def test_label_merge(project, labels, manager):
    merge_labels(source=labels[1], target=labels[2], actor=manager)
    event = only_event("label.merge")
    assert event.before["source"]["merged_into"] is None
    assert event.after["source"]["merged_into"] == labels[2].pk
    assert event.after["counts"]["positives_moved"] == 0


def test_member_add_role_remove(project, manager):
    newcomer = make_user("nina")
    membership = add_member(project=project, username="nina", role=Role.ANNOTATOR, actor=manager)
    event = only_event("member.add")
    assert (event.before, event.after) == (None, {"user": "nina", "user_id": newcomer.pk, "role": "annotator"})

    change_role(membership=membership, role=Role.REVIEWER, actor=manager)
    event = AuditEvent.objects.filter(action="member.role").get()
    assert (event.before["role"], event.after["role"]) == ("annotator", "reviewer")

    remove_member(membership=membership, actor=manager)
    event = AuditEvent.objects.filter(action="member.remove").get()
    assert (event.before, event.after) == ({"user": "nina", "user_id": newcomer.pk, "role": "reviewer"}, None)
    assert not Membership.objects.filter(user=newcomer).exists()
    assert AuditEvent.objects.count() == 3


def test_member_changes_refused_without_an_event(project, manager, annotator):
    with pytest.raises(MembershipError):
        add_member(project=project, username="nobody", role=Role.ANNOTATOR, actor=manager)
    with pytest.raises(MembershipError):
        add_member(project=project, username="annie", role=Role.REVIEWER, actor=manager)
    own = Membership.objects.get(project=project, user=manager)
    with pytest.raises(MembershipError):
        change_role(membership=own, role=Role.REVIEWER, actor=manager)  # the last manager
    with pytest.raises(MembershipError):
        remove_member(membership=own, actor=manager)
    assert not AuditEvent.objects.exists()


def test_the_trail_is_append_only(project, manager):
    event = record_audit(action="test", actor=manager, project=project, after={"x": 1})
    event.action = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get().action == "test"


def test_deleting_a_project_keeps_its_events(project, manager):
    record_audit(action="test", actor=manager, project=project)
    Project.objects.filter(pk=project.pk).delete()
    event = AuditEvent.objects.get()
    assert (event.project, event.actor) == (None, manager)
