"""Hidden characters in item texts: flagged, shown on request, one helper on every page; texts read with dir="auto"."""

from __future__ import annotations

import pytest

from annotate.templatetags.tagwise import hidden_chars, item_text
from tests.factories import annotate_item

# "Pay to account 1234" with a right-to-left override: it displays the digits reversed.
TRICKY = "Refund <b>me</b>\u202e4321\u202c and\u200b more\u2066x\u2069"


def test_hidden_chars_lists_each_character_once_with_its_count():
    found = hidden_chars(TRICKY + "\u200b")
    assert [(c.code, c.count, c.bidi) for c in found] == [
        ("U+202E", 1, True),
        ("U+202C", 1, True),
        ("U+200B", 2, False),
        ("U+2066", 1, True),
        ("U+2069", 1, True),
    ]
    assert found[0].name == "RIGHT-TO-LEFT OVERRIDE"


ORDINARY = [
    "plain text",
    "שלום עולם",
    "مرحبا",
    "emoji 👩\u200d💻 and Persian می\u200cخواهم",  # noqa: RUF001
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_texts_have_no_hidden_characters(text):
    assert hidden_chars(text) == []
    assert "hidden-char" not in item_text(text)


def test_item_text_escapes_and_wraps_every_hidden_character_in_a_marker():
    html = item_text(TRICKY + "\n\nsecond paragraph")
    assert "&lt;b&gt;me&lt;/b&gt;" in html
    assert html.count('class="hidden-char"') == 5
    assert 'data-code="U+202E" title="U+202E RIGHT-TO-LEFT OVERRIDE"' in html
    assert 'title="U+202E RIGHT-TO-LEFT OVERRIDE">\u202e</span>' in html
    as_is, shown = html.split('<div class="text-shown">')
    assert as_is.startswith('<div class="text-as-is"><p>') and "<p>second paragraph</p>" in as_is
    # The version "Show them" shows holds markers instead of the characters,
    # so nothing is left to reorder the text.
    assert not hidden_chars(shown)
    assert shown.count('class="hidden-char-marker" data-code="') == 5
    assert "4321" in shown and "<p>second paragraph</p>" in shown
    # Control characters without a Unicode name are marked too.
    assert 'data-code="U+0007" title="U+0007 control character"' in item_text("bell\x07")


@pytest.fixture
def tricky_item(project, items):
    item = items[0]
    item.text = TRICKY
    item.save()
    return item


def test_the_annotate_page_flags_hidden_characters_and_reads_text_with_dir_auto(
    client, project, queue, tricky_item, annotator
):
    client.force_login(annotator)
    html = client.get(f"/projects/{project.pk}/annotate/").content.decode()
    assert "Hidden characters in this text:" in html
    assert "U+202E right-to-left override" in html
    assert 'class="show-hidden"' in html
    assert 'class="text text-pane" dir="auto"' in html


def test_review_and_item_pages_use_the_same_helper(
    client, project, tricky_item, labels, guideline, annotator, second_annotator, reviewer
):
    annotate_item(tricky_item, annotator, {labels[0]: 1}, guideline=guideline)
    annotate_item(tricky_item, second_annotator, {labels[0]: 0}, guideline=guideline)
    client.force_login(reviewer)
    for url in (
        f"/projects/{project.pk}/review/",
        f"/projects/{project.pk}/review/?by=item",
        f"/projects/{project.pk}/items/{tricky_item.pk}/",
    ):
        html = client.get(url).content.decode()
        assert 'data-code="U+202E"' in html, url
        assert "Hidden characters in this text:" in html, url
        assert 'dir="auto"' in html, url
    listing = client.get(f"/projects/{project.pk}/items/").content.decode()
    assert "hidden characters</span>" in listing
    assert 'class="snippet" dir="auto"' in listing


def test_the_review_page_shows_a_long_text_whole(
    client, project, items, labels, guideline, annotator, second_annotator, reviewer
):
    long_text = "word " * 400 + "THE END"
    items[0].text = long_text
    items[0].save()
    annotate_item(items[0], annotator, {labels[0]: 1}, guideline=guideline)
    annotate_item(items[0], second_annotator, {labels[0]: 0}, guideline=guideline)
    client.force_login(reviewer)
    assert "THE END" in client.get(f"/projects/{project.pk}/review/").content.decode()
