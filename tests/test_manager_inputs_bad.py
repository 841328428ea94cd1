"""Malformed manager inputs answer 400 with the reason and change nothing (they were 500s)."""

import pytest
from django.urls import reverse

from annotate.models import AuditEvent, Label


@pytest.mark.parametrize("field", ["action", "actor"])
def test_an_audit_filter_with_a_nul_byte_is_a_400(client, project, manager, field):
    client.force_login(manager)
    response = client.get(reverse("audit", args=[project.pk]), {field: "label.add\x00"})
    assert response.status_code == 400
    assert "contains a NUL character" in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [{"target": "abc"}, {"target": "1.5"}, {"target": "{target}", "confirm": "1", "expected": "{not json"}],
)
def test_a_label_merge_with_a_bad_target_or_bad_counts_is_a_400(client, project, labels, manager, data):
    shipping, refund, *_ = labels
    client.force_login(manager)
    data = {key: value.replace("{target}", str(refund.pk)) for key, value in data.items()}
    response = client.post(reverse("label-merge", args=[project.pk, shipping.pk]), data)
    assert response.status_code == 400
    assert Label.objects.get(pk=shipping.pk).merged_into is None
    assert not AuditEvent.objects.filter(action="label.merge").exists()
