"""A retired label can be brought back from the Labels page: previewed, audited, its old answers counting again."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import AuditEvent, Judgment, Label
from annotate.setup.labelset import LabelSetError, merge_labels, restore_label, retire_label
from tests.factories import annotate_item


def test_a_retired_label_is_brought_back_after_a_preview_and_audited(
    client, project, labels, items, guideline, manager
):
    praise = labels[4]
    annotate_item(items[0], manager, {praise: 1})
    retire_label(label=praise, actor=manager)
    client.force_login(manager)
    page = client.get(reverse("labels", args=[project.pk])).content.decode()
    assert 'aria-label="Bring back praise">Bring back…</button>' in page

    url = reverse("label-restore", args=[project.pk, praise.pk])
    preview = client.post(url).content.decode()
    assert "Bringing back “praise”" in preview and "1 positive and 0 negative answers" in preview
    assert "stay unobserved" in preview
    assert not Label.objects.get(pk=praise.pk).is_active  # nothing changes before the confirm

    response = client.post(url, {"confirm": "1"})
    assert response.status_code == 302
    praise.refresh_from_db()
    assert praise.is_active and praise.retired_in is None
    assert praise in project.active_labels()
    event = AuditEvent.objects.get(action="label.restore")
    assert (event.actor, event.before["retired_in"], event.after["retired_in"]) == (manager, 1, None)
    assert Judgment.objects.filter(label=praise).count() == 1  # the old answer is kept, no row added


def test_its_key_is_dropped_if_another_active_label_took_it(project, labels, guideline, manager):
    bug, praise = labels[3], labels[4]
    retire_label(label=praise, actor=manager)
    Label.objects.filter(pk=bug.pk).update(shortcut_key=praise.shortcut_key)
    restored = restore_label(label=praise, actor=manager)
    assert restored.is_active and restored.shortcut_key == ""


def test_an_active_or_merged_label_cannot_be_brought_back(client, project, labels, guideline, manager):
    shipping, refund, billing, *_ = labels
    with pytest.raises(LabelSetError, match="is not retired"):
        restore_label(label=shipping, actor=manager)
    merge_labels(source=refund, target=billing, actor=manager)
    with pytest.raises(LabelSetError, match="was merged into “billing”"):
        restore_label(label=refund, actor=manager)
    client.force_login(manager)
    assert client.post(reverse("label-restore", args=[project.pk, refund.pk]), {"confirm": "1"}).status_code == 302
    assert not Label.objects.get(pk=refund.pk).is_active
    assert not AuditEvent.objects.filter(action="label.restore").exists()


def test_only_managers_bring_labels_back(client, project, labels, guideline, reviewer, manager):
    praise = labels[4]
    retire_label(label=praise, actor=manager)
    client.force_login(reviewer)
    assert client.post(reverse("label-restore", args=[project.pk, praise.pk]), {"confirm": "1"}).status_code == 403
    assert not Label.objects.get(pk=praise.pk).is_active
