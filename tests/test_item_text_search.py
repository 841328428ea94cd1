"""The item browser's text search: words through a full-text index on PostgreSQL, a contains on SQLite.

Runs on both databases (the suite runs on each); the assertions that differ
say which database they are about (docs/agreement.md, "The item browser").
"""

from __future__ import annotations

import pytest
from django.db import connection

from annotate import db
from annotate.curation.items import ItemFilters, browse_items
from annotate.models import Item
from tests.factories import make_items

TEXTS = [
    "Where is my parcel? It never arrived.",
    "The parcel arrived broken; I want a refund.",
    "Refunds take five days.",
    "Thanks, the parcel came on time!",
    # Hebrew, "the parcel did not arrive": words of any script are words.
    "\u05d4\u05d7\u05d1\u05d9\u05dc\u05d4 \u05dc\u05d0 \u05d4\u05d2\u05d9\u05e2\u05d4",
]


@pytest.fixture
def texts(project):
    items = make_items(project, len(TEXTS))
    for item, text in zip(items, TEXTS, strict=True):
        Item.objects.filter(pk=item.pk).update(text=text)
    return items


def found(project, query):
    page = browse_items(project=project, filters=ItemFilters(text=query), after=None, limit=100)
    return [TEXTS.index(row.item.text) for row in page.rows]


def test_a_word_is_found_whatever_its_case_on_both_databases(project, texts):
    assert found(project, "PARCEL") == [0, 1, 3]
    assert found(project, "\u05dc\u05d0") == [4]
    assert found(project, "?") == [0]  # no word to look up: found inside the text on both


def test_postgresql_reads_the_query_as_words_phrases_or_and_not(project, texts):
    if not db.is_postgresql():
        # SQLite finds the typed text inside the item's, so words in another order are not found.
        assert found(project, "arrived parcel") == []
        assert found(project, "refund") == [1, 2]  # "Refunds" contains "refund"
        return
    assert found(project, "arrived parcel") == [0, 1]  # every word, in any order
    assert found(project, '"parcel arrived"') == [1]  # a phrase, in order
    assert found(project, "refund or thanks") == [1, 3]
    assert found(project, "parcel -arrived") == [3]
    assert found(project, "refund") == [1]  # whole words: "Refunds" is another word (no stemming)


def test_postgresql_uses_the_text_index(project, texts):
    if not db.is_postgresql():
        pytest.skip("The full-text index is PostgreSQL's (SQLite searches with a contains).")
    # Without the project filter, so the plan cannot pick the project's index instead on a table this small.
    query = db.search_text(Item.objects.all(), "parcel")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows would be scanned otherwise
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert db.TEXT_SEARCH_INDEX in plan, plan
