"""The Label Studio second step of the import page in Chromium: keys found, users mapped, counts shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation
from tests.conftest import login, screenshot

pytestmark = pytest.mark.browser
EXPORT = Path(__file__).parent.parent / "fixtures" / "labelstudio_1x_reviews.json"


def test_label_studio_file_is_confirmed_then_imported(page, project, labels, annotator, second_annotator, manager):
    login(page, "manny")
    page.goto(f"/projects/{project.pk}/import/")
    page.set_input_files("#id_file", str(EXPORT))
    page.click("button.primary")
    step = page.locator("form.labelstudio-step")
    expect(step.locator("h2")).to_contain_text("Label Studio file")
    expect(step.locator(".user-map tbody tr")).to_have_count(2)
    page.select_option("#id_text_key", "review")
    page.select_option("#id_user_0", "annie")
    page.select_option("#id_user_1", "arthur")
    screenshot(page, "import-labelstudio-step")
    step.locator("button.primary").click()
    expect(page.locator("body")).to_contain_text("1 prediction not imported")
    screenshot(page, "import-labelstudio-done")
    assert Annotation.objects.filter(item__project=project).count() == 5
