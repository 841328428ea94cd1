"""Resolutions through the API: a stale `expected` state is refused with 409, and a left-out note is kept."""

from __future__ import annotations

import pytest

from annotate.models import Resolution
from tests.api_support import api, clear_throttles, client_for  # noqa: F401


def resolve(user, project, body):
    return client_for(user).post(api("/resolutions", project), body, format="json")


@pytest.mark.django_db
def test_a_decision_made_meanwhile_is_not_overwritten(project, labels, items, reviewer, manager):
    body = {"item": items[0].pk, "label": labels[0].pk}
    first = resolve(manager, project, body | {"value": 1, "expected": "none"})
    assert first.status_code == 201
    seen = first.json()["state"]

    # The reviewer still believes nobody decided.
    stale = resolve(reviewer, project, body | {"value": 0, "expected": "none"})

    assert stale.status_code == 409
    assert stale.json()["current"]["value"] == 1
    assert Resolution.objects.get().value == 1
    again = resolve(reviewer, project, body | {"value": 0, "expected": seen})
    assert again.status_code == 200 and Resolution.objects.get().value == 0


@pytest.mark.django_db
def test_a_left_out_note_keeps_the_existing_one(project, labels, items, reviewer):
    client = client_for(reviewer)
    body = {"item": items[0].pk, "label": labels[0].pk}
    client.post(api("/resolutions", project), body | {"value": 1, "note": "guideline 3.2"}, format="json")

    client.post(api("/resolutions", project), body | {"value": 0}, format="json")
    assert Resolution.objects.get().note == "guideline 3.2"
    client.post(api("/resolutions", project), body | {"value": 0, "note": ""}, format="json")
    assert Resolution.objects.get().note == ""


@pytest.mark.django_db
@pytest.mark.parametrize("expected", ["garbage", "2@2026-01-01T00:00:00+00:00", "1@yesterday"])
def test_a_malformed_expected_state_is_a_400_not_a_conflict(project, labels, items, reviewer, expected):
    body = {"item": items[0].pk, "label": labels[0].pk, "value": 1, "expected": expected}
    answer = resolve(reviewer, project, body)
    assert answer.status_code == 400
    assert "expected" in answer.json()
    assert not Resolution.objects.exists()
