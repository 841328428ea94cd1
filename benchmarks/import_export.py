"""Benchmark bulk import and streaming export at 100,000 items x 28 labels. Prints JSON.

Usage (from the repository root)::

    .venv/bin/python benchmarks/import_export.py                       # SQLite under /tmp/tagwise-bench-io
    .venv/bin/python benchmarks/import_export.py \\
        --database-url postgres://postgres@127.0.0.1:5432/tagwise_h5bench  # PostgreSQL (database DROPPED first)

What it does:

1. A fresh database with one project: 28 labels (GoEmotions' names), one
   published guideline, 40 annotators.
2. Writes a JSONL file of 100,000 items (GoEmotions texts when
   ../shared/datasets is there, else generated ones). 35% of the items carry
   one annotation and 10% two, each answering about 10 of the 28 labels, with
   confidences: about 550,000 judgments. Then it imports the file with
   ``annotate.dataset.importers`` (``read_and_check``, then ``write_checked``: the
   code behind the API, the page and the background task) and reports the
   time of the check pass, the write and the total, with the parts of the
   write: each table's insert, the cold-start order (computed in a thread
   while the annotations and judgments are written and their foreign keys
   checked, so it overlaps them), the foreign-key checks, the completion
   counts, the ANALYZE at the end, and the rest (lookups, building rows, the
   audit event, the commit). On PostgreSQL the CPU time of the database's
   own process is reported beside this process's.
   scikit-learn is imported before the clock starts, as in a running worker
   (its first import is reported separately).
3. Exports the project in JSONL, CSV and Parquet with
   ``annotate.dataset.export.export_stream``, each in a child process of its own, so
   that the peak resident memory reported (``ru_maxrss``) is the export's,
   with the baseline of the interpreter and Django before the export
   started. Items per second count the whole stream, bytes thrown away.
"""

# ruff: noqa: E402 - the path fix below must run before the other imports.
from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/queue.py would shadow the standard library's ``queue`` (which
# Django's asgiref imports) while this folder is first on the path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse
import json
import os
import platform
import random
import re
import resource
import subprocess
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOEMOTIONS = ROOT.parent / "shared" / "datasets" / "goemotions"
DEFAULT_DATA_DIR = "/tmp/tagwise-bench-io"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL database to DROP and use; default SQLite")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=28)
    parser.add_argument("--annotators", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", default="jsonl,csv,parquet")
    parser.add_argument("--export-child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--project-id", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def rss_mb() -> float:
    """Peak resident memory of this process in MB.

    VmHWM is reset by exec, unlike ru_maxrss, which a child started with
    fork and exec inherits from its parent on Linux.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_cpu_seconds() -> float | None:
    """CPU time used so far by this connection's PostgreSQL backend process (None on SQLite).

    The database does much of an import's work (index entries, foreign-key
    checks at commit) in its own process; on a shared machine its CPU time,
    beside this process's, says more than the wall time does.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def setup_django(database_url: str, *, fresh: bool) -> None:
    data_dir = Path(os.environ.setdefault("TAGWISE_DATA_DIR", DEFAULT_DATA_DIR))
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        if fresh:
            recreate_database(database_url)
    elif fresh:
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"tagwise.sqlite3{suffix}").unlink(missing_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    if fresh:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"Refusing to drop a database with an unusual name: {name!r}")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def texts(count: int, seed: int) -> list[str]:
    path = GOEMOTIONS / "train.tsv"
    if path.exists():
        rows = [line.split("\t", 1)[0] for line in path.read_text().splitlines() if line.strip()]
        return [f"{rows[index % len(rows)]} [{index}]" for index in range(count)]
    rng = random.Random(seed)
    words = ["order", "parcel", "refund", "late", "broken", "thanks", "great", "bill", "card", "login", "crash"]
    return [" ".join(rng.choices(words, k=rng.randint(6, 30))) for _ in range(count)]


def label_names(count: int) -> list[str]:
    path = GOEMOTIONS / "labels.txt"
    names = [name for name in (path.read_text().split() if path.exists() else []) if name][:count]
    return names + [f"label{index}" for index in range(len(names), count)]


def build_project(args: argparse.Namespace) -> Any:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from annotate.models import GuidelineVersion, Label, Membership, Project, Role

    project = Project.objects.create(name="Import export benchmark", retrain_every=0)
    GuidelineVersion.objects.create(project=project, number=1, text="# v1", published_at=timezone.now())
    Label.objects.bulk_create(
        [Label(project=project, name=name, order=index) for index, name in enumerate(label_names(args.labels))]
    )
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"annotator{index}") for index in range(args.annotators)]
    )
    Membership.objects.bulk_create([Membership(project=project, user=user, role=Role.ANNOTATOR) for user in users])
    return project


def write_jsonl(path: Path, args: argparse.Namespace) -> dict[str, int]:
    rng = random.Random(args.seed)
    names = label_names(args.labels)
    counts = {"items": 0, "annotations": 0, "judgments": 0}
    with path.open("w") as out:
        for index, text in enumerate(texts(args.items, args.seed)):
            roll = rng.random()
            raters = 2 if roll < 0.10 else 1 if roll < 0.45 else 0
            annotations = []
            for annotator in rng.sample(range(args.annotators), raters):
                answered = rng.sample(names, rng.randint(6, 14))
                annotations.append(
                    {
                        "annotator": f"annotator{annotator}",
                        "labels": {name: int(rng.random() < 0.15) for name in answered},
                        "confidence": rng.choice([0.6, 0.8, 1.0]),
                        "guideline_version": 1,
                        "duration_ms": rng.randint(3000, 40000),
                    }
                )
                counts["annotations"] += 1
                counts["judgments"] += len(answered)
            row = {"external_id": f"ge-{index}", "text": text, "metadata": {"source": "goemotions", "n": index}}
            if annotations:
                row["annotations"] = annotations
            out.write(json.dumps(row) + "\n")
            counts["items"] += 1
    return counts


def run_import(project: Any, path: Path) -> dict[str, Any]:
    from django.db import connection

    import annotate.dataset.importers.writing as writing
    from annotate.dataset.importers import ImportOptions, read_and_check, write_checked

    # Time the parts of the write on their own (see the module docstring).
    parts: dict[str, float] = {}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    # The names are patched where the writer looks them up (its module).
    insert_rows = writing.insert_rows

    def timed_insert(model: Any, columns: list[str], rows: Any) -> None:
        timed(f"insert_{model._meta.model_name}", insert_rows)(model, columns, rows)

    writing.insert_rows = timed_insert
    writing.diverse_order = timed("queue_order_in_thread", writing.diverse_order)
    writing._recount_completed = timed("completed_counts", writing._recount_completed)
    writing._refresh_statistics = timed("analyze", writing._refresh_statistics)
    connection.check_constraints = timed("foreign_key_checks", connection.check_constraints)
    # A worker process that runs imports has scikit-learn loaded already (the
    # queue and the learner use it); load it before the clock starts and
    # report what the first load costs on its own.
    loading = time.perf_counter()
    import sklearn.cluster
    import sklearn.feature_extraction.text  # noqa: F401

    sklearn_seconds = time.perf_counter() - loading
    options = ImportOptions(format="jsonl")
    server_started = server_cpu_seconds()
    started = time.perf_counter()
    cpu_started = time.process_time()
    with path.open("rb") as stream:
        items, checker = read_and_check(project=project, stream=stream, options=options)
    checked = time.perf_counter()
    result = write_checked(project=project, items=items, checker=checker, options=options, actor=None)
    written = time.perf_counter()
    cpu_seconds = time.process_time() - cpu_started
    server_ended = server_cpu_seconds()
    # What the main thread spent outside the timed parts: lookups, building
    # rows, waiting for the thread, the audit event and the commit.
    in_thread = parts.get("queue_order_in_thread", 0.0)
    parts["rest_with_commit"] = written - checked - (sum(parts.values()) - in_thread)
    if connection.vendor == "sqlite":
        # Later readers should not pay for the write-ahead log of the import.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "check_seconds": round(checked - started, 2),
        "write_seconds": round(written - checked, 2),
        "of_which_seconds": {name: round(seconds, 2) for name, seconds in parts.items()},
        "sklearn_first_import_seconds_not_counted": round(sklearn_seconds, 2),
        "total_seconds": round(written - started, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "database_cpu_seconds": None
        if server_started is None or server_ended is None
        else round(server_ended - server_started, 2),
        "items_per_second": round(len(items) / (written - started)),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "peak_rss_mb": round(rss_mb()),
        **result.as_dict(),
    }


def export_child(args: argparse.Namespace) -> None:
    """Run in a child process: stream one export into nothing and print its numbers."""
    setup_django(args.database_url, fresh=False)
    from annotate.dataset.export import ExportOptions, export_stream
    from annotate.models import Project

    project = Project.objects.get(pk=args.project_id)
    options = ExportOptions(format=args.export_child)
    baseline = current_rss_mb()
    server_started = server_cpu_seconds()
    started = time.perf_counter()
    cpu_started = time.process_time()
    sent = 0
    parts = 0
    for part in export_stream(project=project, options=options):
        sent += len(part)
        parts += 1
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    server_ended = server_cpu_seconds()
    from annotate.models import AuditEvent

    rows = AuditEvent.objects.filter(action="export").order_by("-id").values_list("after", flat=True).first()["rows"]
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": round(seconds, 2),
                "items_per_second": round(rows / seconds),
                "cpu_seconds": round(cpu_seconds, 2),
                "items_per_cpu_second": round(rows / cpu_seconds),
                "database_cpu_seconds": None
                if server_started is None or server_ended is None
                else round(server_ended - server_started, 2),
                "mb_written": round(sent / 1e6, 1),
                "stream_parts": parts,
                "baseline_rss_mb": round(baseline),
                "peak_rss_mb": round(rss_mb()),
            }
        )
    )


def main() -> None:
    args = parse_args()
    if args.export_child:
        export_child(args)
        return
    setup_django(args.database_url, fresh=True)
    from django.db import connection

    project = build_project(args)
    report: dict[str, Any] = {
        "benchmark": "import_export",
        "database": connection.vendor,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "items": args.items,
        "labels": args.labels,
        # Other people share the machine: wall times mean little without the load.
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "items.jsonl"
        report["file"] = write_jsonl(path, args)
        report["import"] = run_import(project, path)
    connection.close()

    report["export"] = {}
    for file_format in args.formats.split(","):
        command = [sys.executable, __file__, "--export-child", file_format, "--project-id", str(project.pk)]
        if args.database_url:
            command += ["--database-url", args.database_url]
        child = subprocess.run(command, capture_output=True, text=True, check=True, env=dict(os.environ))
        report["export"][file_format] = json.loads(child.stdout.strip().splitlines()[-1])
    report["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
