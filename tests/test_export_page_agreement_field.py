"""The export page's minimum-agreement field takes any share in [0, 1], such as 0.33 or 0.125."""

from __future__ import annotations

import re

from django.urls import reverse


def test_min_agreement_accepts_any_value_between_0_and_1(client, project, labels, reviewer):
    client.force_login(reviewer)
    html = client.get(reverse("export", args=[project.pk])).content.decode()
    field = re.search(r'<input[^>]*name="min_agreement"[^>]*>', html).group(0)
    # A step of 0.05 made the browser refuse 0.33 and 0.67 before the form was sent.
    assert 'step="any"' in field
    assert 'min="0"' in field and 'max="1"' in field
