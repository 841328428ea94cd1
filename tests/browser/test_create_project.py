"""From the home page to a new project with a new annotator who has set a password, in Chromium."""

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from annotate.models import Project
from tests.conftest import login, screenshot
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_a_manager_creates_a_project_and_invites_an_annotator_who_sets_a_password(page, db):
    lead = make_user("lead", first_name="Lea", last_name="Dahl")
    lead.user_permissions.add(Permission.objects.get(content_type__app_label="annotate", codename="add_project"))
    login(page, "lead")

    page.get_by_role("link", name="New project").click()
    page.get_by_label("Name", exact=True).fill("Support tickets")
    page.get_by_label("Labels").fill("refund: the customer wants money back\nshipping\nbug")
    page.get_by_label("First guideline (Markdown, optional)").fill("# Tickets\nMark every label that applies.")
    screenshot(page, "project-new-1280")
    page.get_by_role("button", name="Create project").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Support tickets")
    project = Project.objects.get(name="Support tickets")
    assert list(project.labels.values_list("name", flat=True)) == ["refund", "shipping", "bug"]
    screenshot(page, "project-overview-manager-1280")

    page.get_by_role("navigation", name="Support tickets").get_by_role("link", name="Members").click()
    page.get_by_label("User name").nth(1).fill("nora")
    page.get_by_label("Full name").fill("Nora Quist")
    page.locator("#new-person-role").select_option("annotator")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account created for Nora Quist")
    screenshot(page, "person-link-1280")
    link = page.locator("#one-time-link").input_value()

    page.goto(f"/projects/{project.pk}/members/")
    screenshot(page, "members-1280")
    # The other pages of a project's life, for looking at; nothing is submitted on them.
    page.goto(f"/projects/{project.pk}/clone/")
    screenshot(page, "project-clone-1280")
    page.goto(f"/projects/{project.pk}/delete/")
    expect(page.get_by_role("link", name="Export page")).to_be_visible()
    screenshot(page, "project-delete-1280")
    page.goto("/accounts/password/")
    screenshot(page, "password-change-1280")
    page.get_by_role("button", name="Log out").click()

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set your password")
    page.get_by_label("New password", exact=True).fill("a long fresh passphrase")
    page.get_by_label("New password confirmation").fill("a long fresh passphrase")
    screenshot(page, "set-password-1280")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password set")

    page.goto("/accounts/login/")
    page.fill("#id_username", "nora")
    page.fill("#id_password", "a long fresh passphrase")
    page.click("button[type=submit]")
    expect(page.get_by_role("link", name="Support tickets")).to_be_visible()
    screenshot(page, "home-annotator-1280")
