"""Two people publish the same draft at once: one gets the next number, the other is told which version won."""

import pytest

from annotate.models import GuidelineVersion
from annotate.setup.guidelines import PublishedGuidelineError, publish_guideline, save_draft


def test_the_second_publish_of_a_draft_names_the_version_it_became(project, guideline, manager, reviewer):
    draft = save_draft(project=project, text="# Guideline v2", author=manager)
    stale_copy = GuidelineVersion.objects.get(pk=draft.pk)

    publish_guideline(draft=draft, changelog="Sharper billing", author=manager)
    with pytest.raises(PublishedGuidelineError, match=r"Guideline version 2 is published and cannot change\."):
        publish_guideline(draft=stale_copy, changelog="Same draft, other tab", author=reviewer)

    published = GuidelineVersion.objects.get(pk=draft.pk)
    assert (published.number, published.changelog) == (2, "Sharper billing")
    assert GuidelineVersion.objects.filter(project=project).count() == 2
