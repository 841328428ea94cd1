"""Reviewer decisions and the review queue.

A resolution fixes the final value of an (item, label) and overrides the
votes: it becomes the training target and the exported value. Every change is
a "resolution.set" audit event with the values before and after, so a
decision can be changed later and the earlier one stays in the trail.

The review queue lists the disputed entries (annotators said both yes and no)
that no reviewer has resolved yet, in the order of
:func:`annotate.stats.agreement.review_order`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from annotate import jobs
from annotate.curation.answers import load_answers
from annotate.curation.flags import FlagShown, flags_of_items
from annotate.curation.project_agreement import INLINE_ANSWERS, REFRESH_SECONDS, answers_generation
from annotate.models import AuditEvent, Item, Judgment, Label, Project, Resolution, record_audit
from annotate.setup.accounts import display_names
from annotate.setup.labelset import merge_conflicts, open_merge_conflicts
from annotate.stats.agreement import consensus, review_order
from annotate.text import text_problem

# A note says why a decision went the way it did; the API documents the same limit.
NOTE_MAX_CHARS = 2000


class ResolutionError(ValueError):
    """A resolution that cannot be stored as asked; the message is for the user, ``field`` the input at fault."""

    def __init__(self, message: str, *, field: str = "detail") -> None:
        super().__init__(message)
        self.field = field


def _state(resolution: Resolution | None) -> dict[str, Any] | None:
    if resolution is None:
        return None
    return {
        "item_id": resolution.item_id,
        "label": resolution.label.name,
        "value": resolution.value,
        "note": resolution.note,
        "reviewer_id": resolution.reviewer_id,
    }


class StaleResolutionError(ResolutionError):
    """The entry was decided (or undone) since the reviewer's page loaded; ``current`` is its resolution now."""

    def __init__(self, message: str, *, current: Resolution | None) -> None:
        super().__init__(message)
        self.current = current


def resolution_state(resolution: Resolution | None) -> str:
    """A token for the decision a reviewer sees: "none", or the value and the time it was last set.

    The review form carries it, so a decision made since the page loaded is
    noticed instead of overwritten (see ``expected`` in :func:`set_resolution`).
    """
    if resolution is None:
        return "none"
    return f"{resolution.value}@{resolution.updated_at.isoformat()}"


def _check_expected(existing: Resolution | None, expected: str | None) -> None:
    if expected is None or resolution_state(existing) == expected:
        return
    if existing is None:
        raise StaleResolutionError("The decision on this entry was undone since your page loaded.", current=None)
    when = timezone.localtime(existing.updated_at).strftime("%H:%M")
    raise StaleResolutionError(
        f"{existing.reviewer} decided {'yes' if existing.value else 'no'} at {when}; press again to change it.",
        current=existing,
    )


def set_resolution(
    *, item: Item, label: Label, value: int, note: str | None, reviewer: Any, expected: str | None = None
) -> Resolution:
    """Create or replace the resolution of (item, label) and write a "resolution.set" audit event.

    The label must belong to the item's project and be active: not merged
    away (its answers now live on the label it was merged into), not retired
    (it is no longer decided).

    ``note=None`` keeps the existing note (none on a new resolution): only an
    explicit edit changes it. ``expected`` is the :func:`resolution_state`
    the reviewer saw; if the entry changed since, nothing is written and
    :class:`StaleResolutionError` names the current decision. ``None`` skips
    the check.
    """
    if label.project_id != item.project_id:
        raise ResolutionError("The label belongs to another project.")
    if label.merged_into_id is not None:
        raise ResolutionError(f"“{label.name}” was merged into another label; resolve that one instead.")
    if label.retired_in_id is not None:
        raise ResolutionError(f"“{label.name}” is retired: it is no longer decided, trained on or exported by default.")
    if value not in (0, 1):
        raise ResolutionError("A resolution is 1 (yes) or 0 (no).")
    if note is not None and (problem := text_problem(note, what="The note", max_chars=NOTE_MAX_CHARS)):
        raise ResolutionError(problem, field="note")
    with transaction.atomic():
        existing = (
            Resolution.objects.select_for_update()
            .filter(item=item, label=label)
            .select_related("label", "reviewer")
            .first()
        )
        _check_expected(existing, expected)
        if existing is not None and existing.value == value and note in (None, existing.note):
            # The same decision again (a second key press, a retry): nothing
            # changes, so nothing is written and the history stays one entry.
            return existing
        before = _state(existing)
        now = timezone.now()
        if existing is None:
            resolution = Resolution.objects.create(
                item=item, label=label, value=value, note=note or "", reviewer=reviewer, created_at=now, updated_at=now
            )
        else:
            note = existing.note if note is None else note
            Resolution.objects.filter(pk=existing.pk).update(value=value, note=note, reviewer=reviewer, updated_at=now)
            existing.refresh_from_db()
            resolution = existing
        record_audit(
            action="resolution.set",
            actor=reviewer,
            project=item.project,
            obj=resolution,
            before=before,
            after=_state(resolution),
        )
    return resolution


def clear_resolution(*, item: Item, label: Label, reviewer: Any, expected: str | None = None) -> bool:
    """Undo the decision on (item, label): the entry goes back to its votes (disputed again if they disagree).

    Writes a "resolution.clear" audit event holding the decision before, so
    the trail keeps it. ``expected`` as for :func:`set_resolution`. Returns
    whether there was a decision to undo.
    """
    if label.project_id != item.project_id:
        raise ResolutionError("The label belongs to another project.")
    with transaction.atomic():
        existing = Resolution.objects.select_for_update().filter(item=item, label=label).select_related("label").first()
        _check_expected(existing, expected)
        if existing is None:
            return False
        record_audit(
            action="resolution.clear",
            actor=reviewer,
            project=item.project,
            obj=existing,
            before=_state(existing),
            after=None,
        )
        existing.delete()
    return True


# ---------------------------------------------------------------------------
# The review queue
# ---------------------------------------------------------------------------

# Cached review orders are keyed by the answers' generation, so they are never
# stale; the timeout only bounds how long old generations occupy the cache.
ORDER_CACHE_SECONDS = 7 * 24 * 3600


@dataclass
class ReviewAnswer:
    """One annotator's answer on a reviewed entry.

    ``annotator`` is the person as pages show people, their full name else
    their username (docs/projects.md, "People"); these entries feed pages only.
    """

    annotator: str
    value: int
    confidence: float
    duration_ms: int
    guideline_version: int | None

    @property
    def seconds(self) -> float:
        return self.duration_ms / 1000


@dataclass(frozen=True)
class MergedYes:
    """A yes to a label since merged into the entry's label, from an annotator who said no to it: a merge conflict."""

    annotator: str
    source_name: str
    confidence: float | None


@dataclass
class ReviewEntry:
    """An (item, label) with every annotator's answer, its resolution if any, and earlier resolutions."""

    item: Item
    label: Label
    answers: list[ReviewAnswer]
    resolution: Resolution | None = None
    # Earlier "resolution.set" events of this entry, newest first.
    history: list[AuditEvent] = field(default_factory=list)
    # Why the entry is a merge conflict, if it is one: the yes answers the merge could not move onto this label.
    merged_yes: list[MergedYes] = field(default_factory=list)
    # The item's flags from annotators, shown beside the answers.
    flags: list[FlagShown] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.item.pk}-{self.label.pk}"

    @property
    def seen(self) -> str:
        """The decision as this page shows it, for the forms' ``seen`` field."""
        return resolution_state(self.resolution)

    @property
    def n_yes(self) -> int:
        return sum(answer.value == 1 for answer in self.answers)

    @property
    def n_no(self) -> int:
        return sum(answer.value == 0 for answer in self.answers)

    @property
    def majority(self) -> int | None:
        """The value most annotators gave (1 or 0); an even count goes by the vote, an exact tie is None."""
        if self.n_yes != self.n_no:
            return 1 if self.n_yes > self.n_no else 0
        vote = self.vote
        if vote is None or abs(vote - 0.5) < 1e-9:
            return None
        return 1 if vote > 0.5 else 0

    @property
    def vote(self) -> float | None:
        """The confidence-weighted share of "yes", the target the entry would have without a resolution."""
        total = sum(answer.confidence for answer in self.answers)
        return sum(answer.confidence for answer in self.answers if answer.value == 1) / total if total else None


@dataclass
class ReviewPage:
    """One page of entries, with the total count for the pager."""

    entries: list[ReviewEntry]
    total: int
    offset: int
    limit: int
    # False when the order is from older answers while a worker computes the current one.
    fresh: bool = True

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.entries) < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def next_after(self) -> str:
        """The last entry's "item-label" key: the next page starts after it (see ``after`` in review_queue)."""
        return self.entries[-1].key if self.entries else ""


def disputed_order(
    *, project: Project, allow_stale: bool = False
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], bool]:
    """(item ids, label ids) of the entries whose annotators disagree, in review order, resolved or not.

    The order is :func:`annotate.stats.agreement.review_order` over the consensus
    of :func:`annotate.curation.answers.load_answers`: most annotators first, then the
    most confidence on both sides. It ignores resolutions, so it depends only
    on the answers and is cached under their generation; :func:`review_queue`
    drops resolved entries at read time, and resolving an entry does not
    cost a reload of every answer in the project.

    The third value says whether the order is that of the current answers.
    With ``allow_stale``, a large project whose order is not cached yet gets
    the order computed last at once, and a worker computes the current one
    (as the dashboard does, see ``agreement_or_latest``).
    """
    current = answers_generation(project=project)
    cached = cache.get(_order_key(project=project, generation_=current))
    if cached is not None:
        return cached[0], cached[1], True
    latest = cache.get(_order_key(project=project, generation_="latest")) if allow_stale else None
    if latest is not None and latest[2] >= INLINE_ANSWERS:
        if cache.add(_order_key(project=project, generation_=f"refreshing:{current}"), True, REFRESH_SECONDS):
            jobs.send(jobs.REFRESH_REVIEW_ORDER, project.pk)
        return latest[0], latest[1], False
    item_ids, label_ids = compute_disputed_order(project=project, generation_=current)
    return item_ids, label_ids, True


def _order_key(*, project: Project, generation_: str) -> str:
    return f"tagwise:review-order:v2:{project.pk}:{generation_}"


def compute_disputed_order(
    *, project: Project, generation_: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Compute the review order and cache it under the generation and as the latest one."""
    answers = load_answers(project=project, answered_only=True)
    unresolved = np.full(answers.resolution.shape, np.nan)
    disputed = consensus(answers.values, answers.confidence, unresolved).disputed
    item_index, label_index = review_order(answers.values, answers.confidence, disputed)
    label_ids = np.asarray(answers.label_ids, dtype=np.int64)
    order = (answers.item_ids[item_index], label_ids[label_index], int((~np.isnan(answers.values)).sum()))
    keys = [_order_key(project=project, generation_=name) for name in (generation_, "latest")]
    cache.set_many(dict.fromkeys(keys, order), ORDER_CACHE_SECONDS)
    return order[0], order[1]


@dataclass
class OpenDisputes:
    """The disputed entries in review order (merge conflicts first), resolved or not, and which are still open."""

    item_ids: npt.NDArray[np.int64]
    label_ids: npt.NDArray[np.int64]
    open: npt.NDArray[np.bool_]
    fresh: bool

    @property
    def total_open(self) -> int:
        return int(self.open.sum())

    @property
    def items_open(self) -> int:
        """How many items have an open entry (review by item counts these)."""
        return len(np.unique(self.item_ids[self.open]))

    def position(self, pair: tuple[int, int]) -> int | None:
        """Where an (item, label) sits in the order, resolved or not; None if it is not in it (any more)."""
        found = np.flatnonzero((self.item_ids == pair[0]) & (self.label_ids == pair[1]))
        return int(found[0]) if len(found) else None


def open_disputes(*, project: Project, allow_stale: bool = False) -> OpenDisputes:
    """Every disputed entry in review order, with a mask of those no reviewer has resolved yet.

    Resolved entries keep their place in the order, so a page that was
    resolved can say where the next one starts: the entries still open after
    its last entry (``after`` in :func:`review_queue`).
    """
    item_ids, label_ids, fresh = disputed_order(project=project, allow_stale=allow_stale)
    # Merge conflicts (one annotator said yes to the merged label and no to
    # its target) come first: a label-set change produced them, and they may
    # not be disputed between annotators at all.
    conflicts = np.array(
        [(c.item_id, c.label_id) for c in open_merge_conflicts(project=project)], dtype=np.int64
    ).reshape(-1, 2)
    if len(conflicts):
        conflicts = conflicts[np.sort(np.unique(conflicts, axis=0, return_index=True)[1])]
        width = int(max(label_ids.max(initial=0), conflicts[:, 1].max())) + 1
        rest = ~np.isin(item_ids * width + label_ids, conflicts[:, 0] * width + conflicts[:, 1])
        item_ids = np.concatenate([conflicts[:, 0], item_ids[rest]])
        label_ids = np.concatenate([conflicts[:, 1], label_ids[rest]])
    resolved = np.array(
        list(Resolution.objects.filter(item__project=project).values_list("item_id", "label_id")), dtype=np.int64
    ).reshape(-1, 2)
    open_ = np.ones(len(item_ids), dtype=bool)
    if len(resolved) and len(item_ids):
        # One integer code per (item, label) lets numpy drop the resolved pairs in one pass.
        width = int(max(label_ids.max(), resolved[:, 1].max())) + 1
        open_ = ~np.isin(item_ids * width + label_ids, resolved[:, 0] * width + resolved[:, 1])
    return OpenDisputes(item_ids=item_ids, label_ids=label_ids, open=open_, fresh=fresh)


def review_queue(
    *,
    project: Project,
    limit: int,
    offset: int = 0,
    after: tuple[int, int] | None = None,
    allow_stale: bool = False,
) -> ReviewPage:
    """A page of the unresolved disputed entries, in review order, with every annotator's answer.

    ``after`` is the (item id, label id) of the last entry of the page before:
    the page starts with the first entry still open after it, whatever was
    resolved meanwhile (an offset would skip one open entry for every entry
    resolved before it). An ``after`` no longer in the order starts from the
    beginning. ``allow_stale`` as for :func:`disputed_order`; the page says
    whether its order is current.
    """
    disputes = open_disputes(project=project, allow_stale=allow_stale)
    if after is not None:
        position = disputes.position(after)
        offset = int(disputes.open[: position + 1].sum()) if position is not None else 0
    item_ids, label_ids = disputes.item_ids[disputes.open], disputes.label_ids[disputes.open]
    window = slice(offset, offset + limit)
    pairs = list(zip(item_ids[window].tolist(), label_ids[window].tolist(), strict=True))
    entries = review_entries(project=project, pairs=pairs)
    return ReviewPage(entries=entries, total=len(item_ids), offset=offset, limit=limit, fresh=disputes.fresh)


@dataclass
class ReviewItem:
    """One item with every disputed entry of it still open when the page was made, for review by item."""

    item: Item
    entries: list[ReviewEntry]
    flags: list[FlagShown]

    @property
    def open_entries(self) -> list[ReviewEntry]:
        return [entry for entry in self.entries if entry.resolution is None]

    @property
    def label_ids(self) -> list[int]:
        """The card's labels in order; a decision on one of them shows the card again with the same labels."""
        return [entry.label.pk for entry in self.entries]


@dataclass
class ReviewItemsPage:
    items: list[ReviewItem]
    total: int  # items with an open dispute
    offset: int
    fresh: bool = True

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def next_after(self) -> int | None:
        return self.items[-1].item.pk if self.items else None


def review_by_item(
    *, project: Project, limit: int, after: int | None = None, allow_stale: bool = False
) -> ReviewItemsPage:
    """A page of items with open disputes, each with all its open disputed labels together.

    Items come in the order of their first disputed entry in the review
    order, so the item holding the most contested entry comes first. ``after``
    is the last item of the page before, as in :func:`review_queue`.
    """
    disputes = open_disputes(project=project, allow_stale=allow_stale)
    # Every item once, at its first entry in the order (resolved or not, so an item keeps its place).
    _, first = np.unique(disputes.item_ids, return_index=True)
    order = np.sort(first)
    item_order = disputes.item_ids[order]
    has_open = np.isin(item_order, disputes.item_ids[disputes.open])
    start = 0
    if after is not None:
        found = np.flatnonzero(item_order == after)
        start = int(found[0]) + 1 if len(found) else 0
    offset = int(has_open[:start].sum())
    page_items = item_order[start:][has_open[start:]][:limit].tolist()
    wanted = set(page_items)
    pairs = [
        (item_id, label_id)
        for item_id, label_id, is_open in zip(
            disputes.item_ids.tolist(), disputes.label_ids.tolist(), disputes.open.tolist(), strict=True
        )
        if is_open and item_id in wanted
    ]
    entries = review_entries(project=project, pairs=pairs)
    by_item: dict[int, list[ReviewEntry]] = defaultdict(list)
    for entry in entries:
        by_item[entry.item.pk].append(entry)
    flags = flags_of_items(wanted)
    items = [
        ReviewItem(item=by_item[item_id][0].item, entries=by_item[item_id], flags=flags.get(item_id, []))
        for item_id in page_items
        if by_item.get(item_id)
    ]
    return ReviewItemsPage(items=items, total=disputes.items_open, offset=offset, fresh=disputes.fresh)


def item_review(*, project: Project, item: Item, label_ids: list[int]) -> ReviewItem:
    """One item's entries for the given labels, as the review-by-item page shows them after a change."""
    entries = review_entries(project=project, pairs=[(item.pk, label_id) for label_id in label_ids])
    return ReviewItem(item=item, entries=entries, flags=flags_of_items([item.pk]).get(item.pk, []))


@dataclass
class MajorityResult:
    decided: list[ReviewEntry]  # entries this call resolved
    tied: list[ReviewEntry]  # left open: the answers are split exactly evenly, confidence included
    stale: list[ReviewEntry]  # left alone: decided or undone by someone else since the page loaded


def accept_majority(*, project: Project, item: Item, seen: dict[int, str], reviewer: Any) -> MajorityResult:
    """Resolve each listed label of the item to its majority: more yes than no, or the reverse.

    ``seen`` maps label id to the decision the reviewer's page showed
    (:func:`resolution_state`); an entry decided since is left alone and
    reported, like a single resolution (docs/review.md). An even count is
    settled by the confidence-weighted vote; an exact tie is left open.
    Each decision is its own "resolution.set" audit event with the note
    "majority".
    """
    labels = Label.objects.filter(project=project).in_bulk(list(seen))
    entries = review_entries(project=project, pairs=[(item.pk, label_id) for label_id in seen if label_id in labels])
    result = MajorityResult(decided=[], tied=[], stale=[])
    with transaction.atomic():
        for entry in entries:
            value = entry.majority
            if value is None:
                result.tied.append(entry)
                continue
            try:
                set_resolution(
                    item=item,
                    label=entry.label,
                    value=value,
                    note=None if entry.resolution else "majority",
                    reviewer=reviewer,
                    expected=seen[entry.label.pk],
                )
            except StaleResolutionError:
                result.stale.append(entry)
            else:
                result.decided.append(entry)
    return result


def resolved_entries(*, project: Project, limit: int, offset: int = 0) -> ReviewPage:
    """A page of resolved entries, most recently decided first, so a reviewer can change a decision."""
    resolutions = Resolution.objects.filter(item__project=project)
    pairs = list(resolutions.order_by("-updated_at", "-id").values_list("item_id", "label_id")[offset : offset + limit])
    return ReviewPage(
        entries=review_entries(project=project, pairs=pairs), total=resolutions.count(), offset=offset, limit=limit
    )


def review_entries(*, project: Project, pairs: list[tuple[int, int]]) -> list[ReviewEntry]:
    """Build the entries for (item id, label id) pairs of the project, in the given order.

    A handful of queries for the whole page: the items, the labels, the
    answers with their annotators and versions, the resolutions, and the
    earlier resolutions from the audit trail.
    """
    if not pairs:
        return []
    item_ids = {item_id for item_id, _ in pairs}
    label_ids = {label_id for _, label_id in pairs}
    items = Item.objects.filter(project=project).in_bulk(item_ids)
    labels = Label.objects.filter(project=project).in_bulk(label_ids)
    answers: dict[tuple[int, int], list[ReviewAnswer]] = defaultdict(list)
    judgments = (
        Judgment.objects.filter(annotation__item_id__in=item_ids, label_id__in=label_ids, annotation__skipped=False)
        .order_by("annotation_id")
        .values_list(
            "annotation__item_id",
            "label_id",
            "annotation__annotator_id",
            "value",
            "confidence",
            "annotation__duration_ms",
            "annotation__guideline_version__number",
        )
    )
    rows = list(judgments)
    names = display_names({row[2] for row in rows})
    for item_id, label_id, annotator_id, value, confidence, duration_ms, version in rows:
        answers[(item_id, label_id)].append(
            ReviewAnswer(
                annotator=names.get(annotator_id, "a former annotator"),
                value=value,
                confidence=confidence,
                duration_ms=duration_ms,
                guideline_version=version,
            )
        )
    resolutions = {
        (r.item_id, r.label_id): r
        for r in Resolution.objects.filter(item_id__in=item_ids, label_id__in=label_ids).select_related("reviewer")
    }
    history: dict[str, list[AuditEvent]] = defaultdict(list)
    events = AuditEvent.objects.filter(
        project=project,
        action="resolution.set",
        object_type=Resolution._meta.label,
        object_id__in=[str(r.pk) for r in resolutions.values()],
    ).select_related("actor")
    for event in events.order_by("-created_at", "-id"):
        history[event.object_id].append(event)
    merged = merged_yes_answers(project=project, pairs=set(pairs))
    flags = flags_of_items(item_ids)
    entries = []
    for item_id, label_id in pairs:
        if item_id not in items or label_id not in labels:
            continue
        resolution = resolutions.get((item_id, label_id))
        entries.append(
            ReviewEntry(
                item=items[item_id],
                label=labels[label_id],
                answers=answers[(item_id, label_id)],
                resolution=resolution,
                # The newest event set the current value; the rest are the earlier decisions.
                history=history[str(resolution.pk)][1:] if resolution else [],
                merged_yes=merged[(item_id, label_id)],
                flags=flags.get(item_id, []),
            )
        )
    return entries


def merged_yes_answers(*, project: Project, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], list[MergedYes]]:
    """The merge-conflict answers of the given (item, label) pairs, with the annotators' names."""
    conflicts = [c for c in merge_conflicts(project=project) if (c.item_id, c.label_id) in pairs]
    names = display_names({c.annotator_id for c in conflicts})
    merged: dict[tuple[int, int], list[MergedYes]] = defaultdict(list)
    for conflict in conflicts:
        merged[(conflict.item_id, conflict.label_id)].append(
            MergedYes(
                annotator=names.get(conflict.annotator_id, "a former annotator"),
                source_name=conflict.source_name,
                confidence=conflict.source_confidence,
            )
        )
    return merged
