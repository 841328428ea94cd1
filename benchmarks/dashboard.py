"""Benchmark the agreement dashboard on a large project in a real database and print JSON.

Usage (from the repository root):

    .venv/bin/python benchmarks/dashboard.py \
        [--database-url postgres://postgres@127.0.0.1:5432/tagwise_h8bench] \
        [--items 100000] [--labels 28] [--raters 3] [--observed 0.7] [--repeat 5] [--reuse]

The database named in the URL is DROPPED and recreated (PostgreSQL) or the
file is deleted (``sqlite:///path``), unless ``--reuse`` measures again on the
data of an earlier run. The project: 100k items, 28 labels (one introduced in
guideline version 2), 3 annotations per item from a team of 12, 70% of
(item, label, annotation) entries answered, three guideline versions and 90
days of history. Data go in with COPY on PostgreSQL and executemany on
SQLite.

Measured:

- ``cold_seconds``: project_agreement with an empty cache (load every answer,
  every figure, store in the cache), split into load_answers and the rest;
- ``warm_render_seconds``: the dashboard page through Django's test client as
  a logged-in reviewer (middleware, session, permission check, the cache
  generation's aggregate queries, cache read, chart geometry, template);
  target < 1 s;
- ``warm_api_seconds``: GET /api/projects/{id}/agreement, warm;
- ``review_queue_seconds``: the review page's queue, cold (order computed)
  and warm (order cached);
- ``after_new_answers_seconds``: the dashboard and review pages right after
  new answers, which show their last figures and order and send the recount
  to a worker.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this script's folder first on the path, where benchmarks/queue.py
# would shadow the standard library's queue module; the repository root is
# what the imports below need.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tagwise_h8bench")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=28)
    parser.add_argument("--raters", type=int, default=3, help="annotations per item")
    parser.add_argument("--team", type=int, default=12, help="people the raters are drawn from")
    parser.add_argument("--observed", type=float, default=0.7)
    parser.add_argument("--repeat", type=int, default=5, help="timed warm requests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="measure on the data of an earlier run")
    return parser.parse_args()


def recreate_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not re.fullmatch(r"[a-z0-9_]+", name) or "bench" not in name:
        raise SystemExit(f"Refusing to drop a database that is not a benchmark database: {name!r}")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("TAGWISE_DATA_DIR", "/tmp/tagwise-bench-dashboard")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    # Measure as production runs: no query log, no debug pages.
    settings.DEBUG = False
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _copy(table: str, columns: list[str], arrays: dict[str, np.ndarray]) -> None:
    """Insert columns of equal length: COPY (CSV written by pyarrow) on PostgreSQL, executemany on SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        table_ = pa.table({name: arrays[name] for name in columns})
        pacsv.write_csv(table_, buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
                view = buffer.getbuffer()
                for start in range(0, len(view), 8 << 20):
                    copy.write(view[start : start + (8 << 20)])
        return
    rows = list(zip(*(arrays[name].tolist() for name in columns), strict=True))
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 200_000):
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows[start : start + 200_000]
            )


def build_project(args: argparse.Namespace) -> dict[str, Any]:
    """Create the project and its answers; returns counts and timings."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from annotate.models import Annotation, GuidelineVersion, Item, Judgment, Label, Membership, Project, Role

    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    user_model = get_user_model()
    with transaction.atomic():
        project = Project.objects.create(name="Dashboard benchmark")
        # No passwords: the measurement logs in with force_login, and hashing costs a second per user.
        reviewer = user_model.objects.create_user("bench-reviewer")
        Membership.objects.create(project=project, user=reviewer, role=Role.REVIEWER)
        team = [user_model.objects.create_user(f"bench-annotator-{i}") for i in range(args.team)]
        Membership.objects.bulk_create([Membership(project=project, user=u, role=Role.ANNOTATOR) for u in team])
        versions = [
            GuidelineVersion.objects.create(project=project, number=n, text=f"v{n}", published_at=timezone.now())
            for n in (1, 2, 3)
        ]
        labels = Label.objects.bulk_create(
            [Label(project=project, name=f"label{index:02d}", order=index) for index in range(args.labels)]
        )
        Label.objects.filter(pk=labels[-1].pk).update(introduced_in=versions[1])

    n, r, n_labels = args.items, args.raters, args.labels
    now = timezone.now()
    _copy(
        Item._meta.db_table,
        ["project_id", "external_id", "text", "metadata", "created_at"],
        {
            "project_id": np.full(n, project.pk),
            "external_id": np.array([f"item-{i}" for i in range(n)]),
            "text": np.array([f"Synthetic text number {i}" for i in range(n)]),
            "metadata": np.full(n, "{}"),
            "created_at": np.full(n, now.isoformat()),
        },
    )
    item_ids = np.array(sorted(Item.objects.filter(project=project).values_list("pk", flat=True)), dtype=np.int64)

    # Each item gets r distinct people, a version that rises with the item's
    # position (10% of annotations one version later), a day within 90 days.
    team_ids = np.array([u.pk for u in team], dtype=np.int64)
    people = np.argsort(rng.random((n, args.team)), axis=1)[:, :r]
    version_index = np.minimum((np.arange(n) * 3 // n)[:, None] + (rng.random((n, r)) < 0.1), 2)
    version_ids = np.array([v.pk for v in versions], dtype=np.int64)[version_index]
    day = (np.arange(n) * 90 // n)[:, None] + np.zeros((n, r), dtype=np.int64)
    created = np.datetime64(now.replace(tzinfo=None)) - np.timedelta64(90, "D") + day.astype("timedelta64[D]")
    created = created + rng.integers(0, 8 * 3600, size=(n, r)).astype("timedelta64[s]")
    stamps = np.datetime_as_string(created.ravel(), unit="s")
    _copy(
        Annotation._meta.db_table,
        ANNOTATION_COLUMNS,
        {
            "item_id": np.repeat(item_ids, r),
            "annotator_id": team_ids[people].ravel(),
            "guideline_version_id": version_ids.ravel(),
            "created_at": np.char.add(stamps, "+00:00"),
            "updated_at": np.char.add(stamps, "+00:00"),
            "duration_ms": rng.gamma(3.0, 4000.0, size=n * r).astype(np.int64),
            "skipped": np.full(n * r, "f" if connection.vendor == "postgresql" else 0),
            "skip_reason": np.full(n * r, ""),
            "queue_round": np.zeros(n * r, dtype=np.int64),
            "queue_reason": np.full(n * r, "cold_start"),
        },
    )
    annotation_rows = np.array(
        list(Annotation.objects.filter(item__project=project).order_by("item_id", "id").values_list("id", "item_id")),
        dtype=np.int64,
    )
    annotation_ids = annotation_rows[:, 0]

    # Answers: a true label set per item, each person right with their own
    # accuracy, 70% of entries answered; the label introduced in version 2 is
    # never answered under version 1.
    prevalence = rng.uniform(0.02, 0.3, size=n_labels)
    truth = rng.random((n, n_labels)) < prevalence
    accuracy = rng.uniform(0.8, 0.95, size=args.team)[people]  # (n, r)
    right = rng.random((n, r, n_labels)) < accuracy[:, :, None]
    values = np.where(right, truth[:, None, :], ~truth[:, None, :])
    answered = rng.random((n, r, n_labels)) < args.observed
    answered[:, :, -1] &= version_index >= 1
    slot, label = np.nonzero(answered.reshape(n * r, n_labels))
    label_ids = np.array([lab.pk for lab in labels], dtype=np.int64)
    confidence = np.array([0.5, 0.8, 1.0])[rng.integers(0, 3, size=len(slot))]
    _copy(
        Judgment._meta.db_table,
        ["annotation_id", "label_id", "value", "confidence"],
        {
            "annotation_id": annotation_ids[slot],
            "label_id": label_ids[label],
            "value": values.reshape(n * r, n_labels)[slot, label].astype(np.int64),
            "confidence": confidence,
        },
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "project_id": project.pk,
        "build_seconds": round(time.perf_counter() - started, 1),
        "annotations": len(annotation_ids),
        "judgments": len(slot),
    }


ANNOTATION_COLUMNS = [
    "item_id",
    "annotator_id",
    "guideline_version_id",
    "created_at",
    "updated_at",
    "duration_ms",
    "skipped",
    "skip_reason",
    "queue_round",
    "queue_reason",
]


def timed(function: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def measure(project_id: int, repeat: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client
    from django.utils import timezone

    from annotate.curation import project_agreement as pa
    from annotate.curation.answers import load_answers
    from annotate.curation.review import review_queue
    from annotate.models import Annotation, Project

    project = Project.objects.get(pk=project_id)
    cache.clear()
    generation_seconds, _ = timed(lambda: pa.generation(project=project))
    load_seconds, _ = timed(lambda: load_answers(project=project))
    cold_seconds, figures = timed(lambda: pa.project_agreement(project=project))

    client = Client(SERVER_NAME="localhost")
    client.force_login(get_user_model().objects.get(username="bench-reviewer"))
    url = f"/projects/{project_id}/agreement/"
    assert client.get(url).status_code == 200  # the first request also imports every view module
    renders = []
    for _ in range(repeat):
        seconds, response = timed(lambda: client.get(url))
        assert response.status_code == 200
        renders.append(seconds)
    api = []
    for _ in range(repeat):
        seconds, response = timed(lambda: client.get(f"/api/projects/{project_id}/agreement"))
        assert response.status_code == 200, response.status_code
        api.append(seconds)
    review_cold, page = timed(lambda: review_queue(project=project, limit=20, offset=0))
    review_warm, _ = timed(lambda: review_queue(project=project, limit=20, offset=0))

    # New answers arrive (an edit is enough to move the generation). The
    # pages now show their last figures and order at once and send the
    # recount to a worker (none runs here: the task waits in the broker).
    latest = Annotation.objects.filter(item__project=project).order_by("-pk").values_list("pk", flat=True)[0]
    Annotation.objects.filter(pk=latest).update(updated_at=timezone.now())
    stale_seconds, response = timed(lambda: client.get(url))
    assert response.status_code == 200 and b"a worker is counting them" in response.content
    review_stale_seconds, response = timed(lambda: client.get(f"/projects/{project_id}/review/"))
    assert response.status_code == 200 and b"a worker is ordering it again" in response.content
    return {
        "generation_query_seconds": round(generation_seconds, 4),
        "load_answers_seconds": round(load_seconds, 3),
        "cold_seconds": round(cold_seconds, 3),
        "cold_compute_seconds": figures["seconds"],
        "warm_render_seconds": {"median": round(statistics.median(renders), 4), "max": round(max(renders), 4)},
        "warm_render_under_1s": max(renders) < 1.0,
        "warm_api_seconds": {"median": round(statistics.median(api), 4), "max": round(max(api), 4)},
        "review_queue_seconds": {"cold": round(review_cold, 3), "warm": round(review_warm, 4)},
        "after_new_answers_seconds": {
            "dashboard_page_last_figures": round(stale_seconds, 4),
            "review_page_last_order": round(review_stale_seconds, 4),
        },
        "disputed_entries": page.total,
        "figures": {
            "pooled_kappa": figures["agreement"]["overall"]["pooled"]["kappa"],
            "macro_kappa": figures["agreement"]["overall"]["macro"]["kappa"],
            "versions": figures["versions"],
            "answers": figures["n_answers"],
            "annotators": len(figures["annotators"]),
        },
    }


def main() -> None:
    args = parse_args()
    if not args.reuse:
        recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.db import connection

    from annotate.models import Project

    if args.reuse:
        project = Project.objects.get(name="Dashboard benchmark")
        built: dict[str, Any] = {"project_id": project.pk, "reused": True}
    else:
        built = build_project(args)
    result = {
        "benchmark": "dashboard",
        "database": connection.vendor,
        "items": args.items,
        "labels": args.labels,
        "raters_per_item": args.raters,
        "observed": args.observed,
        **built,
        **measure(built["project_id"], args.repeat),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
