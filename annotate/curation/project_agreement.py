"""Every figure of a project's agreement dashboard, from the database, cached per project.

The pure computations live in annotate/stats/agreement.py; this module loads the
answers with annotate.curation.answers.load_answers, calls them, and adds the figures
that are about people and about the data set rather than about agreement:

- per annotator (by person, not by slot): annotations, skips, answers, median
  time per item, and agreement with the consensus of the others (leave-one-out);
- Cohen's kappa for each pair of people who answered the same entries;
- answers per label (positive, negative, unobserved), label cardinality and
  density, a co-occurrence matrix of consensus positives, and progress per day.

"Current figures" use the active labels only: a retired or merged label keeps
its history in the database but is neither asked nor trained on, so it is not
counted here. docs/agreement.md explains every figure.

The result is cached in Django's cache under a key that holds a *generation*
of the project's data (see :func:`generation`). Any new, edited or deleted
annotation, any resolution, any label-set change and any new item changes the
generation, so the next request recomputes; nothing has to remember to clear
the cache, and no signal is involved.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from typing import Any

import numpy as np
import numpy.typing as npt
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from threadpoolctl import threadpool_limits

from annotate import jobs
from annotate.curation.answers import AnswerArrays, load_answers
from annotate.models import Annotation, Item, Label, Project, Resolution
from annotate.setup.labelset import open_merge_conflicts
from annotate.stats.agreement import (
    agreement_report,
    cohen_by_person_pair,
    consensus,
    leave_one_out_by_person,
    mask_to_version,
)

# Bump when the shape or meaning of the figures changes, so that cached
# figures computed by older code are not served after a deploy.
FIGURES_VERSION = 1
# Stale generations are never read again; the timeout only bounds how long
# they occupy the cache.
CACHE_SECONDS = 7 * 24 * 3600
N_BOOT = 200
# Projects with fewer answers than this are recounted in the request (well
# under a second); larger ones show their last figures while a worker counts.
INLINE_ANSWERS = 200_000
# How long a requested recount blocks another request for the same
# generation; a lost task is asked for again after this.
REFRESH_SECONDS = 600
# A consensus at or above this share of confident "yes" counts as positive.
POSITIVE_THRESHOLD = 0.5


# ---------------------------------------------------------------------------
# Cache generation
# ---------------------------------------------------------------------------


def answers_generation(*, project: Project) -> str:
    """A fingerprint of everything the answer arrays depend on, except resolutions.

    - Annotations: their count, largest id and latest ``updated_at``. A submit
      adds a row (count and id change), an edit rewrites the judgments and
      sets ``updated_at`` to now, and a deletion lowers the count.
    - Items: count and largest id, because every item is on the item axis.
    - Labels: id, introduction, retirement and merge of each label, so a
      label-set change (retire, merge, add) is seen even though a merge moves
      judgments without touching their annotations.

    Three aggregate queries over indexed columns; on 100k items and 300k
    annotations they take a few tens of milliseconds on PostgreSQL, which is
    cheaper than keeping a counter up to date in every code path that writes
    answers. The review queue uses this generation alone, because it
    filters resolved entries out at read time.
    """
    annotations = Annotation.objects.filter(item__project=project).aggregate(
        n=Count("id"), last=Max("id"), updated=Max("updated_at")
    )
    items = Item.objects.filter(project=project).aggregate(n=Count("id"), last=Max("id"))
    labels = list(
        Label.objects.filter(project=project)
        .order_by("id")
        .values_list("id", "introduced_in_id", "retired_in_id", "merged_into_id")
    )
    parts = (
        annotations["n"],
        annotations["last"],
        annotations["updated"].isoformat() if annotations["updated"] else None,
        items["n"],
        items["last"],
        labels,
    )
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def generation(*, project: Project) -> str:
    """The answers generation plus the resolutions (count and latest change), which move the consensus."""
    resolutions = Resolution.objects.filter(item__project=project).aggregate(n=Count("id"), updated=Max("updated_at"))
    parts = (
        answers_generation(project=project),
        resolutions["n"],
        resolutions["updated"].isoformat() if resolutions["updated"] else None,
    )
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def cache_key(*, project: Project, generation_: str) -> str:
    return f"tagwise:agreement:v{FIGURES_VERSION}:{project.pk}:{generation_}"


def latest_key(*, project: Project) -> str:
    return f"tagwise:agreement:v{FIGURES_VERSION}:{project.pk}:latest"


def refreshing_key(*, project: Project, generation_: str) -> str:
    return f"tagwise:agreement:v{FIGURES_VERSION}:{project.pk}:refreshing:{generation_}"


def project_agreement(*, project: Project, current: str | None = None) -> dict[str, Any]:
    """All dashboard figures of the project, from the cache when its data have not changed.

    ``current`` is the project's generation if the caller has just read it.
    The figures computed last are also kept under a key of their own, for
    ``agreement_or_latest``.
    """
    current = current or generation(project=project)
    key = cache_key(project=project, generation_=current)
    figures = cache.get(key)
    if figures is None:
        figures = compute_project_agreement(project=project)
        figures["generation"] = current
        cache.set_many({key: figures, latest_key(project=project): figures}, CACHE_SECONDS)
    return figures


def agreement_or_latest(*, project: Project, current: str) -> tuple[dict[str, Any], bool]:
    """The figures to show now, and whether they are those of the current generation.

    The current figures when they are cached, or when the project is small
    enough to count in the request. Otherwise the figures computed last (a
    recount of millions of answers takes seconds: docs/benchmarks.md), and the worker is asked, once
    per generation, to compute the current ones; the page says so and
    polls until they are there.
    """
    figures = cache.get(cache_key(project=project, generation_=current))
    if figures is not None:
        return figures, True
    latest = cache.get(latest_key(project=project))
    if latest is None or latest["n_answers"] < INLINE_ANSWERS:
        return project_agreement(project=project, current=current), True
    if cache.add(refreshing_key(project=project, generation_=current), True, REFRESH_SECONDS):
        jobs.send(jobs.REFRESH_AGREEMENT, project.pk)
    return latest, False


# ---------------------------------------------------------------------------
# The computation
# ---------------------------------------------------------------------------


def _conflicts_not_disputed(*, project: Project, answers: AnswerArrays, disputed: npt.NDArray[np.bool_]) -> int:
    """Open merge conflicts on entries that are not disputed anyway: with the disputes, what the review tab lists.

    A conflict (a yes to a merged label against a no to its target) goes to
    review even when no two annotators disagree; one entry may hold several
    annotators' conflicts.
    """
    label_index = {label_id: column for column, label_id in enumerate(answers.label_ids)}
    pairs = {(c.item_id, c.label_id) for c in open_merge_conflicts(project=project)}
    extra = 0
    for item_id, label_id in pairs:
        row = int(np.searchsorted(answers.item_ids, item_id))
        known = row < len(answers.item_ids) and answers.item_ids[row] == item_id and label_id in label_index
        extra += not (known and disputed[row, label_index[label_id]])
    return extra


def compute_project_agreement(*, project: Project) -> dict[str, Any]:
    """Compute every figure without the cache. Returns plain JSON-ready data."""
    started = time.perf_counter()
    labels = list(project.active_labels().select_related("introduced_in"))
    answers = load_answers(project=project, labels=labels, answered_only=True)
    n_items = Item.objects.filter(project=project).count()
    # Answers given under a version before their label's introduction are
    # out of scope (docs/architecture.md, the three-state rule); masking once here keeps every figure
    # below consistent with the agreement report.
    values = mask_to_version(answers.values, answers.version, label_introduced=answers.label_introduced)
    n_slots = values.shape[2]
    # BLAS threads spin on a busy two-core machine and cost more CPU than
    # they save on these small products; one thread is faster in practice.
    with threadpool_limits(limits=1):
        report = agreement_report(
            values,
            answers.confidence,
            answers.version,
            label_introduced=answers.label_introduced,
            label_names=answers.label_names,
            rater_names=[f"slot {slot + 1}" for slot in range(n_slots)],
            n_boot=N_BOOT,
        )
        agreed = consensus(values, answers.confidence, answers.resolution)
        people = annotator_figures(project=project, answers=answers, values=values)
        per_label = label_figures(
            answers=answers, values=values, targets=agreed.targets, disputed=agreed.disputed, n_items=n_items
        )
        cardinality = cardinality_figures(agreed.targets)
        cooccurrence = cooccurrence_counts(agreed.targets)
    retired = Label.objects.filter(project=project).exclude(pk__in=[label.pk for label in labels])
    return {
        "computed_at": timezone.now().isoformat(),
        "seconds": round(time.perf_counter() - started, 3),
        "labels": answers.label_names,
        "label_ids": answers.label_ids,
        "label_colors": [label.color for label in labels],
        "retired_labels": list(retired.order_by("order", "id").values_list("name", flat=True)),
        "versions": [entry["version"] for entry in report["by_version"]],
        "n_items": n_items,
        "n_annotated_items": int((answers.rater_ids >= 0).any(axis=1).sum()),
        "n_answers": int((~np.isnan(values)).sum()),
        "n_resolutions": int((~np.isnan(answers.resolution)).sum()),
        "n_disputed": int(agreed.disputed.sum()),
        "n_to_review": int(agreed.disputed.sum())
        + _conflicts_not_disputed(project=project, answers=answers, disputed=agreed.disputed),
        "agreement": report,
        "judgments": per_label,
        "cardinality": cardinality,
        "cooccurrence": cooccurrence,
        "progress": progress_per_day(project=project),
        "annotators": people["annotators"],
        "annotator_pairs": people["pairs"],
    }


def label_figures(
    *,
    answers: AnswerArrays,
    values: npt.NDArray[np.float64],
    targets: npt.NDArray[np.float64],
    disputed: npt.NDArray[np.bool_],
    n_items: int,
) -> list[dict[str, Any]]:
    """Answers per label, counted per annotation, and targets per label, counted per item.

    ``positive`` and ``negative`` are answers (judgment rows). ``unobserved``
    is per annotation: the annotations that were asked the label (made under a
    version at or after its introduction) but left it unanswered, so
    positive + negative + unobserved = ``asked``. ``items_without_target`` is
    per item: of the project's ``n_items``, those with neither an answer nor a
    resolution for the label (the arrays hold the answered items only).
    """
    yes = np.add.reduce(values == 1.0, axis=(0, 2), dtype=np.int64)
    no = np.add.reduce(values == 0.0, axis=(0, 2), dtype=np.int64)
    # An annotation is asked a label when it exists (version >= 0) and was
    # made at or after the label's introduction; version 0 means "no
    # guideline", which only labels present from the start are asked under.
    version = answers.version
    asked = np.array(
        [int(((version >= 0) & (version >= introduced)).sum()) for introduced in answers.label_introduced.tolist()],
        dtype=np.int64,
    )
    seen = ~np.isnan(targets)
    positive_target = np.add.reduce(targets >= POSITIVE_THRESHOLD, axis=0, dtype=np.int64)
    resolved = np.add.reduce(~np.isnan(answers.resolution), axis=0, dtype=np.int64)
    return [
        {
            "label": name,
            "positive": int(yes[index]),
            "negative": int(no[index]),
            "unobserved": int(asked[index] - yes[index] - no[index]),
            "asked": int(asked[index]),
            "items_with_target": int(seen[:, index].sum()),
            "items_without_target": n_items - int(seen[:, index].sum()),
            "items_positive": int(positive_target[index]),
            "disputed": int(disputed[:, index].sum()),
            "resolved": int(resolved[index]),
        }
        for index, name in enumerate(answers.label_names)
    ]


def cardinality_figures(targets: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Label cardinality and density over the items with at least one target.

    Cardinality is the mean number of labels an item carries (consensus at or
    above 0.5); density is cardinality divided by the number of labels. An
    unobserved label counts as "not carried", so with partial answers both
    are lower bounds; ``positive_share_of_observed`` (positives over all
    targets) is the density estimate that ignores unobserved entries.
    """
    n_labels = targets.shape[1]
    seen = ~np.isnan(targets)
    counted = seen.any(axis=1)
    positives = np.add.reduce(targets >= POSITIVE_THRESHOLD, axis=1, dtype=np.int64)[counted]
    n_items = int(counted.sum())
    cardinality = float(positives.mean()) if n_items else None
    n_targets = int(seen.sum())
    return {
        "items": n_items,
        "labels": n_labels,
        "cardinality": cardinality,
        "density": cardinality / n_labels if cardinality is not None and n_labels else None,
        "positive_share_of_observed": float(positives.sum()) / n_targets if n_targets else None,
        # histogram[k] = items carrying exactly k labels.
        "histogram": np.bincount(positives, minlength=n_labels + 1).astype(int).tolist() if n_labels else [],
    }


def cooccurrence_counts(targets: npt.NDArray[np.float64]) -> list[list[int]]:
    """(labels x labels) items on which both labels are positive by consensus; the diagonal counts each label."""
    positive = (targets >= POSITIVE_THRESHOLD).astype(np.float32)
    # float32 sums integers exactly up to 2 ** 24 items, far beyond a project.
    return np.rint(positive.T @ positive).astype(np.int64).tolist()


def progress_per_day(*, project: Project) -> list[dict[str, Any]]:
    """Annotations (answered and skipped) per calendar day in the project's time zone."""
    rows = (
        Annotation.objects.filter(item__project=project)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(answered=Count("id", filter=Q(skipped=False)), skipped=Count("id", filter=Q(skipped=True)))
        .order_by("day")
    )
    return [
        {"day": _day(row["day"]), "annotations": row["answered"], "skipped": row["skipped"]}
        for row in rows
        if row["day"] is not None
    ]


def _day(value: datetime.date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


# ---------------------------------------------------------------------------
# Per person
# ---------------------------------------------------------------------------


def _fetch_array(queryset: Any, columns: int) -> npt.NDArray[np.int64]:
    """Run a values_list queryset on a plain cursor and return an integer array.

    A project has hundreds of thousands of annotations; the ORM's per-row
    conversion costs about three times as much as the cursor's tuples here.
    """
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, columns)


def annotator_figures(*, project: Project, answers: AnswerArrays, values: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Per person: annotations, skips, answers, median seconds per item, leave-one-out agreement; and pairs."""
    rows = _fetch_array(
        Annotation.objects.filter(item__project=project).values_list("annotator_id", "duration_ms", "skipped"), 3
    )
    people = np.unique(rows[:, 0])
    totals = np.bincount(np.searchsorted(people, rows[:, 0]), minlength=len(people))
    names = dict(get_user_model().objects.filter(pk__in=people.tolist()).values_list("pk", "username"))
    answered = rows[rows[:, 2] == 0]
    # Sorting by (person, duration) once gives every person's median by position.
    answered = answered[np.lexsort((answered[:, 1], answered[:, 0]))]
    starts = np.searchsorted(answered[:, 0], people, side="left")
    ends = np.searchsorted(answered[:, 0], people, side="right")
    loo = leave_one_out_by_person(values, answers.confidence, answers.rater_ids)
    observed = ~np.isnan(values)
    per_slot_answers = observed.sum(axis=1)  # (items, slots)
    answer_counts = np.bincount(
        np.searchsorted(people, answers.rater_ids[answers.rater_ids >= 0]),
        weights=per_slot_answers[answers.rater_ids >= 0],
        minlength=len(people),
    )
    annotators = []
    for index, user_id in enumerate(people.tolist()):
        durations = answered[starts[index] : ends[index], 1]
        annotators.append(
            {
                "user_id": user_id,
                "username": names.get(user_id, f"user {user_id}"),
                "annotations": len(durations),
                "skipped": int(totals[index]) - len(durations),
                "answers": int(answer_counts[index]),
                "median_seconds": float(np.median(durations)) / 1000.0 if len(durations) else None,
                "agreement": loo.get(user_id, {"percent_agreement": None, "kappa": None, "n_units": 0, "n_ties": 0}),
            }
        )
    annotators.sort(key=lambda row: (-row["annotations"], row["username"]))
    pairs = cohen_by_person_pair(values, answers.rater_ids)
    for pair in pairs:
        pair["usernames"] = [names.get(user_id, f"user {user_id}") for user_id in pair["annotators"]]
    pairs.sort(key=lambda pair: -pair["n_units"])
    return {"annotators": annotators, "pairs": pairs}
