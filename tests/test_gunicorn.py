"""gunicorn, as docker-compose runs it, serves the login page of the installed app."""

import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from annotate.management.commands.serve import web_command
from tests.conftest import ROOT, subprocess_env, wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str] | None:
    """The status and body, or None while nothing answers yet.

    An HTTP error is an answer (a 500 must fail the test, not look like a
    server still starting), and a first request that is slow on a busy
    machine is waited for rather than sent again behind itself.
    """
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError:
        return None


def test_gunicorn_serves_the_login_page(transactional_db):
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=subprocess_env(),
    )
    try:
        url = f"http://127.0.0.1:{port}/accounts/login/"
        assert wait_until(lambda: fetch(url) is not None, timeout=30)
        status, body = fetch(url)
        assert status == 200
        assert 'name="password"' in body
        assert fetch(f"http://127.0.0.1:{port}/healthz") == (200, '{"status": "ok"}')
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_embedded_server_shares_no_control_socket_with_other_instances(transactional_db, tmp_path):
    """gunicorn's default control socket is one per user, which a second `make run` took over (issue 16)."""
    port = free_port()
    command = web_command(bin_dir=str(Path(sys.executable).parent), bind=f"127.0.0.1:{port}")
    server = subprocess.Popen(command, cwd=ROOT, env={**subprocess_env(), "HOME": str(tmp_path)})
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        assert wait_until(lambda: fetch(url) is not None, timeout=30)
        assert fetch(url) == (200, '{"status": "ok"}')
        assert not (tmp_path / ".gunicorn").exists()
    finally:
        server.terminate()
        server.wait(timeout=20)
