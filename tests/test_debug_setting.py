"""DEBUG is on only when DEBUG=1 is set; the embedded mode still serves its static files over plain http."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'ssl': getattr(s, 'SECURE_SSL_REDIRECT', False), "
    "'finders': s.WHITENOISE_USE_FINDERS, 'preload': getattr(s, 'SECURE_HSTS_PRELOAD', False)}))"
)


def settings_with(tmp_path, **env: str) -> dict:
    environment = {
        "PATH": "/usr/bin:/bin",
        "TAGWISE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env={**environment, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("env", "debug"),
    [({}, False), ({"DEBUG": "0"}, False), ({"DEBUG": "1"}, True), ({"DEBUG": ""}, False)],
)
def test_embedded_debug_only_when_asked_for(tmp_path, env, debug):
    seen = settings_with(tmp_path, **env)
    assert seen["debug"] is debug
    # Embedded is plain http on this machine, with static files from the source tree.
    assert seen["ssl"] is False
    assert seen["finders"] is True


def test_a_deployment_without_debug_is_hardened(tmp_path):
    seen = settings_with(tmp_path, SECRET_KEY=secrets.token_urlsafe(50))
    assert seen == {"debug": False, "ssl": True, "finders": False, "preload": False}
    assert settings_with(tmp_path, SECRET_KEY=secrets.token_urlsafe(50), SECURE_HSTS_PRELOAD="1")["preload"] is True


def test_the_deploy_check_is_clean_without_setting_debug(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "TAGWISE_DATA_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(50),
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


@pytest.mark.django_db
def test_the_embedded_server_serves_static_files_and_no_debug_page(client, settings):
    assert settings.DEBUG is False
    assert client.get("/static/css/tagwise.css").status_code == 200
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert b"DEBUG = True" not in missing.content and b"URLconf" not in missing.content
