"""Production settings pass Django's deployment checks; the embedded default is SQLite in WAL mode."""

import secrets
import subprocess
import sys

from django.conf import settings
from django.db import connection

from tests.conftest import ROOT


def test_deploy_check_passes_with_documented_production_variables(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "TAGWISE_DATA_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "tagwise.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_sqlite_runs_in_wal_mode(db):
    if connection.vendor != "sqlite":
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_the_container_health_check_passes_with_production_settings(client, db, settings):
    """docker-compose calls http://127.0.0.1:8000/healthz; it was redirected to https or refused by host."""
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["tagwise.example.com"]
    answer = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    # Every other path still goes through both checks.
    assert client.get("/", HTTP_HOST="127.0.0.1:8000").status_code == 400
