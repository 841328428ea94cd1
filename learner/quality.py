"""Is more labelling worth it? Each ready version's quality on exploration answers it never saw, and the learning curve.

An exploration item is a uniformly random item asked every label it still
needs (docs/annotating.md, "What annotators are asked"), so its answers are
an unbiased sample of the project's entries. A version is tested only on the
exploration answers of annotations created after its snapshot was read
(``metrics["snapshot_at"]``; ``finished_at`` for versions trained before it
was recorded), and only on entries that no annotation of the snapshot had
answered, so it is never tested on what it trained on. docs/learner.md, "Is
more labelling worth it?", says exactly how and where this falls short.

The maths: per-item counts and scores in ``learner/ml/quality.py``, the item
bootstrap in ``annotate/stats/agreement.py``. The figures are cached per
project generation (``annotate/curation/project_agreement.py``) and the set
of ready versions, so the model page recomputes them only after new answers
or a new version.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from django.core.cache import cache

from annotate.curation.answers import AnswerArrays, load_answers
from annotate.curation.project_agreement import generation
from annotate.dataset.export import PredictionsUnavailable
from annotate.models import Annotation, Project, QueueReason
from annotate.stats.agreement import consensus, percentile_interval, resampled_sums
from annotate.stats.answer_arrays import slots_within_items
from learner.ml import quality
from learner.models import ModelVersion
from learner.predictions import ExportPredictions
from learner.reports import ChartPoint

# Below this many exploration items a version gets no estimate: with fewer,
# a 95% interval on F1 spans most of [0, 1] and says nothing.
MIN_ITEMS = 30
N_BOOT = 300
SEED = 0
LEVEL = 0.95
# A label still needs answers when its F1 interval is wider than this, or its
# upper bound is below LOW_F1 (docs/learner.md).
WIDE_INTERVAL = 0.3
LOW_F1 = 0.5
# Gains per 1,000 judgments at or above this are "keep labelling".
WORTHWHILE_GAIN = 0.01
PER = 1000
CACHE_VERSION = 1
CACHE_SECONDS = 7 * 24 * 3600

# Learning-curve chart geometry, in SVG user units.
CURVE_WIDTH = 520
CURVE_HEIGHT = 190
# Tick labels closer than this (user units) would overlap; the later one is left out.
TICK_GAP = 36
CURVE_LEFT = 40
CURVE_RIGHT = CURVE_WIDTH - 16
CURVE_TOP = 10
CURVE_BOTTOM = CURVE_HEIGHT - 34


@dataclass
class Interval:
    value: float | None
    low: float | None
    high: float | None

    @property
    def width(self) -> float | None:
        return None if self.low is None or self.high is None else self.high - self.low


@dataclass
class LabelQuality:
    name: str
    precision: Interval
    recall: Interval
    f1: Interval
    items: int  # exploration items with an answer for this label
    positives: int  # of them, positive by consensus
    needs_answers: str  # why the label still needs answers, "" when it does not


@dataclass
class Estimate:
    """One version's prospective quality; ``enough`` is False below MIN_ITEMS items, and then nothing else is filled."""

    version_id: int
    judgments_spent: int  # observed entries in the version's snapshot
    items: int  # exploration items it is tested on
    judgments: int  # exploration judgments it is tested on
    enough: bool
    macro_f1: Interval = field(default_factory=lambda: Interval(None, None, None))
    macro_precision: Interval = field(default_factory=lambda: Interval(None, None, None))
    macro_recall: Interval = field(default_factory=lambda: Interval(None, None, None))
    labels: list[LabelQuality] = field(default_factory=list)


@dataclass
class CurveChart:
    points: list[ChartPoint]
    bars: list[tuple[float, float, float]]  # (x, y of the high end, y of the low end) of each interval
    line: str
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    width: int = CURVE_WIDTH
    height: int = CURVE_HEIGHT
    left: int = CURVE_LEFT
    right: int = CURVE_RIGHT
    top: int = CURVE_TOP
    bottom: int = CURVE_BOTTOM


@dataclass
class WorthLabelling:
    current_id: int | None  # the version in use
    estimate: Estimate | None  # the newest version with enough exploration answers
    current: Estimate | None  # the version in use, when it is not ``estimate``
    curve: list[Estimate]  # versions with an estimate, in training order
    gain: float | None  # macro-F1 change per 1,000 judgments between the last two points
    overlapping: bool  # whether the last two points' intervals overlap
    advice: str
    chart: CurveChart | None
    minimum: int = MIN_ITEMS


def estimate(
    truth: npt.ArrayLike,
    decisions: npt.ArrayLike,
    *,
    names: list[str],
    n_boot: int = N_BOOT,
    seed: int = SEED,
    level: float = LEVEL,
) -> tuple[dict[str, Interval], list[LabelQuality]]:
    """Macro and per-label precision, recall and F1 with bootstrap intervals over items.

    ``truth`` is (items, labels) with NaN where the entry is not tested;
    ``decisions`` the version's thresholded predictions of the same items.
    Items are resampled with replacement, keeping all labels of an item
    together; a resample's score is recomputed from its summed counts.
    """
    counts = quality.item_counts(truth, decisions)
    n_items, n_labels = counts.shape[0], counts.shape[1]
    point = quality.scores(counts.sum(axis=0))
    sums = resampled_sums(counts.reshape(n_items, n_labels * 3), n_boot=n_boot, seed=seed)
    draws = quality.scores(sums.reshape(n_boot, n_labels, 3))
    bounds = {key: percentile_interval(values, level) for key, values in draws.items()}

    def interval(key: str, column: int | None = None) -> Interval:
        value = point[key] if column is None else point[key][column]
        low, high = bounds[key] if column is None else bounds[key][column]
        return Interval(_num(value), _num(low), _num(high))

    observed = ~np.isnan(np.asarray(truth, dtype=np.float64))
    positives = (np.nan_to_num(np.asarray(truth, dtype=np.float64)) >= 0.5) & observed
    labels = []
    for column, name in enumerate(names):
        f1 = interval("f1", column)
        labels.append(
            LabelQuality(
                name=name,
                precision=interval("precision", column),
                recall=interval("recall", column),
                f1=f1,
                items=int(observed[:, column].sum()),
                positives=int(positives[:, column].sum()),
                needs_answers=_needs_answers(f1),
            )
        )
    overall = {key: interval(key) for key in ("macro_f1", "macro_precision", "macro_recall")}
    return overall, labels


def _num(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _needs_answers(f1: Interval) -> str:
    if f1.value is None:
        return "no positive answer yet"
    if f1.high is not None and f1.high < LOW_F1:
        return "low F1"
    if (f1.width or 0.0) > WIDE_INTERVAL:
        return "uncertain"
    return ""


def worth_labelling(*, project: Project) -> WorthLabelling:
    """The model page's section, from the cache while the answers and the ready versions are unchanged."""
    ready = list(ModelVersion.objects.filter(project=project, status=ModelVersion.Status.READY))
    signature = repr([(version.pk, version.artifact_path, version.finished_at) for version in ready])
    digest = hashlib.sha1(signature.encode()).hexdigest()[:12]
    key = f"tagwise:model-quality:v{CACHE_VERSION}:{project.pk}:{generation(project=project)}:{digest}"
    figures = cache.get(key)
    if figures is None:
        figures = compute(project=project, ready=ready)
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def compute(*, project: Project, ready: list[ModelVersion]) -> WorthLabelling:
    """Every ready version with stored predictions tested on its exploration answers, and the curve through them."""
    estimates = version_estimates(project=project, ready=ready)
    curve = [found for found in estimates if found.enough and found.macro_f1.value is not None]
    gain = quality.gain_per(
        [float(point.judgments_spent) for point in curve],
        [point.macro_f1.value or 0.0 for point in curve],
        per=PER,
    )
    overlapping = len(curve) >= 2 and _overlap(curve[-2].macro_f1, curve[-1].macro_f1)
    current = ready[0] if ready else None
    by_id = {found.version_id: found for found in estimates}
    headline = curve[-1] if curve else None
    in_use = by_id.get(current.pk) if current is not None else None
    return WorthLabelling(
        current_id=current.pk if current else None,
        estimate=headline,
        current=in_use if in_use is not None and in_use is not headline else None,
        curve=curve,
        gain=gain,
        overlapping=overlapping,
        advice=advice(gain, overlapping=overlapping, estimate=headline),
        chart=curve_chart(curve) if curve else None,
    )


def version_estimates(*, project: Project, ready: list[ModelVersion]) -> list[Estimate]:
    """The estimate of each version that still has its stored predictions, oldest first (training order)."""
    answers = load_answers(project=project)
    created, exploring = _slot_facts(project=project, answers=answers)
    estimates = []
    for version in sorted(ready, key=lambda version: (version.created_at, version.pk)):
        found = version_estimate(version=version, answers=answers, created=created, exploring=exploring)
        if found is not None:
            estimates.append(found)
    return estimates


def _slot_facts(*, project: Project, answers: AnswerArrays) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """(items, slots) creation time (epoch seconds, NaN where no annotation) and exploration flag of each slot.

    The slots are rebuilt the way ``load_answers`` builds them (non-skipped
    annotations, ranked by id within their item), so they line up with its
    ``values``.
    """
    rows = list(
        Annotation.objects.filter(item__project=project, skipped=False)
        .order_by("item_id", "id")
        .values_list("id", "item_id", "created_at", "queue_reason")
    )
    n_items, n_slots = answers.rater_ids.shape
    created = np.full((n_items, n_slots), np.nan)
    exploring = np.zeros((n_items, n_slots), dtype=bool)
    if not rows:
        return created, exploring
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    positions = np.searchsorted(answers.item_ids, np.array([row[1] for row in rows], dtype=np.int64))
    slots = slots_within_items(positions, ids)
    created[positions, slots] = [row[2].timestamp() for row in rows]
    exploring[positions, slots] = [row[3] == QueueReason.EXPLORATION for row in rows]
    return created, exploring


def snapshot_time(version: ModelVersion) -> datetime | None:
    """When the version's answers were read; its finish time for versions trained before that was stored."""
    stored = version.metrics.get("snapshot_at")
    return datetime.fromisoformat(stored) if stored else version.finished_at


def version_estimate(
    *,
    version: ModelVersion,
    answers: AnswerArrays,
    created: npt.NDArray[np.float64],
    exploring: npt.NDArray[np.bool_],
) -> Estimate | None:
    """The version's estimate; None when its stored predictions are gone (pruned) or it has no snapshot time."""
    cutoff = snapshot_time(version)
    if cutoff is None:
        return None
    try:
        stored = ExportPredictions(project=version.project, version=version)
    except PredictionsUnavailable:
        return None
    chunk = stored.lookup(item_ids=answers.item_ids, label_ids=answers.label_ids)
    trained_labels = set(version.label_ids)
    known = np.array([label_id in trained_labels for label_id in answers.label_ids], dtype=bool)
    with np.errstate(invalid="ignore"):
        after = exploring & (created > cutoff.timestamp())
        before = created <= cutoff.timestamp()
    observed = ~np.isnan(answers.values)
    # Entries any annotation of the snapshot answered were trained on, even
    # when an exploration annotation answered them again later.
    trained = (observed & before[:, None, :]).any(axis=2)
    values = np.where(after[:, None, :], answers.values, np.nan)
    tested = (~np.isnan(values)).any(axis=2) & ~trained & chunk.scored[:, None] & known[None, :]
    resolution = np.where(tested, answers.resolution, np.nan)
    truth = np.where(tested, consensus(values, answers.confidence, resolution).targets, np.nan)
    rows = tested.any(axis=1)
    n_items = int(rows.sum())
    result = Estimate(
        version_id=version.pk,
        judgments_spent=int(version.dataset_counts.get("observed_entries", 0)),
        items=n_items,
        judgments=int((~np.isnan(values) & tested[:, :, None]).sum()),
        enough=n_items >= MIN_ITEMS,
    )
    if result.enough:
        columns = np.flatnonzero(known)
        overall, labels = estimate(
            truth[rows][:, columns],
            chunk.decisions[rows][:, columns],
            names=[answers.label_names[column] for column in columns],
            seed=SEED + version.pk,
        )
        result.macro_f1, result.macro_precision, result.macro_recall = (
            overall["macro_f1"],
            overall["macro_precision"],
            overall["macro_recall"],
        )
        result.labels = labels
    return result


def _overlap(first: Interval, second: Interval) -> bool:
    if None in (first.low, first.high, second.low, second.high):
        return True
    return bool((first.low or 0.0) <= (second.high or 0.0) and (second.low or 0.0) <= (first.high or 0.0))


def advice(gain: float | None, *, overlapping: bool, estimate: Estimate | None) -> str:
    """The section's verdict in words a project lead reads at a glance."""
    if estimate is None:
        return "Not enough exploration answers yet to tell how good the model is."
    if gain is None:
        return (
            "Not enough versions with exploration answers yet to tell whether more labelling helps "
            "(gain of the last 1,000 judgments: n/a)."
        )
    noise = " The two estimates' intervals overlap, so part of this may be chance." if overlapping else ""
    if gain >= WORTHWHILE_GAIN:
        return f"Keep labelling: the last 1,000 judgments raised macro F1 by {gain:.2f}.{noise}"
    if gain > 0:
        return (
            f"Labelling is levelling off: the last 1,000 judgments raised macro F1 by only {gain:.3f}. "
            f"Answers for the labels marked below help most.{noise}"
        )
    return (
        f"The last 1,000 judgments did not raise macro F1 ({gain:+.3f}). More answers of the same kind may not help; "
        f"look at the labels marked below, or at the guidelines.{noise}"
    )


def curve_chart(curve: list[Estimate]) -> CurveChart:
    """Macro F1 with its interval against judgments spent, on a fixed 0-1 vertical scale."""
    spent = [point.judgments_spent for point in curve]
    low, high = 0, max(max(spent), 1)
    span_x = CURVE_RIGHT - CURVE_LEFT
    span_y = CURVE_BOTTOM - CURVE_TOP

    def x_of(value: float) -> float:
        return round(CURVE_LEFT + span_x * (value - low) / (high - low), 1)

    def y_of(value: float) -> float:
        return round(CURVE_TOP + span_y * (1 - value), 1)

    points, bars = [], []
    for point in curve:
        f1 = point.macro_f1
        x = x_of(point.judgments_spent)
        points.append(
            ChartPoint(
                x=x,
                y=y_of(f1.value or 0.0),
                r=3.5,
                title=(
                    f"version {point.version_id}: macro F1 {f1.value or 0.0:.2f} "
                    f"({f1.low or 0.0:.2f}-{f1.high or 0.0:.2f}) after {point.judgments_spent:,} judgments, "
                    f"tested on {point.items} exploration items"
                ),
            )
        )
        bars.append((x, y_of(f1.high or 0.0), y_of(f1.low or 0.0)))
    return CurveChart(
        points=points,
        bars=bars,
        line=" ".join(f"{point.x},{point.y}" for point in points),
        x_ticks=_x_ticks([(x_of(value), f"{value:,}") for value in [low, *spent]]),
        y_ticks=[(y_of(value), f"{value:g}") for value in (0.0, 0.5, 1.0)],
    )


def _x_ticks(ticks: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Ticks at 0 and at each version's judgments, leaving out any that would overlap the one before."""
    kept: list[tuple[float, str]] = []
    for x, text in ticks:
        if not kept or x - kept[-1][0] >= TICK_GAP:
            kept.append((x, text))
    return kept
