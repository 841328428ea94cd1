"""Benchmark assignment on PostgreSQL: next_item and submit-and-next on 100k items. Prints JSON.

Usage (from the repository root; PostgreSQL on 127.0.0.1 with trust auth):

    .venv/bin/python benchmarks/queue.py [--database-url postgres://postgres@127.0.0.1:5432/tagwise_h4bench]
        [--cache-url redis://127.0.0.1:6379/9] [--items 100000] [--labels 28] [--annotators 40]
        [--repeat 300] [--concurrency 16] [--reuse]

The database named in --database-url is DROPPED and created again: give the
benchmark a database of its own. The data imitate a project in full swing:

- 100,000 items (GoEmotions texts when ../shared/datasets is there, else
  generated), 28 labels, 20% overlap items that need two annotations;
- a cold-start queue built by build_cold_start_queue (TF-IDF + k-means), then
  re-ranked once through set_queue_priorities as the learner would (random
  priorities, three focus labels per item);
- about 44,000 existing annotations by 40 annotators with about 60% of the
  labels answered each (30% of single items done, 40% of overlap items done
  and 20% half done), some live leases of other annotators and expired ones.

It then measures, for annotators that already have a history in the project:

- next_item latency with 1 annotator and with 16 annotators at once (16
  processes, like gunicorn workers; each submits between its calls), in two
  ways: "saturated" (no pause between calls: 16 clients and PostgreSQL on
  two cores, a stress figure) and "burst" (all 16 call at the same instant,
  round after round: the contention on the head of the queue);
- the server time of a whole submit-and-next htmx request through the Django
  test client (middleware, session, permission, submit, next_item, template);
- EXPLAIN (ANALYZE, BUFFERS) of the next-item candidate query and the claim.
"""

# ruff: noqa: E402 - the path fix below must run before the other imports.
from __future__ import annotations

import sys
from pathlib import Path

# This file is called queue.py and Python puts its folder first on the path,
# where it would shadow the standard library's ``queue`` (which
# multiprocessing and psycopg import). Drop the folder from the path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse
import json
import multiprocessing
import os
import platform
import random
import re
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOEMOTIONS = ROOT.parent / "shared" / "datasets" / "goemotions"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tagwise_h4bench")
    parser.add_argument(
        "--cache-url",
        default="",
        help="the Redis cache production uses (docker-compose sets CACHE_URL); sessions are read from it",
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=28)
    parser.add_argument("--annotators", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=300, help="timed calls per measurement and process")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ask-mode",
        choices=["all", "focus"],
        default="focus",
        help="what the project asks (docs/annotating.md); focus re-ranks in rounds, the costlier path",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure again on the database of an earlier run instead of rebuilding"
    )
    return parser.parse_args()


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"Refusing to drop a database with an unusual name: {name!r}")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def setup_django(url: str, cache_url: str = "") -> None:
    os.environ["DATABASE_URL"] = url
    if cache_url:
        os.environ["CACHE_URL"] = cache_url
    os.environ.setdefault("TAGWISE_DATA_DIR", "/tmp/tagwise-bench-queue")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    # Measure as production runs: no query log kept per request.
    settings.DEBUG = False
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def texts(count: int, seed: int) -> list[str]:
    path = GOEMOTIONS / "train.tsv"
    if path.exists():
        rows = [line.split("\t", 1)[0] for line in path.read_text().splitlines() if line.strip()]
        return [rows[index % len(rows)] for index in range(count)]
    rng = random.Random(seed)
    words = ["order", "parcel", "refund", "late", "broken", "thanks", "great", "bill", "card", "login", "crash"]
    return [" ".join(rng.choices(words, k=rng.randint(6, 30))) for _ in range(count)]


def label_names(count: int) -> list[str]:
    path = GOEMOTIONS / "labels.txt"
    names = path.read_text().split() if path.exists() else []
    names = [name for name in names if name][:count]
    return names + [f"label{index}" for index in range(len(names), count)]


def build_project(args: argparse.Namespace) -> dict[str, Any]:
    """Create the project, its queue and its history. Returns timings of the queue builders."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from annotate.models import (
        Annotation,
        GuidelineVersion,
        Item,
        Judgment,
        Label,
        Lease,
        Membership,
        Project,
        QueueEntry,
        QueueReason,
    )
    from annotate.work.queue import build_cold_start_queue, set_queue_priorities

    rng = random.Random(args.seed)
    project = Project.objects.create(
        name="Queue benchmark", overlap_fraction=0.2, overlap_count=2, retrain_every=0, ask_mode=args.ask_mode
    )
    guideline = GuidelineVersion.objects.create(
        project=project,
        number=1,
        text="# Guideline\n\nLabel every emotion the writer expresses.",
        changelog="First version.",
        published_at=timezone.now(),
    )
    labels = Label.objects.bulk_create(
        Label(project=project, name=name, order=index) for index, name in enumerate(label_names(args.labels))
    )
    Item.objects.bulk_create(
        (
            Item(project=project, external_id=f"item-{index:06d}", text=text)
            for index, text in enumerate(texts(args.items, args.seed))
        ),
        batch_size=5000,
    )
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench{index}") for index in range(args.annotators)
    )
    Membership.objects.bulk_create(Membership(project=project, user=user) for user in users)

    started = time.perf_counter()
    build_cold_start_queue(project=project, seed=args.seed)
    cold_start_s = time.perf_counter() - started

    label_ids = [label.pk for label in labels]
    item_ids = list(Item.objects.filter(project=project).values_list("pk", flat=True))
    rerank = [(item_id, rng.random(), rng.sample(label_ids, 3), QueueReason.UNCERTAIN) for item_id in item_ids]
    started = time.perf_counter()
    set_queue_priorities(project=project, entries=rerank, model_version_id=1)
    rerank_s = time.perf_counter() - started

    # Existing work: who answered what.
    entries = list(QueueEntry.objects.filter(project=project).values_list("pk", "item_id", "required"))
    annotations: list[Annotation] = []
    completed: dict[int, int] = {}
    now = timezone.now()
    for entry_id, item_id, required in entries:
        draw = rng.random()
        # Single items: 30% done. Overlap items: 40% done, 20% waiting for their second annotator.
        thresholds = [0.3] if required == 1 else [0.6, 0.4]
        count = sum(draw < threshold for threshold in thresholds)
        for user in rng.sample(users, count):
            annotations.append(
                Annotation(
                    item_id=item_id,
                    annotator=user,
                    guideline_version=guideline,
                    duration_ms=rng.randint(3000, 40000),
                    created_at=now,
                    updated_at=now,
                    idempotency_key=uuid.uuid4(),
                    # Answered in the round the re-rank above started.
                    queue_round=1 if args.ask_mode == "focus" else 0,
                )
            )
        if count:
            completed[entry_id] = count
    Annotation.objects.bulk_create(annotations, batch_size=5000)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY annotate_judgment (annotation_id, label_id, value, confidence) FROM STDIN"
        ) as copy:
            for annotation in annotations:
                for label_id in label_ids:
                    if rng.random() < 0.6:
                        copy.write_row(
                            (annotation.pk, label_id, int(rng.random() < 0.08), rng.choice([0.55, 0.8, 1.0]))
                        )
        cursor.execute(
            "UPDATE annotate_queueentry q SET completed = c.n FROM (SELECT item_id, count(*) AS n "
            "FROM annotate_annotation WHERE NOT skipped GROUP BY item_id) c WHERE q.item_id = c.item_id"
        )
    # Other annotators at work right now, and leases left behind by closed tabs.
    open_items = list(QueueEntry.objects.filter(project=project, completed=0).values_list("item_id", flat=True)[:400])
    Lease.objects.bulk_create(
        Lease(
            item_id=item_id,
            annotator=users[index % len(users)],
            created_at=now,
            expires_at=now + (timedelta(minutes=20) if index < 30 else -timedelta(minutes=5)),
        )
        for index, item_id in enumerate(open_items)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    # A re-rank of a project with history that asks every item other labels:
    # in "focus" projects every entry starts a new round, which reads the
    # judgments of every item (the worst case of set_queue_priorities).
    rerank = [(item_id, rng.random(), rng.sample(label_ids, 3), QueueReason.UNCERTAIN) for item_id in item_ids]
    started = time.perf_counter()
    set_queue_priorities(project=project, entries=rerank, model_version_id=2)
    rerank_history_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "project_id": project.pk,
        "ask_mode": args.ask_mode,
        "cold_start_s": round(cold_start_s, 2),
        "set_queue_priorities_s": round(rerank_s, 2),
        "set_queue_priorities_with_history_s": round(rerank_history_s, 2),
        "existing_annotations": len(annotations),
        "existing_judgments": Judgment.objects.filter(annotation__item__project=project).count(),
        "open_queue_entries": QueueEntry.objects.filter(project=project, completed__lt=F("required")).count(),
    }


def percentiles(samples: list[tuple[float, float]]) -> dict[str, Any]:
    """p50, p95 and max of the wall times, and p50 and p95 of the CPU times."""

    def pick(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
            "max": round(ordered[-1], 2),
        }

    wall = pick([sample[0] for sample in samples])
    cpu = pick([sample[1] for sample in samples])
    return {"n": len(samples), **wall, "cpu_p50": cpu["p50"], "cpu_p95": cpu["p95"]}


# Set in each worker process of the burst measure: all of them wait here before every call.
BARRIER: Any = None


def annotate_loop(project_id: int, username: str, repeat: int, seed: int, start_at: float) -> list[tuple[float, float]]:
    """next_item (timed) then submit (not timed), ``repeat`` times; returns (wall, CPU) ms of each next_item.

    The CPU time is this process's own (Python and driver) time in the call:
    unlike the wall time, it does not grow when the machine is busy with
    other work, so the two together separate cost from contention. In the
    burst measure every process waits at a barrier before each call, so all
    of them ask for the head of the queue at the same instant.
    """
    from django.contrib.auth import get_user_model
    from django.db import connections

    from annotate.models import Project
    from annotate.work.annotating import Answer, answerable_labels, asked_labels, earlier_answers, submit_annotation
    from annotate.work.queue import next_item

    connections.close_all()
    project = Project.objects.get(pk=project_id)
    user = get_user_model().objects.get(username=username)
    labels = answerable_labels(project=project)
    rng = random.Random(seed)
    while time.time() < start_at:
        time.sleep(0.01)
    timings = []
    for _ in range(repeat):
        if BARRIER is not None:
            BARRIER.wait()
        started, cpu = time.perf_counter(), time.process_time()
        got = next_item(annotator=user, project=project)
        timings.append(((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000))
        if got is None:
            break
        item, entry = got
        # Answer up to ten of the labels the page asks (in a focus-label project, the round's open ones).
        earlier = earlier_answers(annotator=user, item=item, entry=entry)
        asked = asked_labels(project=project, labels=labels, entry=entry, answered=earlier.answers if earlier else ())
        chosen = rng.sample(asked, min(10, len(asked)))
        answers = {label.pk: Answer(int(rng.random() < 0.1), 0.8) for label in chosen}
        submit_annotation(
            annotator=user, item=item, answers=answers, idempotency_key=uuid.uuid4(), duration_ms=5000, labels=labels
        )
    connections.close_all()
    return timings


def _share_barrier(barrier: Any) -> None:
    global BARRIER
    BARRIER = barrier


def measure_concurrent(
    project_id: int, usernames: list[str], repeat: int, *, burst: bool = False
) -> list[tuple[float, float]]:
    """Each annotator in its own process (as gunicorn workers are), calling next_item and submitting.

    Without ``burst`` they loop with no pause at all, so the two cores are
    saturated by 16 clients plus PostgreSQL: a stress figure, in which a
    call's latency is mostly its wait for a core. With ``burst`` all 16 call
    at the same instant and submit before the next round: the contention on
    the head of the queue that the row locks must absorb.
    """
    from django.db import connections

    connections.close_all()
    start_at = time.time() + 2.0
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(usernames)) if burst else None
    with context.Pool(len(usernames), initializer=_share_barrier, initargs=(barrier,)) as pool:
        results = pool.starmap(
            annotate_loop,
            [(project_id, name, repeat, index, start_at) for index, name in enumerate(usernames)],
        )
    return [ms for timings in results for ms in timings]


def measure_submit_and_next(project_id: int, username: str, repeat: int, seed: int) -> list[tuple[float, float]]:
    """Server time of the htmx submit-and-next request, through the whole Django stack."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    rng = random.Random(seed)
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=username))
    page = client.get(f"/projects/{project_id}/annotate/").content.decode()
    timings = []
    for _ in range(repeat):
        action = re.search(r'hx-post="(/projects/\d+/annotate/\d+/submit/)"', page).group(1)
        key = re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', page).group(1)
        data = {"idempotency_key": key, "duration_ms": "5000", "confirm_rules": "1"}
        # Up to ten of the labels the page asks.
        asked = re.findall(r'<div class="label-row[^"]*"\s+data-label="(\d+)"', page)
        for label_id in rng.sample(asked, min(10, len(asked))):
            data[f"label-{label_id}"] = "yes" if rng.random() < 0.1 else "no"
            data[f"conf-{label_id}"] = "0.8"
        started, cpu = time.perf_counter(), time.process_time()
        response = client.post(action, data, HTTP_HX_REQUEST="true")
        timings.append(((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000))
        if response.status_code != 200:
            raise RuntimeError(f"submit answered {response.status_code}: {response.content[:500]!r}")
        page = response.content.decode()
    return timings


def explain(project_id: int, username: str) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement next_item runs, as PostgreSQL runs them.

    next_item is one call of the PL/pgSQL function ``tagwise_next_item``
    (migration 0006). Its statements are planned by PL/pgSQL, so the plans
    are caught with auto_explain (``log_nested_statements``) and sent to
    this client as LOG messages, with ``plan_cache_mode =
    force_generic_plan``: after five calls PL/pgSQL settles on the generic
    plan, which is the one that matters. Everything runs in a transaction
    that is rolled back; the lease of each call is deleted before the next,
    so every call walks the candidate query and claims.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from annotate.db import next_item_call
    from annotate.models import Lease

    user = get_user_model().objects.get(username=username)
    now = timezone.now()
    messages: list[str] = []
    connection.ensure_connection()
    connection.connection.add_notice_handler(lambda diagnostic: messages.append(diagnostic.message_primary or ""))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_analyze = on", "log_buffers = on", "log_nested_statements = on"):
            cursor.execute(f"SET LOCAL auto_explain.{setting}")
        cursor.execute("SET LOCAL client_min_messages = log")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        sql, params = next_item_call(
            annotator=user.pk,
            project=project_id,
            now=now,
            expires=now + timedelta(minutes=30),
            exclude=[],
            own_transaction=False,
        )
        for _ in range(6):
            messages.clear()
            cursor.execute(sql, params)
            cursor.fetchall()
            Lease.objects.filter(annotator=user).delete()
        transaction.set_rollback(True)
    plans = [message.split("\n") for message in messages if "Query Text:" in message]

    def plan_of(marker: str) -> list[str]:
        return next((plan for plan in plans if any(marker in line for line in plan[:24])), [])

    candidate = plan_of("FOR UPDATE OF q SKIP LOCKED")
    result = {
        "held_plan": plan_of("SELECT l.id, l.item_id, l.expires_at"),
        "candidate_plan": candidate,
        "claim_plan": plan_of("INSERT INTO annotate_lease"),
        "call_plan": plan_of("tagwise_next_item("),
    }
    text = "\n".join(candidate)
    result["uses_index"] = "queue_open_priority_idx" in text and "Seq Scan" not in text
    return result


def main() -> None:
    args = parse_args()
    if args.reuse:
        setup_django(args.database_url, args.cache_url)
        from annotate.models import Project

        built = {"project_id": Project.objects.get(name="Queue benchmark").pk, "reused_database": True}
    else:
        recreate_database(args.database_url)
        setup_django(args.database_url, args.cache_url)
        started = time.perf_counter()
        built = build_project(args)
        built["setup_s"] = round(time.perf_counter() - started, 1)
    project_id = built.pop("project_id")

    single = annotate_loop(project_id, "bench0", args.repeat, 1, time.time())
    rounds = max(args.repeat // 3, 50)
    concurrent = measure_concurrent(project_id, [f"bench{index + 1}" for index in range(args.concurrency)], rounds)
    others = [f"bench{args.concurrency + 3 + index}" for index in range(args.concurrency)]
    burst = measure_concurrent(project_id, others, rounds, burst=True)
    request = measure_submit_and_next(project_id, f"bench{args.concurrency + 1}", args.repeat, 2)
    plans = explain(project_id, f"bench{args.concurrency + 2}")

    result = {
        "benchmark": "queue",
        "database": "postgresql",
        "items": args.items,
        "labels": args.labels,
        "annotators": args.annotators,
        **built,
        "next_item_ms": {
            "single": percentiles(single),
            f"concurrent_{args.concurrency}_saturated": percentiles(concurrent),
            f"concurrent_{args.concurrency}_burst": percentiles(burst),
        },
        "submit_and_next_request_ms": percentiles(request),
        "targets_ms": {"next_item_single_p95": 10, "next_item_concurrent_p95": 30, "submit_and_next_p95": 60},
        "explain": plans,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
