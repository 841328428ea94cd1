"""Build the load test's project: 100,000 items, 28 labels, annotators, a reviewer, a manager. Prints JSON.

Usage (from the repository root; the database must exist and be empty or
hold an earlier load project, which is replaced):

    DATABASE_URL=postgres://postgres@127.0.0.1:5440/tagwise_load \\
        .venv/bin/python benchmarks/load/setup_project.py [--items 100000] [--labels 28] [--annotators 50]

Users: ``load0`` ... ``loadN-1`` (annotators), ``load-reviewer``,
``load-manager``, all with the password ``load-password`` (or
``--password``). The project asks every label (``ask_mode=all``), needs two
annotations on 20% of the items, and retrains every 200 annotations. Some
history is stored first (two earlier annotators who disagree on 300 items)
so the reviewer has disputes to resolve. Bulk inserts as in
benchmarks/queue.py: one hashed password for everyone, ``bulk_create`` in
batches, COPY for the judgments.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
GOEMOTIONS = ROOT.parent / "shared" / "datasets" / "goemotions"
PROJECT_NAME = "Load test"


def texts(count: int, seed: int) -> list[str]:
    """GoEmotions texts when ../shared/datasets is there, else generated ones."""
    path = GOEMOTIONS / "train.tsv"
    if path.exists():
        rows = [line.split("\t", 1)[0] for line in path.read_text().splitlines() if line.strip()]
        return [f"{rows[index % len(rows)]} (#{index})" for index in range(count)]
    rng = random.Random(seed)
    words = ["order", "parcel", "refund", "late", "broken", "thanks", "great", "bill", "card", "login", "crash"]
    return [" ".join(rng.choices(words, k=rng.randint(6, 30))) for _ in range(count)]


def embed_texts(*, project_id: int) -> float:
    """Encode every text for the embedding model now, as a project's worker does within minutes of an import.

    The load test measures the steady state of a project (answers, retrains
    every 200 annotations), not the hour after a 100,000-item import when
    the worker encodes texts (docs/learner.md); the vectors are cached under
    TAGWISE_DATA_DIR and kept between runs.
    """
    from learner.training import warm_embeddings

    started = time.perf_counter()
    after: int | None = 0
    while after is not None:
        after = warm_embeddings(project_id=project_id, after_id=after)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=28)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--password", default="load-password")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-embed",
        dest="embed",
        action="store_false",
        help="skip encoding the texts for the embedding model before the run",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from annotate.models import Annotation, GuidelineVersion, Item, Label, Membership, Project, QueueEntry, Role
    from annotate.work.queue import build_cold_start_queue

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    Project.objects.filter(name=PROJECT_NAME).delete()
    User = get_user_model()
    User.objects.filter(username__startswith="load").delete()

    rng = random.Random(args.seed)
    project = Project.objects.create(
        name=PROJECT_NAME, overlap_fraction=0.2, overlap_count=2, retrain_every=200, ask_mode="all"
    )
    guideline = GuidelineVersion.objects.create(
        project=project, number=1, text="# Guideline\n\nLabel every emotion.", published_at=timezone.now()
    )
    labels = Label.objects.bulk_create(
        Label(project=project, name=f"label{index:02d}", order=index) for index in range(args.labels)
    )
    Item.objects.bulk_create(
        (
            Item(project=project, external_id=f"load-{index:06d}", text=text)
            for index, text in enumerate(texts(args.items, args.seed))
        ),
        batch_size=5000,
    )
    password = make_password(args.password)
    names = [f"load{index}" for index in range(args.annotators)] + ["load-history-a", "load-history-b"]
    users = User.objects.bulk_create(User(username=name, password=password) for name in names)
    reviewer = User.objects.create(username="load-reviewer", password=password)
    manager = User.objects.create(username="load-manager", password=password)
    Membership.objects.bulk_create(Membership(project=project, user=user, role=Role.ANNOTATOR) for user in users)
    Membership.objects.create(project=project, user=reviewer, role=Role.REVIEWER)
    Membership.objects.create(project=project, user=manager, role=Role.MANAGER)
    built_at = time.perf_counter()
    build_cold_start_queue(project=project, seed=args.seed)
    queue_s = time.perf_counter() - built_at

    # History: two earlier annotators who disagree on some labels of 300 overlap items, for the reviewer.
    history_items = list(
        QueueEntry.objects.filter(project=project, required=2).order_by("-priority").values_list("item_id", flat=True)
    )[-300:]
    annotations = [
        Annotation(item_id=item_id, annotator=user, guideline_version=guideline, idempotency_key=uuid.uuid4())
        for item_id in history_items
        for user in users[-2:]
    ]
    Annotation.objects.bulk_create(annotations, batch_size=5000)
    copy_sql = "COPY annotate_judgment (annotation_id, label_id, value, confidence) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        for annotation in annotations:
            for label in rng.sample(labels, 8):
                copy.write_row((annotation.pk, label.pk, int(rng.random() < 0.5), 0.8))
    QueueEntry.objects.filter(item_id__in=history_items).update(completed=2)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    embed_s = embed_texts(project_id=project.pk) if args.embed else 0.0
    print(
        json.dumps(
            {
                "project_id": project.pk,
                "items": args.items,
                "labels": args.labels,
                "annotators": args.annotators,
                "cold_start_queue_s": round(queue_s, 1),
                "embed_s": round(embed_s, 1),
                "total_s": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
