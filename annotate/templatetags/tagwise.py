"""Template helpers: the project navigation and safe Markdown."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe

from annotate.access import role_allows
from annotate.models import Project

register = template.Library()

# The project sections in the order of the navigation, with the role each needs.
# A section whose route is not installed is left out of the menu.
PROJECT_SECTIONS = [
    ("project", "Overview", "annotator"),
    ("annotate", "Annotate", "annotator"),
    ("my-annotations", "My work", "annotator"),
    ("guideline", "Guideline", "annotator"),
    ("review", "Review", "reviewer"),
    ("dashboard", "Agreement", "reviewer"),
    ("labels", "Labels", "manager"),
    ("members", "Members", "manager"),
    ("models", "Model", "manager"),
    ("import", "Import", "manager"),
    ("export", "Export", "reviewer"),
    ("audit", "Audit", "manager"),
    ("project-settings", "Settings", "manager"),
]


@register.inclusion_tag("annotate/_project_nav.html", takes_context=True)
def project_nav(context: template.Context, project: Project, role: str | None) -> dict:
    current = getattr(context.get("request"), "resolver_match", None)
    current_name = current.url_name if current else ""
    links = []
    for name, title, minimum in PROJECT_SECTIONS:
        if not role_allows(role, minimum):
            continue
        try:
            url = reverse(name, args=[project.pk])
        except NoReverseMatch:
            continue
        links.append({"url": url, "title": title, "current": name == current_name})
    return {"project": project, "links": links}


ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


@register.filter
def markdown(text: str) -> SafeString:
    """Render Markdown and clean the HTML, so a guideline cannot inject script."""
    html = markdown_lib.markdown(text or "", extensions=["extra", "sane_lists"])
    return mark_safe(nh3.clean(html, url_schemes=ALLOWED_URL_SCHEMES))
