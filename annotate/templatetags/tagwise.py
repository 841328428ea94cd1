"""Template helpers: the project navigation, safe Markdown, and item texts with their hidden characters marked."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import markdown as markdown_lib
import nh3
from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape, format_html, linebreaks
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
    ("items", "Items", "reviewer"),
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


# Characters that change what a text seems to say without showing themselves
# (docs/annotating.md, "Hidden characters"): the bidirectional controls, which
# reorder what follows them (U+202E shows "gpj.exe" as "exe.jpg"), and the
# invisible ones: zero-width space, word joiner and the invisible operators,
# the byte-order mark, the soft hyphen, Unicode tag characters (which can
# carry a whole hidden ASCII message) and C0/C1 controls other than tab and
# line breaks. Zero-width joiner and non-joiner are left alone: Persian,
# Indic scripts and emoji need them, and flagging them would flag every such
# text.
HIDDEN_CHARS = re.compile(
    "[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional controls
    "\u200b\u2060-\u2064\ufeff\u00ad\u180e\U000e0000-\U000e007f"  # invisible
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"  # control characters
)
BIDI_CHARS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class HiddenChar:
    code: str  # "U+202E"
    name: str  # "RIGHT-TO-LEFT OVERRIDE"
    count: int
    bidi: bool


def char_code(char: str) -> str:
    return f"U+{ord(char):04X}"


def hidden_chars(text: str) -> list[HiddenChar]:
    """The hidden characters of a text, each once with its count, in order of first appearance."""
    counts = Counter(HIDDEN_CHARS.findall(text or ""))
    return [
        HiddenChar(
            code=char_code(char), name=unicodedata.name(char, "control character"), count=n, bidi=char in BIDI_CHARS
        )
        for char, n in counts.items()
    ]


def _marked(match: re.Match[str]) -> str:
    char = match.group(0)
    code = char_code(char)
    name = unicodedata.name(char, "control character")
    # The character stays in place, so the text reads as the annotator's
    # source shows it; the span names it on hover.
    return f'<span class="hidden-char" data-code="{code}" title="{code} {name}">{char}</span>'


def _marker(match: re.Match[str]) -> str:
    char = match.group(0)
    code = char_code(char)
    name = unicodedata.name(char, "control character")
    # No character at all, only its name: a bidirectional control left in the
    # text, even hidden by CSS, still reorders it in Chromium when the switch
    # is flipped after the page is drawn.
    return f'<span class="hidden-char-marker" data-code="{code}" title="{code} {name}"></span>'


def _paragraphs(text: str, replace: Callable[[re.Match[str]], str]) -> SafeString:
    return mark_safe(linebreaks(HIDDEN_CHARS.sub(replace, escape(text or "")), autoescape=False))


@register.filter(needs_autoescape=False)
def item_text(text: str) -> SafeString:
    """An item's text as HTML paragraphs, escaped, for every page that shows item texts (annotate, review, items).

    A text without hidden characters is its paragraphs. One with them is
    rendered twice: as it is (each character wrapped in a span that names
    it) and, for the "Show them" switch, with each character replaced by a
    visible marker. CSS shows one of the two (``.hidden-chars-switch``, see
    ``items/_text.html``), so the switch works without JavaScript.
    """
    if not HIDDEN_CHARS.search(text or ""):
        return _paragraphs(text, _marked)
    return format_html(
        '<div class="text-as-is">{}</div><div class="text-shown">{}</div>',
        _paragraphs(text, _marked),
        _paragraphs(text, _marker),
    )


@register.simple_tag
def hidden_chars_of(text: str) -> list[HiddenChar]:
    """``{% hidden_chars_of item.text as hidden %}``: the hidden characters of a text, for the warning."""
    return hidden_chars(text)
