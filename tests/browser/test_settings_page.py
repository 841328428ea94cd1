"""A manager switches the project to focus labels on the settings page, in Chromium."""

import pytest
from playwright.sync_api import expect

from annotate.models import AskMode, Project
from tests.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_a_manager_chooses_focus_labels(page, project, labels, manager):
    login(page, "manny")
    page.goto(f"/projects/{project.pk}/settings/")
    page.get_by_label("The model's focus labels").check()
    page.get_by_label("Focus labels per item").fill("4")
    screenshot(page, "settings-1280")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".messages, [role=status], .message").first).to_contain_text("Saved")
    project = Project.objects.get(pk=project.pk)
    assert (project.ask_mode, project.focus_size) == (AskMode.FOCUS, 4)
