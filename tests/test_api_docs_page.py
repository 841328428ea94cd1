"""The API reference (Swagger UI) leads back to the app and keeps to the Content-Security-Policy."""

from __future__ import annotations

import re

from django.urls import reverse


def test_the_api_docs_link_back_to_the_app_with_no_inline_script_or_style(client, manager):
    client.force_login(manager)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="{reverse("home")}">← Back to Tagwise</a>' in html
    assert f'<a href="{reverse("tokens")}">API tokens</a>' in html
    # Every script is a file of the app's own (the policy refuses inline ones), and no <style> element.
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts)
    assert "<style" not in html and " onclick=" not in html
