"""The item browser's query: a project's items under filters, a page at a time (docs/agreement.md, "The item browser").

Pages are keyset pages on the item id (``after`` is the last id shown), so
the hundredth page costs what the first does and no page counts the whole
project; each filter is an EXISTS probe on an index, checked row by row
along the id order until a page is full. docs/benchmarks.md has the
timings on 100k items.

The model filters read the scores the newest model version stored for every
item, which the learner hands over as ``ModelScores`` through the setting
``TAGWISE_MODEL_SCORES`` (``annotate`` never imports ``learner``,
docs/architecture.md). They give the item ids that pass, in the page's
order, as a numpy array; the database is then asked only which ids of one
chunk pass the other filters, so no query carries more than ``ID_CHUNK``
ids whatever the project's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils.module_loading import import_string

from annotate import db
from annotate.models import (
    Annotation,
    AuditEvent,
    FlagReason,
    GuidelineVersion,
    Item,
    ItemFlag,
    Judgment,
    Label,
    Project,
    Resolution,
)

LABEL_STATES = ("yes", "no", "unobserved", "disputed", "resolved")
# What the model says about the chosen label: its decision (after the
# thresholds and the label rules), or "unsure" when the probability lies
# within UNSURE_BAND of the label's threshold.
MODEL_STATES = ("yes", "no", "unsure")
UNSURE_BAND = 0.1
# The list's orders: by item id (the default), or most uncertain first.
ORDERS = ("id", "uncertain")
# At most this many item ids go into one query: below SQLite's oldest limit
# of 999 variables, with room for the other filters' parameters.
ID_CHUNK = 500


@dataclass(frozen=True)
class ModelScore:
    """One label's score of one item by a model version."""

    label_id: int
    probability: float
    threshold: float
    decision: bool
    label: Label | None = None

    @property
    def distance(self) -> float:
        """How far the probability is from the threshold: the smaller, the less sure the model."""
        return abs(self.probability - self.threshold)


@dataclass(frozen=True)
class ModelScores:
    """One model version's stored scores of a project's items, as the learner hands them over.

    The arrays may be memory-mapped: every method reads one column (or the
    chosen labels' columns) and answers with item ids, never with rows.
    Items the version did not score (added after it was trained) are in no
    answer: the model said neither yes nor no about them.
    """

    version_id: int
    trained_at: datetime | None
    item_ids: np.ndarray  # (items,) int64, sorted
    label_ids: list[int]  # the columns
    probabilities: np.ndarray  # (items, labels), calibrated
    decisions: np.ndarray  # (items, labels) bool, after thresholds and label rules
    thresholds: np.ndarray  # (labels,)

    def knows(self, label_id: int) -> bool:
        return label_id in self.label_ids

    def decided(self, *, label_id: int, decision: bool) -> np.ndarray:
        """Sorted ids of the items the version decided ``decision`` on the label."""
        if not self.knows(label_id):
            return np.zeros(0, dtype=np.int64)
        column = np.asarray(self.decisions[:, self.label_ids.index(label_id)], dtype=bool)
        return np.asarray(self.item_ids[column if decision else ~column], dtype=np.int64)

    def unsure(self, *, label_id: int, band: float = UNSURE_BAND) -> np.ndarray:
        """Sorted ids of the items whose probability on the label is within ``band`` of its threshold."""
        if not self.knows(label_id):
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.item_ids[self._distances([label_id]) <= band], dtype=np.int64)

    def uncertainty_order(self, *, label_ids: list[int]) -> np.ndarray:
        """Every scored item id, the least sure first: by the smallest distance to a threshold over ``label_ids``.

        Ties keep the id order (a stable sort of ids that are sorted), so the
        order is the same on every page.
        """
        known = [label_id for label_id in label_ids if self.knows(label_id)]
        if not known:
            return np.zeros(0, dtype=np.int64)
        order = np.argsort(self._distances(known), kind="stable")
        return np.asarray(self.item_ids[order], dtype=np.int64)

    def scores_of(self, *, item_id: int) -> list[ModelScore] | None:
        """Every label's score of one item, or None when the version did not score it."""
        row = self._row(item_id)
        if row is None:
            return None
        probabilities = np.asarray(self.probabilities[row], dtype=float)
        decisions = np.asarray(self.decisions[row], dtype=bool)
        return [
            ModelScore(
                label_id=label_id,
                probability=float(probabilities[column]),
                threshold=float(self.thresholds[column]),
                decision=bool(decisions[column]),
            )
            for column, label_id in enumerate(self.label_ids)
        ]

    def least_sure(self, *, item_id: int, label_ids: list[int]) -> ModelScore | None:
        """The item's score on the label of ``label_ids`` it is least sure about; None when it was not scored."""
        scores = [score for score in self.scores_of(item_id=item_id) or [] if score.label_id in label_ids]
        return min(scores, key=lambda score: score.distance) if scores else None

    def _row(self, item_id: int) -> int | None:
        row = int(np.searchsorted(self.item_ids, item_id))
        return row if row < len(self.item_ids) and int(self.item_ids[row]) == item_id else None

    def _distances(self, label_ids: list[int]) -> np.ndarray:
        """(items,): the smallest |probability - threshold| over the labels."""
        columns = [self.label_ids.index(label_id) for label_id in label_ids]
        thresholds = np.asarray(self.thresholds, dtype=np.float32)[columns]
        distances = np.abs(np.asarray(self.probabilities[:, columns], dtype=np.float32) - thresholds)
        smallest: np.ndarray = distances.min(axis=1)
        return smallest


ModelScoresSource = Callable[..., ModelScores | None]


def model_scores(*, project: Project) -> ModelScores | None:
    """The scores of the project's newest model version that stored them, or None (no model, no learner).

    The learner fills this in: the setting TAGWISE_MODEL_SCORES names a
    callable taking ``project`` (``learner.predictions.stored_scores``), the
    way TAGWISE_PREDICTIONS_SOURCE gives the export its predictions.
    """
    path = getattr(settings, "TAGWISE_MODEL_SCORES", "")
    if not path:
        return None
    source: ModelScoresSource = import_string(path)
    return source(project=project)


@dataclass(frozen=True)
class ItemFilters:
    """What the browser filters on; empty fields filter nothing."""

    text: str = ""
    flagged: bool = False
    label: Label | None = None
    state: str = ""  # one of LABEL_STATES, about ``label`` (or any label for "disputed" and "resolved")
    # Which annotations count: this person's, under this version's number.
    # An item needs one; with a label, "yes", "no" and "unobserved" read only them.
    annotator_id: int | None = None
    guideline_version: int | None = None
    model: str = ""  # one of MODEL_STATES, about ``label``
    order: str = "id"  # one of ORDERS

    @property
    def by_model(self) -> bool:
        """Whether the page needs the model's scores to find or order its items."""
        return bool(self.model) or self.order == "uncertain"


@dataclass
class ItemRow:
    item: Item
    annotations: int
    flags: int
    resolutions: int
    # The model's score on the chosen label (or, ordered by uncertainty
    # without a label, on the label it is least sure about).
    score: ModelScore | None = None


@dataclass
class ItemsPage:
    rows: list[ItemRow]
    has_next: bool

    @property
    def next_after(self) -> int | None:
        return self.rows[-1].item.pk if self.rows else None


def _answers(*, value: int | None = None, label: Label | None = None, within: Q | None = None) -> Exists:
    """Whether the outer item has an answer (of this value, on this label) in a non-skipped annotation.

    ``within`` narrows the annotations that count (to one person's, or to
    those under one guideline version). Written as "an annotation of the
    item that has such a judgment", so both probes follow an index from the
    item: (item, annotator) to its few annotations, then (annotation, label)
    to the judgment. Filtered on the label first, the database walked every
    judgment of the label for each item, hundreds of times slower
    (docs/benchmarks.md, "Item browser").
    """
    judgments = Judgment.objects.filter(annotation_id=OuterRef("pk"))
    if value is not None:
        judgments = judgments.filter(value=value)
    if label is not None:
        judgments = judgments.filter(label=label)
    annotations = Annotation.objects.filter(item_id=OuterRef("pk"), skipped=False)
    if within is not None:
        annotations = annotations.filter(within)
    return Exists(annotations.filter(Exists(judgments)))


def _disputed_on_any_label() -> Exists:
    """Some label of the item has both a yes and a no: one grouped probe of the item's judgments."""
    split = (
        Judgment.objects.filter(annotation__item_id=OuterRef("pk"), annotation__skipped=False)
        .order_by()
        .values("label_id")
        .annotate(low=Min("value"), high=Max("value"))
        .filter(low=0, high=1)
    )
    return Exists(split)


def filtered_items(*, project: Project, filters: ItemFilters) -> QuerySet[Item]:
    """The project's items that pass every filter, in id order."""
    items = Item.objects.filter(project=project)
    if filters.text:
        items = db.search_text(items, filters.text)
    if filters.flagged:
        items = items.filter(Exists(ItemFlag.objects.filter(item_id=OuterRef("pk"))))
    # Annotator and guideline version choose the annotations that count: the
    # item needs one that is theirs and under that version (skips included),
    # and "yes", "no" and "unobserved" read the answers in those annotations
    # only: "annie, refund, no" lists what annie said no to, not the items she
    # annotated that someone else said no to. "disputed" and "resolved" stay
    # about the item, since they are about several people.
    within = Q()
    if filters.annotator_id is not None:
        within &= Q(annotator_id=filters.annotator_id)
    if filters.guideline_version is not None:
        version_id = (
            GuidelineVersion.objects.filter(project=project, number=filters.guideline_version)
            .values_list("pk", flat=True)
            .first()
        )
        if version_id is None:
            return items.none()  # a number never published: no annotation was made under it
        within &= Q(guideline_version_id=version_id)
    if within:
        items = items.filter(Exists(Annotation.objects.filter(within, item_id=OuterRef("pk"))))
    label, state = filters.label, filters.state
    if state == "yes" and label:
        items = items.filter(_answers(value=1, label=label, within=within))
    elif state == "no" and label:
        items = items.filter(_answers(value=0, label=label, within=within))
    elif state == "unobserved" and label:
        items = items.exclude(_answers(label=label, within=within))
    elif state == "disputed":
        if label:
            items = items.filter(_answers(value=1, label=label), _answers(value=0, label=label))
        else:
            items = items.filter(_disputed_on_any_label())
    elif state == "resolved":
        resolutions = Resolution.objects.filter(item_id=OuterRef("pk"))
        items = items.filter(Exists(resolutions.filter(label=label) if label else resolutions))
    return items.order_by("pk")


def model_candidates(*, scores: ModelScores, filters: ItemFilters, labels: list[Label]) -> np.ndarray:
    """The ids of the items the model filters let through, in the page's order (numpy, no database).

    ``labels`` are the labels "order by uncertainty" weighs: the chosen
    one, or all active ones.
    """
    label = filters.label
    if filters.model and label is not None:
        if filters.model == "unsure":
            passing = scores.unsure(label_id=label.pk)
        else:
            passing = scores.decided(label_id=label.pk, decision=filters.model == "yes")
    else:
        passing = None
    if filters.order != "uncertain":
        return passing if passing is not None else scores.item_ids
    order = scores.uncertainty_order(label_ids=[each.pk for each in labels])
    if passing is not None:
        order = order[np.isin(order, passing, assume_unique=True)]
    return order


def _page_ids(
    *, candidates: np.ndarray, by_id: bool, items: QuerySet[Item], after: int | None, limit: int
) -> list[int]:
    """The first ``limit`` candidates after ``after`` that ``items`` (the database filters) lets through.

    Candidates are asked in chunks that grow from one page to ID_CHUNK, so a
    page whose candidates mostly pass costs one small query, and one whose
    other filters are rare never sends more than ID_CHUNK ids at a time.
    ``after`` is the last item shown: its place in the candidates' order
    (ids are unique, so the order resumes right after it). In the id order
    any id will do; in the uncertainty order an id the order does not hold
    starts from the top.
    """
    if after is not None:
        if by_id:
            start = int(np.searchsorted(candidates, after, side="right"))
        else:
            at = np.flatnonzero(candidates == after)
            start = int(at[0]) + 1 if len(at) else 0
        candidates = candidates[start:]
    found: list[int] = []
    size = limit
    while len(found) < limit and len(candidates):
        chunk, candidates = candidates[:size], candidates[size:]
        passing = set(items.filter(pk__in=[int(item_id) for item_id in chunk]).values_list("pk", flat=True))
        found += [int(item_id) for item_id in chunk if int(item_id) in passing]
        size = min(size * 4, ID_CHUNK)
    return found[:limit]


def browse_items(
    *,
    project: Project,
    filters: ItemFilters,
    after: int | None,
    limit: int,
    scores: ModelScores | None = None,
) -> ItemsPage:
    """One page of the filtered items, with their counts of annotations, flags and resolutions.

    Without model filters the page is a keyset page on the id. With them,
    ``scores`` (required then) give the candidate ids and their order and
    the database checks the other filters on a chunk of them at a time.
    The counts are read for the page's ids in a second query: grouped in the
    filtered query, they would make the database count every matching item
    before it could stop at the page's end.
    """
    items = filtered_items(project=project, filters=filters)
    # The labels a row's score is about: the chosen one, else all active ones
    # (read only when there are scores to show).
    labels: list[Label] = []
    if filters.label is not None:
        labels = [filters.label]
    elif scores is not None:
        labels = list(project.active_labels())
    if filters.by_model:
        if scores is None:
            raise ValueError("Model filters need the model's scores.")
        candidates = model_candidates(scores=scores, filters=filters, labels=labels)
        by_id = filters.order != "uncertain"
        ids = _page_ids(candidates=candidates, by_id=by_id, items=items, after=after, limit=limit + 1)
        fetched = Item.objects.in_bulk(ids)
        page = [fetched[item_id] for item_id in ids if item_id in fetched]
    else:
        if after is not None:
            items = items.filter(pk__gt=after)
        page = list(items[: limit + 1])
    has_next = len(page) > limit
    page = page[:limit]
    counts = {
        row["pk"]: row
        for row in Item.objects.filter(pk__in=[item.pk for item in page])
        .values("pk")
        .annotate(
            n_annotations=Count("annotations", filter=Q(annotations__skipped=False), distinct=True),
            n_flags=Count("flags", distinct=True),
            n_resolutions=Count("resolutions", distinct=True),
        )
    }
    rows = [
        ItemRow(
            item=item,
            annotations=counts[item.pk]["n_annotations"],
            flags=counts[item.pk]["n_flags"],
            resolutions=counts[item.pk]["n_resolutions"],
            score=_row_score(scores=scores, filters=filters, labels=labels, item=item),
        )
        for item in page
    ]
    return ItemsPage(rows=rows, has_next=has_next)


def _row_score(
    *, scores: ModelScores | None, filters: ItemFilters, labels: list[Label], item: Item
) -> ModelScore | None:
    """The score a row shows: on the chosen label, or the least sure one when ordered by uncertainty."""
    if scores is None or not (filters.label or filters.order == "uncertain"):
        return None
    score = scores.least_sure(item_id=item.pk, label_ids=[label.pk for label in labels])
    if score is None:
        return None
    return replace(score, label=next(label for label in labels if label.pk == score.label_id))


# ---------------------------------------------------------------------------
# An item's history, for its page
# ---------------------------------------------------------------------------

# The audit events about an item that name it in their values (a decision, a flag).
ITEM_EVENTS = ("resolution.set", "resolution.clear", "item.flag", "item.unflag")
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class HistoryEvent:
    """One thing that happened to an item, in words: who, when, what."""

    at: datetime
    actor: Any
    what: str


def item_history(*, item: Item, limit: int = HISTORY_LIMIT) -> list[HistoryEvent]:
    """What happened to the item, oldest first: each annotation, its edits and later rounds, decisions, flags.

    Read from the annotations (a first submit writes no audit event) and the
    audit trail: events on the item's annotations, and decisions and flags,
    which record the item's id. At most ``limit`` events, the most recent.
    """
    annotations = list(item.annotations.select_related("annotator"))
    events: list[HistoryEvent] = [
        HistoryEvent(
            at=annotation.created_at,
            actor=annotation.annotator,
            what=f"skipped it: {annotation.skip_reason}" if annotation.skipped else "annotated it",
        )
        for annotation in annotations
    ]
    about_item = Q(object_type=Annotation._meta.label, object_id__in=[str(a.pk) for a in annotations]) | Q(
        Q(after__item_id=item.pk) | Q(before__item_id=item.pk), action__in=ITEM_EVENTS
    )
    trail = AuditEvent.objects.filter(about_item, project_id=item.project_id).select_related("actor")
    for event in trail.order_by("-created_at", "-id")[:limit]:
        events.append(HistoryEvent(at=event.created_at, actor=event.actor, what=_event_words(event)))
    events.sort(key=lambda event: event.at)
    return events[-limit:]


def _event_words(event: AuditEvent) -> str:
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    if event.action == "resolution.set":
        was = f" (was {_yes_no(before['value'])})" if "value" in before else ""
        note = f": {after['note']}" if after.get("note") else ""
        return f"decided {after.get('label', '?')} {_yes_no(after.get('value'))}{was}{note}"
    if event.action == "resolution.clear":
        return f"undid the decision on {before.get('label', '?')} ({_yes_no(before.get('value'))})"
    if event.action == "item.flag":
        comment = f": {after['comment']}" if after.get("comment") else ""
        reason = FlagReason(after["reason"]).label.lower() if after.get("reason") in FlagReason.values else "?"
        return f"flagged it as {reason}{comment}"
    if event.action == "item.unflag":
        return "withdrew their flag"
    changes = _answer_changes(before.get("judgments") or {}, after.get("judgments") or {})
    if event.action == "annotation.add":
        return f"answered more labels in a later round: {changes}" if changes else "answered a later round"
    if event.action == "annotation.edit" and before.get("skipped"):
        return f"turned their skip into answers: {changes}"
    if event.action == "annotation.edit":
        return f"changed their answers: {changes}" if changes else "saved their answers unchanged"
    return event.action


def _answer_changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """ "refund: yes → no; billing: no answer → yes", label by label, in name order."""
    parts = []
    for label in sorted({*before, *after}):
        old, new = (before.get(label) or {}).get("value"), (after.get(label) or {}).get("value")
        if old != new:
            parts.append(f"{label}: {_yes_no(old)} → {_yes_no(new)}")
    return "; ".join(parts)


def _yes_no(value: object) -> str:
    return "yes" if value == 1 else "no" if value == 0 else "no answer"
