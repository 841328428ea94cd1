"""Every main page runs under the Content-Security-Policy without a single violation, htmx included.

The policy allows only the app's own scripts and stylesheets. A template that
brings back an inline <script>, an onclick attribute or a <style> element
makes Chromium refuse it and report a violation, which fails this test.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotate.models import QueueEntry, Role
from tests.conftest import login, screenshot
from tests.factories import add_member, annotate_item, make_user

pytestmark = pytest.mark.browser

# Records every violation the page reports, before any of the page's own code runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""

PROJECT_PAGES = [
    "project",
    "annotate",
    "my-annotations",
    "review",
    "dashboard",
    "labels",
    "members",
    "audit",
    "guideline",
    "guideline-edit",
    "import",
    "export",
    "models",
    "project-settings",
]


@pytest.fixture
def site(project, labels, guideline, items, manager, annotator, reviewer):
    """A project with answers to review and items in the queue, and a manager who is also a site admin."""
    manager.is_staff = manager.is_superuser = True
    manager.save()
    shipping, refund, billing, *_ = labels
    for item in items[:3]:
        annotate_item(item, manager, {shipping: 1, refund: 0}, guideline=guideline)
        annotate_item(item, annotator, {shipping: 0, billing: 1}, guideline=guideline)
    QueueEntry.objects.bulk_create([QueueEntry(project=project, item=item, priority=1) for item in items[3:]])
    add_member(project, make_user("zoe"), Role.ANNOTATOR)
    return project


@pytest.fixture
def watched(page):
    """The page, with CSP violations recorded both as events and as console errors."""
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    page.csp_console = console
    return page


def violations(page) -> list[str]:
    reported = page.evaluate("window.__cspViolations || []")
    return reported + [text for text in page.csp_console if "Content Security Policy" in text]


def test_the_main_pages_load_without_csp_violations(watched, site, manager):
    page = watched
    answer = page.goto("/accounts/login/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    login(page, manager.username)
    seen: dict[str, list[str]] = {}
    paths = [reverse(name, args=[site.pk]) for name in PROJECT_PAGES]
    zoe = site.memberships.get(user__username="zoe").user_id
    paths += [reverse("home"), reverse("tokens"), reverse("remove-personal-data", args=[zoe]), "/api/docs/", "/admin/"]
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        seen[path] = violations(page)
        if "remove-personal-data" in path or path.endswith("/members/"):
            screenshot(page, "csp-" + path.strip("/").replace("/", "-"))
    expect(page.locator("#swagger-ui, #content").first).to_be_visible()
    assert {path: found for path, found in seen.items() if found} == {}


def test_htmx_and_the_page_scripts_work_under_the_policy(watched, site, manager, labels):
    page = watched
    login(page, manager.username)
    # The guideline preview follows the typing through htmx.
    page.goto(reverse("guideline-edit", args=[site.pk]))
    page.fill("#guideline-text", "# Shipping\n\nParcels **late** or lost.")
    expect(page.locator("#guideline-preview strong")).to_have_text("late")
    assert page.locator("button.no-htmx").is_hidden()
    # The annotate page swaps in the next item without a reload.
    page.goto(reverse("annotate", args=[site.pk]))
    first = page.locator(".external-id").inner_text()
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator(".external-id")).not_to_have_text(first)
    # The confirmation that used to be an onsubmit attribute still asks, and cancelling keeps the member.
    page.goto(reverse("members", args=[site.pk]))
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    members = site.memberships.count()
    page.locator("form[data-confirm] button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    assert len(asked) == 1 and asked[0].startswith("Remove ")
    assert site.memberships.count() == members
    screenshot(page, "csp-members")
    assert violations(page) == []


def test_a_throttled_login_shows_why(watched, site, annotator, settings):
    settings.AXES_FAILURE_LIMIT = 2
    page = watched
    for _ in range(2):
        page.goto("/accounts/login/")
        page.fill("#id_username", annotator.username)
        page.fill("#id_password", "wrong")
        page.click("button[type=submit]")
    page.fill("#id_password", "pw-" + annotator.username)
    page.click("button[type=submit]")
    expect(page.locator("#login-throttled")).to_contain_text("Too many failed logins")
    screenshot(page, "login-throttled")
    assert violations(page) == []


def test_a_new_token_is_shown_once(watched, site, annotator):
    page = watched
    login(page, annotator.username)
    page.goto(reverse("tokens"))
    page.select_option("#id_days", "30")
    page.get_by_role("button", name="Create a token").click()
    token = page.locator("#new-token").input_value()
    assert len(token) == 64
    screenshot(page, "tokens-new")
    page.goto(reverse("tokens"))
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("table.tokens code")).to_have_text(token[:8] + "…")
    assert violations(page) == []
