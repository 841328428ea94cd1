"""From the home page to a new project, its labels and items, and a new annotator who sets a password and annotates."""

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from annotate.models import Annotation, Project
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

    # Add a label on the Labels page (a preview, then Apply), then import three messages.
    nav = page.get_by_role("navigation", name="Support tickets")
    nav.get_by_role("link", name="Labels").click()
    page.locator("#id_name").fill("praise")
    page.get_by_role("button", name="Preview the change").click()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.labels")).to_contain_text("praise")
    screenshot(page, "project-labels-1280")
    nav.get_by_role("link", name="Import").click()
    tickets = b"".join(
        b'{"external_id": "t%d", "text": "%s"}\n' % (n, text)
        for n, text in enumerate([b"I want my money back.", b"The parcel never came.", b"Thanks, great help!"])
    )
    page.set_input_files("#id_file", {"name": "tickets.jsonl", "mimeType": "application/json", "buffer": tickets})
    page.click("form.import-form button.primary")
    expect(page.get_by_role("main")).to_contain_text("Imported 3 new and 0 updated items")

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
    expect(page.get_by_role("main")).to_contain_text("For Nora Quist: you log in with the user name nora.")
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

    # Nora annotates her first item from the keyboard: keys 1 to 4 were given to the labels automatically.
    page.get_by_role("link", name="Support tickets").click()
    page.get_by_role("navigation", name="Support tickets").get_by_role("link", name="Annotate").click()
    page.wait_for_load_state()  # the keys work once annotate.js has run
    expect(page.locator(".external-id")).to_be_visible()
    first = page.locator(".external-id").inner_text()
    page.keyboard.press("1")  # refund yes
    page.keyboard.press("Shift+2")  # shipping no
    screenshot(page, "annotate-new-annotator-1280")
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).not_to_have_text(first)
    annotation = Annotation.objects.get(annotator__username="nora", item__external_id=first)
    answers = dict(annotation.judgments.values_list("label__name", "value"))
    assert answers == {"refund": 1, "shipping": 0}  # bug and praise unanswered: unobserved, no row
