"""Leases long expired are deleted by the periodic clean-up; live ones and recently expired ones (late answers) stay."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotate import tasks
from annotate.models import Lease
from annotate.work.queue import EXPIRED_LEASE_KEPT, delete_expired_leases


def test_only_leases_expired_longer_than_the_grace_are_deleted(monkeypatch, items, annotator, second_annotator):
    now = timezone.now()
    live = Lease.objects.create(item=items[0], annotator=annotator, expires_at=now + timedelta(minutes=5))
    # Expired an hour ago: its holder's late submit is still kept, so the row must stay.
    recent = Lease.objects.create(item=items[1], annotator=annotator, expires_at=now - timedelta(hours=1))
    old = Lease.objects.create(
        item=items[1], annotator=second_annotator, expires_at=now - EXPIRED_LEASE_KEPT - timedelta(seconds=1)
    )
    monkeypatch.setattr(timezone, "now", lambda: now)

    assert tasks.clean_expired_leases() == 1
    assert set(Lease.objects.values_list("pk", flat=True)) == {live.pk, recent.pk}
    assert not Lease.objects.filter(pk=old.pk).exists()
    # Run twice (two workers, the next turn): nothing more is deleted.
    assert tasks.clean_expired_leases() == 0


def test_a_lease_goes_once_its_grace_has_passed(items, annotator):
    now = timezone.now()
    Lease.objects.create(item=items[0], annotator=annotator, expires_at=now)
    assert delete_expired_leases(now=now + EXPIRED_LEASE_KEPT) == 0
    assert delete_expired_leases(now=now + EXPIRED_LEASE_KEPT + timedelta(seconds=1)) == 1
