"""Bad or extreme dates in the audit filters are a form error (400), never a server error (QA A5a)."""

from __future__ import annotations

import pytest

from annotate.models import record_audit


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("until", "9999-12-31", "Until: choose a day between"),
        ("since", "9999-12-31", "From: choose a day between"),
        ("since", "0001-01-01", "From: choose a day between"),
        ("until", "2026-02-30", "is not a date"),
    ],
)
def test_an_out_of_range_or_bad_date_is_a_form_error(client, project, manager, field, value, message):
    record_audit(action="label.add", actor=manager, project=project, after={"name": "refund"})
    client.force_login(manager)

    response = client.get(f"/projects/{project.pk}/audit/", {field: value})

    html = response.content.decode()
    assert response.status_code == 400
    assert message in html and 'role="alert"' in html
    assert "0 events" in html  # the unfiltered trail is not passed off as the answer


def test_the_last_allowed_day_still_filters(client, project, manager):
    record_audit(action="label.add", actor=manager, project=project, after={"name": "refund"})
    client.force_login(manager)
    response = client.get(f"/projects/{project.pk}/audit/", {"since": "1900-01-01", "until": "9998-12-31"})
    assert response.status_code == 200
    assert "1 event" in response.content.decode()
