"""Benchmark the item browser, the review page by item and the annotator's figures on a large project; print JSON.

Usage (from the repository root):

    .venv/bin/python benchmarks/items.py \
        [--database-url sqlite:////tmp/tagwise-items-bench.sqlite3] \
        [--items 100000] [--labels 8] [--raters 3] [--repeat 5] [--reuse]

The project is the dashboard benchmark's (benchmarks/dashboard.py builds it:
every item annotated by 3 of a team of 12, 70% of entries answered), with 8
labels by default to keep the build short; 2% of the items carry a flag and
one in 500 texts contains the word "parcel". The database named in the URL is
DROPPED and recreated (PostgreSQL) or the file is deleted, unless ``--reuse``.

Measured (median and max of ``--repeat`` runs, warm):

- ``browser``: the first page and a page 90% of the way through the ids
  (``after``) for each filter, through ``browse_items``, and the whole page
  through Django's test client for the first page;
- ``model_browser_seconds``: the same for the model filters (yes, unsure,
  least sure first, with and without other filters), on a ready model
  version whose stored scores are random (every item x every label, as
  ``training.save_predictions`` writes them); each run opens the scores as a
  request does (``model_scores``), and the item page with the scores is
  rendered through the test client;
- ``review_by_item_seconds``: the review page by item, order cached;
- ``progress_seconds``: ``annotator_progress`` (done today, in total, left,
  the last capped), run on every annotate page and submit;
- ``my_agreement_seconds``: the annotator's own agreement, cold (computed)
  and warm (cached), for a team member with 25k annotations.
"""

from __future__ import annotations

import sys
from pathlib import Path

# As in benchmarks/dashboard.py: this folder's queue.py must not shadow the standard library.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.dashboard import build_project, recreate_database, setup_django, timed  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite:////tmp/tagwise-items-bench.sqlite3")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=8)
    parser.add_argument("--raters", type=int, default=3)
    parser.add_argument("--team", type=int, default=12)
    parser.add_argument("--observed", type=float, default=0.7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true")
    return parser.parse_args()


def add_flags_and_words(project_id: int) -> dict[str, int]:
    """Flag 2% of the items (by one of their annotators) and put "parcel" in one text in 500."""
    from django.db import transaction

    from annotate.models import Annotation, Item, ItemFlag

    with transaction.atomic():
        firsts = (
            Annotation.objects.filter(item__project_id=project_id)
            .order_by("item_id", "id")
            .values_list("item_id", "annotator_id")
        )
        flags, seen = [], set()
        for item_id, annotator_id in firsts.iterator(chunk_size=20_000):
            if item_id in seen or item_id % 50:
                continue
            seen.add(item_id)
            flags.append(ItemFlag(item_id=item_id, annotator_id=annotator_id, reason="unclear"))
        ItemFlag.objects.bulk_create(flags, batch_size=5_000)
        ids = list(Item.objects.filter(project_id=project_id).order_by("pk").values_list("pk", flat=True)[::500])
        Item.objects.filter(pk__in=ids).update(text="My parcel never arrived")
    return {"flags": len(flags), "texts_with_parcel": len(ids)}


def store_model_scores(project_id: int, seed: int) -> dict[str, Any]:
    """A ready model version with random stored scores of every item on every label (kept with --reuse)."""
    import numpy as np

    from annotate.curation.items import model_scores
    from annotate.models import Item, Project
    from learner import training
    from learner.models import ModelVersion

    project = Project.objects.get(pk=project_id)
    if (scores := model_scores(project=project)) is not None:
        return {"model_version": scores.version_id, "model_scores_reused": True}
    label_ids = list(project.active_labels().values_list("pk", flat=True))
    item_ids = np.array(Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    rng = np.random.default_rng(seed)
    # Mostly sure "no", some sure "yes", a few in between, as a trained model's scores look.
    proba = rng.beta(0.4, 1.6, size=(len(item_ids), len(label_ids))).astype(np.float32)
    thresholds = rng.uniform(0.3, 0.6, size=len(label_ids))
    version = ModelVersion.objects.create(
        project=project,
        status=ModelVersion.Status.READY,
        progress=1.0,
        label_ids=label_ids,
        thresholds=list(thresholds),
    )
    training.save_predictions(
        version=version,
        item_ids=item_ids,
        label_ids=label_ids,
        proba=proba,
        decisions=proba >= thresholds,
        thresholds=thresholds,
    )
    return {"model_version": version.pk, "model_scores_reused": False}


def repeat(function: Any, times: int) -> dict[str, float]:
    runs = [timed(function)[0] for _ in range(times)]
    return {"median": round(statistics.median(runs), 4), "max": round(max(runs), 4)}


def measure(project_id: int, times: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client

    from annotate.curation.annotator_agreement import annotator_agreement, compute_annotator_agreement
    from annotate.curation.items import ItemFilters, browse_items
    from annotate.curation.review import review_by_item
    from annotate.models import Item, Project
    from annotate.work.annotating import annotator_progress

    project = Project.objects.get(pk=project_id)
    labels = list(project.active_labels())
    team_member = get_user_model().objects.get(username="bench-annotator-0")
    ids = list(Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    deep = ids[int(len(ids) * 0.9)]
    filters = {
        "none": ItemFilters(),
        "text": ItemFilters(text="parcel"),
        "flagged": ItemFilters(flagged=True),
        "label_yes": ItemFilters(label=labels[0], state="yes"),
        "label_no": ItemFilters(label=labels[0], state="no"),
        "label_unobserved": ItemFilters(label=labels[0], state="unobserved"),
        "label_disputed": ItemFilters(label=labels[0], state="disputed"),
        "any_disputed": ItemFilters(state="disputed"),
        "annotator": ItemFilters(annotator_id=team_member.pk),
        "flagged_and_disputed": ItemFilters(flagged=True, state="disputed"),
        "annotator_said_no": ItemFilters(annotator_id=team_member.pk, label=labels[0], state="no"),
        "annotator_left_unobserved": ItemFilters(annotator_id=team_member.pk, label=labels[0], state="unobserved"),
        "guideline_version": ItemFilters(guideline_version=1),
        "guideline_version_and_label_no": ItemFilters(guideline_version=1, label=labels[0], state="no"),
    }
    browser: dict[str, Any] = {}
    for name, item_filters in filters.items():
        first = browse_items(project=project, filters=item_filters, after=None, limit=50)
        browser[name] = {
            "first_page": repeat(
                lambda f=item_filters: browse_items(project=project, filters=f, after=None, limit=50), times
            ),
            "page_at_90_percent": repeat(
                lambda f=item_filters: browse_items(project=project, filters=f, after=deep, limit=50), times
            ),
            "rows_on_first_page": len(first.rows),
        }
    client = Client(SERVER_NAME="localhost")
    client.force_login(get_user_model().objects.get(username="bench-reviewer"))
    url = f"/projects/{project_id}/items/"
    assert client.get(url).status_code == 200
    model_browser = measure_model_filters(project, labels, ids, times, client)
    pages = {
        "none": repeat(lambda: client.get(url), times),
        "flagged_and_label_disputed": repeat(
            lambda: client.get(url, {"flagged": "1", "label": labels[0].pk, "state": "disputed"}), times
        ),
        "annotator_version_label_no": repeat(
            lambda: client.get(
                url, {"annotator": team_member.pk, "version": "1", "label": labels[0].pk, "state": "no"}
            ),
            times,
        ),
    }
    review_by_item(project=project, limit=10)  # orders and caches the disputes
    by_item = repeat(lambda: review_by_item(project=project, limit=10), times)
    review_page = repeat(lambda: client.get(f"/projects/{project_id}/review/?by=item"), times)
    progress = repeat(lambda: annotator_progress(annotator=team_member, project=project), times)
    answered = annotator_progress(annotator=team_member, project=project).total
    cache.clear()
    cold, mine = timed(lambda: compute_annotator_agreement(annotator=team_member, project=project))
    annotator_agreement(annotator=team_member, project=project, answered=answered)
    warm = repeat(lambda: annotator_agreement(annotator=team_member, project=project, answered=answered), times)
    return {
        "browser_seconds": browser,
        "browser_page_render_seconds": pages,
        "model_browser_seconds": model_browser,
        "review_by_item_seconds": by_item,
        "review_by_item_page_render_seconds": review_page,
        "progress_seconds": progress,
        "my_agreement_seconds": {"cold": round(cold, 3), "warm": warm},
        "team_member_answered": answered,
        "team_member_labels_shown": len(mine.labels),
    }


def measure_model_filters(project: Any, labels: list[Any], ids: list[int], times: int, client: Any) -> dict[str, Any]:
    """The model filters through ``browse_items``, the scores opened on every run as a request opens them."""
    from annotate.curation.items import ItemFilters, browse_items, model_candidates, model_scores

    filters = {
        "model_yes": ItemFilters(label=labels[0], model="yes"),
        "model_unsure": ItemFilters(label=labels[0], model="unsure"),
        "least_sure_first_on_label": ItemFilters(label=labels[0], order="uncertain"),
        "least_sure_first_on_any_label": ItemFilters(order="uncertain"),
        "model_yes_answered_no": ItemFilters(label=labels[0], state="no", model="yes"),
        "model_yes_flagged": ItemFilters(label=labels[0], flagged=True, model="yes"),
        "model_yes_text": ItemFilters(label=labels[0], text="parcel", model="yes"),
    }

    def browse(item_filters: ItemFilters, after: int | None) -> Any:
        scores = model_scores(project=project)
        return browse_items(project=project, filters=item_filters, after=after, limit=50, scores=scores)

    result: dict[str, Any] = {}
    for name, item_filters in filters.items():
        first = browse(item_filters, None)
        # 90% of the way through this filter's own order: the id order, or the least sure first.
        scores = model_scores(project=project)
        candidates = model_candidates(scores=scores, filters=item_filters, labels=labels)
        deep = int(candidates[int(len(candidates) * 0.9)]) if len(candidates) else None
        result[name] = {
            "first_page": repeat(lambda f=item_filters: browse(f, None), times),
            "page_at_90_percent": repeat(lambda f=item_filters, d=deep: browse(f, d), times),
            "rows_on_first_page": len(first.rows),
            "candidates": len(candidates),
        }
    url = f"/projects/{project.pk}/items/"
    result["page_render"] = {
        "model_yes_least_sure_first": repeat(
            lambda: client.get(url, {"label": labels[0].pk, "model": "yes", "order": "uncertain"}), times
        ),
        "item_page_with_scores": repeat(lambda: client.get(f"{url}{ids[len(ids) // 2]}/"), times),
    }
    return result


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
        built |= add_flags_and_words(built["project_id"])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    built |= store_model_scores(built["project_id"], args.seed)
    result = {
        "benchmark": "items",
        "database": connection.vendor,
        "items": args.items,
        "labels": args.labels,
        **built,
        **measure(built["project_id"], args.repeat),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
