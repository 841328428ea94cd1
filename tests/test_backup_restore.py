"""ops/backup.sh and ops/restore.sh bring back an installation whole (docs/operations.md, "Backups").

The embedded route (SQLite and the data folder) runs here end to end in
subprocesses, as an operator runs it: the demo with its answers, a backup,
a restore into an empty folder, and the export of both is the same file.
The PostgreSQL route (pg_dump / pg_restore) was tested by hand on the load
project, recorded in docs/operations.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(command: list[str], data_dir: Path) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
        and not key.startswith("PYTEST")
    }
    env.update(TAGWISE_DATA_DIR=str(data_dir), PYTHON=sys.executable)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def manage(*args: str, data_dir: Path) -> str:
    return run([sys.executable, "manage.py", *args], data_dir)


def export(path: Path, *, data_dir: Path) -> None:
    """The demo project's answers, resolutions and consensus, as a data engineer exports them."""
    manage("export", "1", "--format", "jsonl", "--include-judgments", "-o", str(path), data_dir=data_dir)


def test_a_restored_backup_exports_the_same_answers_and_keeps_the_admin_password(tmp_path):
    original, restored, backups = tmp_path / "original", tmp_path / "restored", tmp_path / "backups"
    manage("migrate", "--noinput", data_dir=original)
    manage("load_demo", data_dir=original)
    export(tmp_path / "before.jsonl", data_dir=original)

    backup = Path(run(["bash", "ops/backup.sh", str(backups)], original).strip())
    run(["bash", "ops/restore.sh", str(backup)], restored)
    manage("migrate", "--noinput", data_dir=restored)
    export(tmp_path / "after.jsonl", data_dir=restored)

    before = (tmp_path / "before.jsonl").read_bytes()
    assert before.count(b"\n") > 50 and b'"judgments":[{' in before  # the demo comes with answers
    assert (tmp_path / "after.jsonl").read_bytes() == before
    assert (restored / "admin_password").read_text() == (original / "admin_password").read_text()
    # The cache, the broker's folders and the database file itself (copied apart, online) are not in the tar.
    with tarfile.open(backup / "data.tar.gz") as archive:
        tops = {Path(name).parts[0] for name in archive.getnames() if Path(name).parts}
    assert "admin_password" in tops and not tops & {"broker", "cache", "staticfiles", "tagwise.sqlite3"}


def test_restore_refuses_to_overwrite_a_database(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "tagwise.sqlite3").write_bytes(b"")
    target = tmp_path / "data"
    target.mkdir()
    (target / "tagwise.sqlite3").write_bytes(b"precious")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["TAGWISE_DATA_DIR"] = str(target)
    done = subprocess.run(["bash", "ops/restore.sh", str(backup)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "restore into an empty data folder" in done.stderr
    assert (target / "tagwise.sqlite3").read_bytes() == b"precious"
