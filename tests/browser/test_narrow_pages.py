"""At 360 px no page scrolls sideways: wide tables scroll inside their own box, and every action stays reachable.

Also the site chrome every page shares: the favicon and the "Skip to content" link.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotate.models import Item, Role
from annotate.setup.labelset import add_label, set_label_rules, update_label
from tests.conftest import login, screenshot
from tests.factories import add_member, annotate_item, make_items, make_user

pytestmark = pytest.mark.browser

NARROW = {"width": 360, "height": 780}


@pytest.fixture
def busy_project(project, labels, guideline, manager, annotator, reviewer):
    """Long label names and descriptions, rules, several members, audit events and some annotations."""
    shipping, refund, billing, _bug, _praise = labels
    update_label(label=shipping, actor=manager, description="Parcels that arrived late, damaged or not at all")
    set_label_rules(label=refund, actor=manager, implies=[billing], excludes=[shipping])
    add_label(project=project, actor=manager, name="account access and password resets", shortcut_key="a")
    for name in ["annabelle.longname", "bartholomew.reviewer", "constantine.k"]:
        add_member(project, make_user(name), Role.ANNOTATOR)
    items = make_items(project, 6)
    for index, item in enumerate(items):
        item.external_id = f"support-ticket-2026-{index:06d}"
        item.text = "My parcel never arrived and the courier says it was delivered to a neighbour " * 3
    Item.objects.bulk_update(items, ["external_id", "text"])
    for item in items[:4]:
        annotate_item(item, manager, {shipping: 1, refund: 0, billing: 1}, guideline=guideline)
        annotate_item(item, annotator, {shipping: 1, refund: 1}, guideline=guideline)
        annotate_item(item, reviewer, {shipping: 0, billing: 1}, guideline=guideline)
    return project


PAGES = ["labels", "members", "audit", "dashboard", "my-annotations"]


@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways_at_360_px(page, busy_project, manager, name):
    page.set_viewport_size(NARROW)
    login(page, manager.username)
    page.goto(reverse(name, args=[busy_project.pk]))
    screenshot(page, f"narrow-{name}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"{name} is {width} px wide at {NARROW['width']} px"


def test_the_label_actions_are_reachable_at_360_px(page, busy_project, manager):
    page.set_viewport_size(NARROW)
    login(page, manager.username)
    page.goto(reverse("labels", args=[busy_project.pk]))
    edit = page.get_by_role("link", name="Edit").first
    # On screen without scrolling sideways, neither the page nor the table.
    box = edit.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"]
    edit.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit “shipping”")


def test_every_member_action_is_on_screen_at_360_px(page, busy_project, manager):
    """The Account and Remove columns were cut off at the right edge (the table scrolled inside its box)."""
    page.set_viewport_size(NARROW)
    login(page, manager.username)
    page.goto(reverse("members", args=[busy_project.pk]))
    for name in ["Change", "Password link", "Deactivate", "Remove"]:
        box = page.get_by_role("button", name=name, exact=True).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], name


def test_my_work_edit_link_is_on_screen_at_360_px(page, busy_project, manager):
    page.set_viewport_size(NARROW)
    login(page, manager.username)
    page.goto(reverse("my-annotations", args=[busy_project.pk]))
    edit = page.get_by_role("link", name="Edit your answers").first
    # On screen without scrolling sideways, neither the page nor the table.
    box = edit.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"]


def test_skip_link_is_the_first_tab_stop_and_moves_past_the_navigation(page, busy_project, manager):
    login(page, manager.username)
    page.goto(reverse("labels", args=[busy_project.pk]))
    skip = page.get_by_role("link", name="Skip to content")
    # Hidden until focused: off-screen, so it takes no room at the top of the page.
    assert skip.bounding_box()["y"] + skip.bounding_box()["height"] <= 0
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["y"] >= 0
    screenshot(page, "skip-link-focused")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # The next stop is inside the main content, not the top bar or the project navigation.
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_favicon_is_linked_and_served(page, busy_project, manager):
    login(page, manager.username)
    page.goto(reverse("labels", args=[busy_project.pk]))
    href = page.locator("link[rel=icon]").get_attribute("href")
    icon = page.request.get(href)
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
    legacy = page.request.get("/favicon.ico")
    assert legacy.ok and legacy.url.endswith(href)


def test_the_project_menu_is_one_row_and_shows_where_you_are_at_360_px(page, project, queue, labels, manager):
    """Wrapped, a manager's menu took 190 px and pushed the labels to the bottom of a phone's screen (issue 14)."""
    page.set_viewport_size({"width": 360, "height": 740})
    login(page, manager.username)
    page.goto(reverse("annotate", args=[project.pk]))
    menu = page.locator(".project-nav").bounding_box()
    assert menu["height"] < 60
    assert page.locator(".label-row").first.bounding_box()["y"] < 400
    screenshot(page, "narrow-annotate-manager")
    page.goto(reverse("project-settings", args=[project.pk]))
    current = page.locator('.project-nav [aria-current="page"]')
    expect(current).to_have_text("Settings")
    expect(current).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("width", [360, 1280])
def test_a_project_name_of_one_long_word_wraps_instead_of_running_off_the_page(page, project, manager, width):
    project.name = "Supportinbox" * 16  # 192 characters, no space
    project.save()
    page.set_viewport_size({"width": width, "height": 780})
    login(page, manager.username)
    page.goto(reverse("project", args=[project.pk]))
    screenshot(page, f"long-project-name-{width}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide at {width} px"


def test_one_long_word_names_break_inside_their_cells_and_rows(page, project, queue, labels, manager):
    """A 140-character one-word full name widened the members table to 1,653 px at 1000; a long label
    name ran under the Yes/No buttons on the annotate page."""
    person = make_user("w" * 140)
    person.first_name = "Wolfeschlegelsteinhausenbergerdorff" * 4
    person.save()
    add_member(project, person, Role.ANNOTATOR)
    update_label(label=labels[0], actor=manager, name="Supercalifragilistic" * 3)
    page.set_viewport_size({"width": 1000, "height": 780})
    login(page, manager.username)
    page.goto(reverse("members", args=[project.pk]))
    assert page.evaluate("document.documentElement.scrollWidth") <= 1000
    page.goto(reverse("annotate", args=[project.pk]))
    name = page.locator(".label-row .label-name").first.bounding_box()
    states = page.locator(".label-row .states").first.bounding_box()
    assert name is not None and states is not None
    assert name["x"] + name["width"] <= states["x"] + 1, (name, states)
    screenshot(page, "long-label-name-annotate")
