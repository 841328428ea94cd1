"""The import page, the export page and the token page in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate.models import ImportJob, Item
from tests.conftest import login, screenshot

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_bad_file_errors_then_a_job_that_stops_polling(page, project, labels, annotator, manager):
    job = ImportJob.objects.create(
        project=project,
        created_by=manager,
        format="jsonl",
        path="/nonexistent",
        total=200,
        processed=80,
        status=ImportJob.Status.RUNNING,
    )
    login(page, "manny")
    page.goto(f"/projects/{project.pk}/import/")
    row = page.locator(f"#job-{job.pk}")
    expect(row.locator(".badge")).to_have_text("running")

    page.set_input_files("#id_file", str(FIXTURES / "bad_import.jsonl"))
    page.click("button.primary")
    expect(page.locator(".import-errors h2")).to_contain_text("4 errors")
    expect(page.locator(".import-errors tbody tr")).to_have_count(4)
    screenshot(page, "import-errors")
    assert Item.objects.count() == 0

    # The worker finishes: the row picks that up by itself and stops asking.
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE,
        processed=200,
        options={
            "result": {
                "items_created": 200,
                "items_updated": 0,
                "annotations_created": 40,
                "annotations_replaced": 0,
                "judgments_created": 90,
                "users_created": 0,
            }
        },
    )
    expect(row.locator(".badge")).to_have_text("done", timeout=10_000)
    expect(row).not_to_have_attribute("hx-trigger", "every 1s")
    screenshot(page, "import-job-done")


def test_export_and_token_pages(page, project, labels, reviewer):
    login(page, "rita")
    page.goto(f"/projects/{project.pk}/export/")
    expect(page.locator("h1")).to_have_text("Export")
    screenshot(page, "export-page")
    page.goto("/account/tokens/")
    page.click("button[value=create]")
    value = page.locator("#new-token").input_value()
    assert len(value) == 64  # knox: 32 random bytes in hex
    screenshot(page, "tokens-page")
