"""A guideline or changelog over its limit is refused with the reason, never cut to fit and saved."""

import pytest
from django.urls import reverse

from annotate.models import GuidelineVersion
from annotate.setup.guidelines import MAX_CHANGELOG, MAX_TEXT


@pytest.mark.parametrize(
    ("action", "text", "changelog", "message"),
    [
        ("save", "x" * (MAX_TEXT + 1), "", "the limit is 200,000. Nothing was saved."),
        ("publish", "# Fine", "y" * (MAX_CHANGELOG + 1), "the limit is 500. Nothing was saved."),
    ],
)
def test_an_over_long_guideline_or_changelog_is_refused(
    client, project, guideline, manager, action, text, changelog, message
):
    client.force_login(manager)
    before = list(GuidelineVersion.objects.values_list("pk", "number", "text"))
    response = client.post(
        reverse("guideline-edit", args=[project.pk]), {"action": action, "text": text, "changelog": changelog}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(GuidelineVersion.objects.values_list("pk", "number", "text")) == before
