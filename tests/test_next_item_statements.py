"""The next-item statements have one home, annotate/db.py; the PostgreSQL function runs exactly those.

The function of the latest next-item migration is text frozen in the
migration. These tests fail when it drifts from the statements the SQLite
path runs: each statement, as ``plpgsql_statement`` renders it, must appear
in the migration's function, and on PostgreSQL in the function installed.
"""

from __future__ import annotations

import re
from importlib import import_module

import pytest
from django.db import connection

from annotate import db

LATEST = "annotate.migrations.0008_next_item_rounds"


def squeezed(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


@pytest.mark.parametrize("name", sorted(db.NEXT_ITEM_STATEMENTS))
def test_the_migrations_function_runs_the_statement(name):
    function = squeezed(import_module(LATEST).CREATE)
    assert squeezed(db.plpgsql_statement(db.NEXT_ITEM_STATEMENTS[name])) in function


def test_a_changed_statement_would_be_caught():
    """The check above can fail: a statement with one condition changed is not found."""
    function = squeezed(import_module(LATEST).CREATE)
    changed = db.CANDIDATE.replace("a.queue_round >= q.round", "a.queue_round > q.round")
    assert squeezed(db.plpgsql_statement(changed)) not in function


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(db.NEXT_ITEM_STATEMENTS))
def test_the_installed_function_runs_the_statement(name):
    if connection.vendor != "postgresql":
        pytest.skip("The PL/pgSQL function exists on PostgreSQL only; set DATABASE_URL to run it.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'tagwise_next_item'")
        (source,) = cursor.fetchone()
    assert squeezed(db.plpgsql_statement(db.NEXT_ITEM_STATEMENTS[name])) in squeezed(source)
