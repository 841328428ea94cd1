"""What every page shares: a favicon, and a "Skip to content" link as the first thing to Tab to."""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse


def test_favicon_ico_redirects_to_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")
    assert finders.find("favicon.svg")


def test_every_page_links_the_icon_and_starts_with_a_skip_link(client, project, labels, manager):
    client.force_login(manager)
    for url in (reverse("home"), reverse("labels", args=[project.pk]), reverse("login")):
        html = client.get(url).content.decode()
        assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in html
        body = html[html.index("<body") :]
        first_focusable = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body).group(0)
        assert 'class="skip-link"' in first_focusable and 'href="#main"' in first_focusable
        assert '<main id="main"' in body
