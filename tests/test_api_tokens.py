"""API tokens are stored as digests, expire, can be revoked, and old plain tokens were moved into the hashed table."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps as global_apps
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from annotate.api.tokens import issue_token
from annotate.models import AuditEvent
from tests.api_support import clear_throttles  # noqa: F401


def token_client(text: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {text}")
    return client


@pytest.mark.django_db
def test_the_database_keeps_a_digest_never_the_token(annotator):
    token, text = issue_token(user=annotator)
    row = AuthToken.objects.get(pk=token.pk)
    assert row.digest == hashlib.sha512(text.encode()).hexdigest()
    stored = [str(value) for value in AuthToken.objects.values_list(flat=False).get()]
    assert not any(text in value for value in stored)
    assert len(row.token_key) == 15
    assert AuditEvent.objects.filter(action="token.created", actor=annotator).exists()


@pytest.mark.django_db
def test_an_expired_token_is_refused(project, annotator):
    token, text = issue_token(user=annotator, days=1)
    client = token_client(text)
    assert client.get("/api/projects").status_code == 200
    AuthToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/projects").status_code == 401


@pytest.mark.django_db
def test_the_expiry_is_chosen_at_creation_within_the_limit(annotator, settings):
    answer = APIClient().post(
        "/api/auth/token", {"username": "annie", "password": "pw-annie", "expires_in_days": 7}, format="json"
    )
    assert answer.status_code == 200
    token = AuthToken.objects.get(user=annotator)
    assert timedelta(days=6, hours=23) < token.expiry - timezone.now() <= timedelta(days=7)
    default = APIClient().post("/api/auth/token", {"username": "annie", "password": "pw-annie"}, format="json")
    expiry = AuthToken.objects.get(token_key=default.json()["token"][:15]).expiry
    assert timedelta(days=settings.TAGWISE_TOKEN_DAYS - 1) < expiry - timezone.now()

    too_long = APIClient().post(
        "/api/auth/token", {"username": "annie", "password": "pw-annie", "expires_in_days": 100000}, format="json"
    )
    assert too_long.status_code == 400
    assert "expires_in_days" in too_long.json()
    assert AuthToken.objects.filter(user=annotator).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["7", 7.0, True])
def test_the_expiry_is_a_json_integer_as_the_schema_says(annotator, days):
    """docs/api.md: types are strict; a string of digits was taken (issue 16)."""
    answer = APIClient().post(
        "/api/auth/token", {"username": "annie", "password": "pw-annie", "expires_in_days": days}, format="json"
    )
    assert answer.status_code == 400
    assert list(answer.json()) == ["expires_in_days"]
    assert not AuthToken.objects.filter(user=annotator).exists()


@pytest.mark.django_db
def test_a_revoked_token_is_refused(project, annotator):
    _, text = issue_token(user=annotator)
    client = token_client(text)
    assert client.delete("/api/auth/token").status_code == 204
    assert client.get("/api/projects").status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked", actor=annotator).exists()


@pytest.mark.django_db
def test_beyond_the_limit_per_user_the_oldest_token_goes(project, annotator, settings):
    settings.TAGWISE_TOKENS_PER_USER = 2
    texts = [issue_token(user=annotator)[1] for _ in range(3)]
    assert [token_client(text).get("/api/projects").status_code for text in texts] == [401, 200, 200]


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_old_plain_tokens_and_they_keep_working(project, annotator):
    """A database from before knox has DRF's plain table; after the migration only digests remain."""
    plain = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer NOT NULL, created timestamp)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [plain, annotator.pk, timezone.now()])
    migration = import_module("annotate.migrations.0010_hash_api_tokens")
    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(global_apps, editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    token = AuthToken.objects.get(user=annotator)
    assert token.digest == hashlib.sha512(plain.encode()).hexdigest()
    assert token.expiry > timezone.now() + timedelta(days=80)
    assert token_client(plain).get("/api/projects").status_code == 200
