"""What the model pages show about a version: rows, charts and comparisons.

A version stores its metrics as the JSON that ``learner.ml.metrics``
produced (``overall``, ``per_label``, ``calibration``,
``label_pair_confusions``), with labels by position. These functions turn
that JSON into named rows and into the geometry of small inline SVG charts,
so the templates only place numbers and never compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotate.models import Label
from learner.models import ModelVersion

# Overall figures in display order: key in metrics["overall"], name, and
# whether a higher value is better (for the sign of a comparison).
OVERALL_METRICS: list[tuple[str, str, bool]] = [
    ("macro_f1", "Macro F1", True),
    ("micro_f1", "Micro F1", True),
    ("weighted_f1", "Weighted F1", True),
    ("macro_precision", "Macro precision", True),
    ("macro_recall", "Macro recall", True),
    ("hamming_loss", "Hamming loss", False),
    ("jaccard", "Jaccard (samples)", True),
    ("subset_accuracy", "Subset accuracy", True),
    ("lrap", "Label ranking average precision", True),
    ("coverage_error", "Coverage error", False),
    ("mean_ece", "Mean calibration error (ECE)", False),
]

# How many top features a label shows: words, then character n-grams.
TOP_WORDS = 8
TOP_CHARS = 4

# Reliability diagram geometry, in SVG user units.
CHART_SIZE = 170
CHART_PAD = 26
PLOT = CHART_SIZE - CHART_PAD - 8
# Half the width of a comparison's delta bar, and the change that fills it:
# changes between versions are rarely larger, and a smaller one stays visible.
DELTA_HALF = 60
DELTA_FULL = 0.5


@dataclass
class Feature:
    kind: str  # "word" or "chars"
    text: str
    weight: float


@dataclass
class LabelRow:
    position: int
    label_id: int | None
    name: str
    threshold: float | None
    calibrated: bool
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    ece: float | None = None
    support: int | None = None
    n_observed: int | None = None
    features: list[Feature] = field(default_factory=list)


@dataclass
class MetricRow:
    key: str
    name: str
    value: float
    higher_is_better: bool


@dataclass
class ChartPoint:
    x: float
    y: float
    r: float
    title: str


@dataclass
class ReliabilityChart:
    name: str
    ece: float | None
    count: int
    points: list[ChartPoint]
    line: str  # SVG polyline points through the non-empty bins
    size: int = CHART_SIZE
    plot: int = PLOT
    left: int = CHART_PAD
    top: int = 8
    right: int = CHART_PAD + PLOT
    bottom: int = 8 + PLOT


@dataclass
class PairRow:
    true_name: str
    predicted_name: str
    count: int


@dataclass
class DeltaRow:
    name: str
    before: float | None
    after: float | None
    higher_is_better: bool = True

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def improved(self) -> bool:
        delta = self.delta or 0.0
        return delta > 0 if self.higher_is_better else delta < 0

    @property
    def bar_width(self) -> float:
        return round(min(abs(self.delta or 0.0) / DELTA_FULL, 1.0) * DELTA_HALF, 1)

    @property
    def bar_x(self) -> float:
        return DELTA_HALF - self.bar_width if (self.delta or 0.0) < 0 else DELTA_HALF


@dataclass
class Comparison:
    before: ModelVersion
    after: ModelVersion
    labels: list[DeltaRow]
    overall: list[DeltaRow]
    bar_half: int = DELTA_HALF


def label_names(version: ModelVersion) -> list[tuple[int | None, str]]:
    """(label id, current name) for each output of the version, in its order.

    A label renamed since training shows its current name; a label deleted
    since keeps the name the metrics were stored with.
    """
    stored = [row.get("label", "") for row in version.metrics.get("per_label", [])]
    current = Label.objects.in_bulk(version.label_ids)
    names: list[tuple[int | None, str]] = []
    for position in range(max(len(version.label_ids), len(stored))):
        label_id = version.label_ids[position] if position < len(version.label_ids) else None
        label = current.get(label_id) if label_id is not None else None
        fallback = stored[position] if position < len(stored) else f"label #{label_id}"
        names.append((label_id, label.name if label else fallback))
    return names


def label_rows(version: ModelVersion, features: list[list[tuple[str, float]]] | None = None) -> list[LabelRow]:
    """One row per label: held-out metrics, threshold, calibration and top features."""
    per_label = version.metrics.get("per_label", [])
    fitted = version.metrics.get("calibration_fitted", [])
    rows = []
    for position, (label_id, name) in enumerate(label_names(version)):
        row = LabelRow(
            position=position,
            label_id=label_id,
            name=name,
            threshold=version.thresholds[position] if position < len(version.thresholds) else None,
            calibrated=bool(fitted[position]) if position < len(fitted) else False,
        )
        if position < len(per_label):
            stats = per_label[position]
            row.support, row.n_observed = stats.get("support"), stats.get("n_observed")
            # With no held-out answer the scores are undefined, not zero: the
            # metrics store 0.0 there, and the page shows a dash instead.
            if _measured(stats):
                row.precision, row.recall, row.f1 = stats.get("precision"), stats.get("recall"), stats.get("f1")
                row.ece = stats.get("ece")
        if features and position < len(features):
            row.features = readable_features(features[position])
        rows.append(row)
    return rows


def _measured(stats: dict[str, Any]) -> bool:
    """Whether a label's held-out scores mean anything: it had at least one held-out answer.

    Metrics stored before ``n_observed`` existed are taken as measured.
    """
    return stats.get("n_observed") != 0


def readable_features(ranked: list[tuple[str, float]]) -> list[Feature]:
    """Whole words and phrases first, then a few character n-grams.

    Character n-grams often outrank words in the model (they catch
    misspellings and word endings) but say little to a person, so they are
    capped rather than allowed to crowd out the words.
    """
    features = [_feature(name, weight) for name, weight in ranked]
    words = [feature for feature in features if feature.kind == "word"][:TOP_WORDS]
    chars = [feature for feature in features if feature.kind == "chars"][:TOP_CHARS]
    return words + chars


def _feature(name: str, weight: float) -> Feature:
    kind, _, text = name.partition(":")
    if kind == "c":
        # Character n-grams carry meaningful spaces at word edges; show them.
        return Feature(kind="chars", text=text.replace(" ", "\u2423"), weight=weight)
    return Feature(kind="word", text=text, weight=weight)


def overall_rows(version: ModelVersion) -> list[MetricRow]:
    overall = version.overall_metrics
    return [
        MetricRow(key=key, name=name, value=overall[key], higher_is_better=higher)
        for key, name, higher in OVERALL_METRICS
        if overall.get(key) is not None
    ]


def reliability_charts(version: ModelVersion) -> list[ReliabilityChart]:
    """A reliability diagram per label from the stored calibration bins.

    Each non-empty bin is a dot at (mean predicted, observed frequency),
    its area proportional to the entries in it; a calibrated label lies on
    the diagonal.
    """
    names = dict(enumerate(name for _, name in label_names(version)))
    charts = []
    for position, bins in enumerate(version.metrics.get("calibration", [])):
        counts = bins.get("count", [])
        biggest = max(counts, default=0) or 1
        points = []
        for predicted, observed, count in zip(
            bins.get("mean_predicted", []), bins.get("observed_frequency", []), counts, strict=False
        ):
            if not count or predicted is None or observed is None:
                continue
            points.append(
                ChartPoint(
                    x=round(CHART_PAD + predicted * PLOT, 1),
                    y=round(8 + (1 - observed) * PLOT, 1),
                    r=round(2 + 5 * (count / biggest) ** 0.5, 1),
                    title=f"predicted {predicted:.2f}, observed {observed:.2f}, {count} entries",
                )
            )
        charts.append(
            ReliabilityChart(
                name=names.get(position, bins.get("label", str(position))),
                # Without held-out entries there is no calibration error to speak of.
                ece=bins.get("ece") if sum(counts) else None,
                count=sum(counts),
                points=points,
                line=" ".join(f"{point.x},{point.y}" for point in points),
            )
        )
    return charts


def pair_confusions(version: ModelVersion) -> list[PairRow]:
    """Label pairs the model mixes up most: the true label missed while the other was predicted."""
    names = [name for _, name in label_names(version)]

    def name_of(index: int) -> str:
        return names[index] if 0 <= index < len(names) else f"#{index}"

    return [
        PairRow(true_name=name_of(pair["true"]), predicted_name=name_of(pair["predicted"]), count=pair["count"])
        for pair in version.metrics.get("label_pair_confusions", [])
    ]


def compare(*, before: ModelVersion, after: ModelVersion) -> Comparison:
    """Per-label F1 and overall figures of two versions side by side, matched by label id."""
    f1_before = _f1_by_label(before)
    f1_after = _f1_by_label(after)
    names = dict(label_names(before)) | dict(label_names(after))
    order = list(dict.fromkeys([*after.label_ids, *before.label_ids]))
    labels = [
        DeltaRow(name=names[label_id], before=f1_before.get(label_id), after=f1_after.get(label_id))
        for label_id in order
    ]
    overall = [
        DeltaRow(
            name=name,
            before=before.overall_metrics.get(key),
            after=after.overall_metrics.get(key),
            higher_is_better=higher,
        )
        for key, name, higher in OVERALL_METRICS
        if key in before.overall_metrics or key in after.overall_metrics
    ]
    return Comparison(before=before, after=after, labels=labels, overall=overall)


def _f1_by_label(version: ModelVersion) -> dict[int, float]:
    per_label = version.metrics.get("per_label", [])
    return {
        label_id: per_label[position]["f1"]
        for position, label_id in enumerate(version.label_ids)
        if position < len(per_label) and per_label[position].get("f1") is not None and _measured(per_label[position])
    }


def summary(version: ModelVersion) -> dict[str, Any]:
    """The headline figures of a version, for the API's list."""
    overall = version.overall_metrics
    return {key: overall[key] for key, _, _ in OVERALL_METRICS if overall.get(key) is not None}


# Macro-F1 trend geometry, in SVG user units.
TREND_WIDTH = 360
TREND_HEIGHT = 90
TREND_PAD = 24


@dataclass
class TrendChart:
    points: list[ChartPoint]
    line: str
    width: int = TREND_WIDTH
    height: int = TREND_HEIGHT
    left: int = TREND_PAD
    top: int = 8
    bottom: int = TREND_HEIGHT - 16
    right: int = TREND_WIDTH - 8


def macro_f1_trend(versions: list[ModelVersion]) -> TrendChart | None:
    """Macro F1 of the ready versions, oldest to newest, on a fixed 0-1 scale; None below two points."""
    scored = sorted(
        (
            version
            for version in versions
            if version.status == ModelVersion.Status.READY and version.macro_f1 is not None
        ),
        key=lambda version: (version.created_at, version.pk),
    )
    if len(scored) < 2:
        return None
    span_x = TREND_WIDTH - 8 - TREND_PAD
    span_y = TREND_HEIGHT - 16 - 8
    points = [
        ChartPoint(
            x=round(TREND_PAD + span_x * index / (len(scored) - 1), 1),
            y=round(8 + span_y * (1 - version.macro_f1), 1),
            r=3,
            title=f"version {version.pk}: macro F1 {version.macro_f1:.3f}",
        )
        for index, version in enumerate(scored)
    ]
    return TrendChart(points=points, line=" ".join(f"{point.x},{point.y}" for point in points))
