"""Storing an annotator's answers: submit, skip and edit.

Each action is one transaction. A submit stores an Annotation with one
Judgment per answered label (a label left unanswered gets no row: the three-state rule of
docs/architecture.md), records the guideline version in force and the time spent,
counts the item as done in its queue entry, releases the lease and counts
toward the next retrain.

Time spent: the browser measures it (from showing the item to submitting)
and sends ``duration_ms``. The server does not trust it blindly: it clamps
the value to [0, time since the lease was written + DURATION_SLACK_MS]. The
lease is written just before the item is shown, so an honest browser figure
is always below that ceiling; the slack absorbs rounding and the request's
time in flight. Without a lease (it expired, or the form was posted without
JavaScript) the ceiling is the lease length, and a missing figure is
replaced by the server's own measurement since the lease was written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from annotate import jobs
from annotate.models import (
    Annotation,
    AskMode,
    GuidelineVersion,
    Item,
    Judgment,
    Label,
    Lease,
    Project,
    QueueEntry,
    record_audit,
)
from annotate.text import quoted, text_problem
from annotate.work.queue import current_focus, holds_lease, release_lease

logger = logging.getLogger(__name__)
# The largest duration the database column holds (a positive 32-bit integer).
MAX_STORED_DURATION_MS = 2**31 - 1

# The confidence levels offered on the page. Any value in (0, 1] is stored as
# sent; these are the steps the "cycle confidence" key walks through.
CONFIDENCE_LEVELS: list[tuple[str, float]] = [("low", 0.55), ("medium", 0.8), ("high", 1.0)]
DURATION_SLACK_MS = 2000


@dataclass(frozen=True)
class Answer:
    """One label's answer: value 1 (yes) or 0 (no), with a confidence in (0, 1]."""

    value: int
    confidence: float

    def __post_init__(self) -> None:
        if self.value not in (0, 1):
            raise ValueError("An answer is yes (1) or no (0); unanswered labels are left out.")
        if not 0 < self.confidence <= 1:
            raise ValueError("A confidence is in (0, 1].")


class SubmitRefused(Exception):
    """The submit cannot be stored as sent; ``message`` says why, for the annotator."""

    def __init__(self, message: str, *, unanswered: Sequence[Label] = (), answered_before: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unanswered = list(unanswered)
        # The item was answered before (from another tab, say): the page offers the next item.
        self.answered_before = answered_before


class SkipReasonRefused(SubmitRefused):
    """A skip whose reason the project does not offer (changed since the page loaded, or a hand-made request),
    or whose own words cannot be stored."""

    field = "reason"


@dataclass(frozen=True)
class RuleWarning:
    """A label rule the answers break. ``fix`` is the label to mark yes, for an implies rule."""

    kind: str
    label: Label
    other: Label
    message: str
    fix: Label | None = None


class NotHandedOut(SubmitRefused):
    """The queue did not hand this item to this annotator (no lease, live or expired); nothing was stored."""

    def __init__(self) -> None:
        super().__init__(
            "This item was not handed to you, so your answers were not stored. "
            "Take the next item from the annotate page."
        )


class RulesBroken(Exception):
    """The answers break label rules the annotator has not confirmed yet; nothing was stored."""

    def __init__(self, warnings: list[RuleWarning]) -> None:
        super().__init__("; ".join(warning.message for warning in warnings))
        self.warnings = warnings


@dataclass
class Stored:
    annotation: Annotation
    # False when the idempotency key had been seen: nothing was written.
    created: bool


def confidence_levels(*, project: Project) -> list[tuple[str, float]]:
    """The levels shown on the page; the project's default is added when it is not one of them."""
    levels = list(CONFIDENCE_LEVELS)
    if all(abs(value - project.default_confidence) > 1e-9 for _, value in levels):
        levels.append(("default", project.default_confidence))
        levels.sort(key=lambda level: level[1])
    return levels


def answerable_labels(*, project: Project) -> list[Label]:
    """The labels an annotator is asked about: the active ones, in order."""
    return list(project.active_labels())


@dataclass(frozen=True)
class RulesByLabelId:
    """The implies and excludes rules among a set of labels, keyed by label id.

    The one reader of the rules from the database is ``label_rules``; the
    learner takes them as index pairs over its label order (``index_pairs``).
    """

    implies: dict[int, list[int]]
    excludes: dict[int, list[int]]

    def index_pairs(self, labels: Sequence[Label]) -> dict[str, list[tuple[int, int]]]:
        """The rules as (a, b) positions in ``labels``; each exclusion once, the lower position first."""
        index = {label.pk: position for position, label in enumerate(labels)}
        implies = [
            (index[a], index[b]) for a, targets in self.implies.items() for b in targets if a in index and b in index
        ]
        excludes = sorted(
            {
                tuple(sorted((index[a], index[b])))
                for a, targets in self.excludes.items()
                for b in targets
                if a in index and b in index
            }
        )
        return {"implies": sorted(implies), "excludes": [(a, b) for a, b in excludes]}


def label_rules(*, labels: Sequence[Label]) -> RulesByLabelId:
    """Read the rules between the given labels from the two through tables, in one statement.

    Rules that point at a label outside the set (retired or merged) are left
    out: they cannot be answered, so they cannot be broken. Plain SQL, because
    this runs on every submit and two ORM queries cost ten times their
    execution in Python.
    """
    ids = [label.pk for label in labels]
    found: dict[str, dict[int, list[int]]] = {"implies": {}, "excludes": {}}
    if not ids:
        return RulesByLabelId(implies={}, excludes={})
    marks = ", ".join(["%s"] * len(ids))
    implies, excludes = Label.implies.through._meta.db_table, Label.excludes.through._meta.db_table
    sql = f"""
        SELECT 'implies', from_label_id, to_label_id, id FROM {implies} WHERE from_label_id IN ({marks})
        UNION ALL
        SELECT 'excludes', from_label_id, to_label_id, id FROM {excludes} WHERE from_label_id IN ({marks})
        ORDER BY 1, 4
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, *ids])
        rows = cursor.fetchall()
    allowed = set(ids)
    for kind, from_id, to_id, _ in rows:
        if to_id in allowed:
            found[kind].setdefault(from_id, []).append(to_id)
    return RulesByLabelId(implies=found["implies"], excludes=found["excludes"])


def asked_labels(
    *, project: Project, labels: Sequence[Label], entry: QueueEntry | None, answered: Iterable[int] = ()
) -> list[Label]:
    """The labels the page asks the annotator of an item, in label order.

    In a project that asks focus labels, the focus labels of the entry's
    current round (every label while the round names none: the cold start,
    an exploration item); else every label. Labels the annotator
    ``answered`` before are never asked again (docs/annotating.md).
    """
    done = set(answered)
    focus: list[int] = []
    if project.ask_mode == AskMode.FOCUS and entry is not None and entry.focus_labels:
        active_ids = {label.pk for label in labels}
        focus = current_focus(focus=entry.focus_labels, active_ids=active_ids, project=project)
    return [label for label in labels if label.pk not in done and (not focus or label.pk in focus)]


@dataclass(frozen=True)
class EarlierAnswers:
    """An annotator's answers of an item from an earlier round, shown read-only when the item comes back."""

    annotation_id: int
    answers: dict[int, Answer]


def earlier_answers(*, annotator: User, item: Item | None, entry: QueueEntry | None) -> EarlierAnswers | None:
    """The annotator's answered annotation of the item, when the queue brings the item back in a later round.

    Only a later round can bring an item back to someone who answered it,
    so the first round costs no query.
    """
    if item is None or entry is None or entry.round == 0:
        return None
    annotation = Annotation.objects.filter(item=item, annotator=annotator, skipped=False).first()
    if annotation is None:
        return None
    answers = {j.label_id: Answer(j.value, j.confidence) for j in annotation.judgments.all()}
    return EarlierAnswers(annotation_id=annotation.pk, answers=answers)


def required_labels(
    *, project: Project, labels: Sequence[Label], item: Item, focus_only: bool, answered: Iterable[int] = ()
) -> list[Label]:
    """The labels that must be answered before a submit is accepted.

    None unless the project requires every label. Then every label asked
    (``asked_labels``), or in focus-only mode (the project allows it, the
    annotator chose it and the queue entry names focus labels) only the
    focus labels among them.
    """
    if not project.require_all_labels:
        return []
    entry = QueueEntry.objects.filter(item=item).first()
    asked = asked_labels(project=project, labels=labels, entry=entry, answered=answered)
    if focus_only and project.allow_focus_only and entry is not None and entry.focus_labels:
        active_ids = {label.pk for label in labels}
        focus = set(current_focus(focus=entry.focus_labels, active_ids=active_ids, project=project))
        return [label for label in asked if label.pk in focus] or asked
    return asked


def check_label_rules(
    *, labels: Sequence[Label], rules: RulesByLabelId, answers: Mapping[int, Answer]
) -> list[RuleWarning]:
    """Warnings for implies and excludes rules the answers break; they warn, they never block.

    "A implies B" is broken when A is yes and B is not yes (no, or not
    answered yet). "A excludes B" is broken when both are yes.
    """
    by_id = {label.pk: label for label in labels}
    yes = {label_id for label_id, answer in answers.items() if answer.value == 1}
    warnings: list[RuleWarning] = []
    seen_pairs: set[frozenset[int]] = set()
    for label in labels:
        if label.pk not in yes:
            continue
        for implied_id in rules.implies.get(label.pk, []):
            implied = by_id[implied_id]
            if implied_id not in yes:
                message = f"{label.name} implies {implied.name}: mark {implied.name} yes?"
                warnings.append(RuleWarning("implies", label, implied, message, fix=implied))
        for excluded_id in rules.excludes.get(label.pk, []):
            pair = frozenset({label.pk, excluded_id})
            if excluded_id in yes and pair not in seen_pairs:
                seen_pairs.add(pair)
                excluded = by_id[excluded_id]
                message = f"{label.name} excludes {excluded.name}: both are marked yes."
                warnings.append(RuleWarning("excludes", label, excluded, message))
    return warnings


def clamp_duration(*, reported_ms: int | None, leased_at: datetime | None, now: datetime, lease_minutes: int) -> int:
    """The time spent to store: the browser's figure, clamped as the module docstring explains."""
    if leased_at is not None:
        elapsed = max(0, int((now - leased_at).total_seconds() * 1000))
        ceiling = elapsed + DURATION_SLACK_MS
    else:
        elapsed = 0
        ceiling = (lease_minutes or 30) * 60_000
    if reported_ms is None:
        return elapsed
    return min(max(int(reported_ms), 0), ceiling)


def refuse_inactive_labels(
    *,
    project: Project,
    labels: Sequence[Label],
    answers: Mapping[int, Answer],
    annotator: User | None = None,
    idempotency_key: uuid.UUID | None = None,
) -> None:
    """Refuse answers to labels that are not active: merged or retired since the page was shown, or foreign.

    It runs before the rule warnings (``_check_answers``), whose page shows
    only the labels active now: an answer to a label gone meanwhile would
    otherwise vanish on "submit anyway". A replay of a submit that was stored (the
    same annotator and idempotency key) passes, because submit_annotation
    then returns what was stored and "nothing was saved" would be false.
    """
    unknown = set(answers) - {label.pk for label in labels}
    if not unknown:
        return
    replayed = Annotation.objects.filter(annotator=annotator, idempotency_key=idempotency_key)
    if idempotency_key is not None and replayed.exists():
        return
    gone = Label.objects.filter(project=project, pk__in=unknown).select_related("merged_into").order_by("order", "pk")
    reasons = [
        f"“{label.name}” was merged into “{label.merged_into.name}”"
        if label.merged_into is not None
        else f"“{label.name}” was retired"
        for label in gone
    ]
    if len(reasons) < len(unknown):
        reasons.append("some answers are for labels this project does not have")
    raise SubmitRefused(
        f"The labels changed while you worked: {'; '.join(reasons)}. Nothing was saved. "
        "Check the labels shown now and submit again."
    )


# Said by the annotate page, its submits and the API alike (docs/projects.md, "Archiving").
ARCHIVED_MESSAGE = "This project is archived: it is read-only, so nothing was saved."


def refuse_archived(*, project: Project) -> None:
    """An archived project is read-only (docs/projects.md): no answer, skip or edit is stored."""
    if project.archived_at is not None:
        raise SubmitRefused(ARCHIVED_MESSAGE)


def _check_answers(
    *,
    project: Project,
    labels: Sequence[Label],
    answers: Mapping[int, Answer],
    rules: RulesByLabelId | None,
    annotator: User | None = None,
    idempotency_key: uuid.UUID | None = None,
) -> None:
    """The checks before a submit or an edit writes anything, in their order.

    First answers to labels gone since the page was shown are refused
    (SubmitRefused), then, when ``rules`` are given (the annotator has not
    confirmed the warnings yet), broken label rules stop the write
    (RulesBroken). Rules warn, they never block: the page offers "submit
    anyway", which sends the same answers with ``rules=None``.
    """
    refuse_archived(project=project)
    refuse_inactive_labels(
        project=project, labels=labels, answers=answers, annotator=annotator, idempotency_key=idempotency_key
    )
    if rules is not None and (warnings := check_label_rules(labels=labels, rules=rules, answers=answers)):
        raise RulesBroken(warnings)


def _refuse_not_handed_out(*, annotator: User, item: Item, idempotency_key: uuid.UUID) -> None:
    """NotHandedOut unless the annotator holds a lease on the item (live or expired) or has annotated it.

    An annotation of theirs (this submit replayed, or an earlier one) is
    left to the checks in the transaction, which say "already answered".
    """
    if holds_lease(annotator=annotator, item=item):
        return
    if Annotation.objects.filter(Q(item=item) | Q(idempotency_key=idempotency_key), annotator=annotator).exists():
        return
    raise NotHandedOut()


def _refuse_empty(*, answers: Mapping[int, Answer]) -> None:
    # A submit without a single answer says nothing about the item, yet it
    # would use up one of the item's annotations (a stray Enter does it).
    # Skipping is how an annotator passes on an item.
    if not answers:
        raise SubmitRefused("Answer at least one label, or skip the item (s).")


def _refuse_unanswered(*, required: Sequence[Label], answers: Mapping[int, Answer]) -> None:
    unanswered = [label for label in required if label.pk not in answers]
    if unanswered:
        names = ", ".join(label.name for label in unanswered)
        raise SubmitRefused(
            f"This project needs an answer for every label. Not answered yet: {names}.", unanswered=unanswered
        )


def _create_annotation(*, idempotency_key: uuid.UUID, **fields: Any) -> tuple[Annotation, bool]:
    """Insert the annotation, or return the one an identical earlier request stored.

    The unique constraints decide, not a lookup before the insert: one on
    (annotator, idempotency key) catches a double submit, also when both
    requests arrive at once (the second insert waits for the first and then
    fails); one on (item, annotator) catches an item answered before from
    another form.
    """
    try:
        with transaction.atomic():
            return Annotation.objects.create(idempotency_key=idempotency_key, **fields), True
    except IntegrityError:
        earlier = Annotation.objects.filter(annotator=fields["annotator"], idempotency_key=idempotency_key).first()
        if earlier is None:
            raise SubmitRefused(
                "You have already answered this item. Change your answer from “My work”.", answered_before=True
            ) from None
        if earlier.item_id != fields["item"].pk:
            raise SubmitRefused("This form was already used for another item; reload the page.") from None
        return earlier, False


def submit_annotation(
    *,
    annotator: User,
    item: Item,
    answers: Mapping[int, Answer],
    idempotency_key: uuid.UUID,
    duration_ms: int | None,
    focus_only: bool = False,
    labels: Sequence[Label] | None = None,
    rules: RulesByLabelId | None = None,
    handed_out_only: bool = False,
    now: datetime | None = None,
) -> Stored:
    """Store the annotator's answers for an item; a repeated idempotency key stores nothing new.

    ``labels`` are the project's answerable labels if the caller has loaded
    them already. Raises SubmitRefused when the answers cannot be stored (no
    answer at all, a required label unanswered, the item already answered, a
    label no longer active), and RulesBroken when ``rules`` are given and the
    answers break one. With ``handed_out_only`` (the annotate page) the
    annotator must hold a lease on the item, live or expired (a late answer
    is kept, docs/annotating.md); otherwise NotHandedOut, a 409: an item id
    typed into a form is not a way past the queue's overlap.
    """
    now = now or timezone.now()
    project = item.project
    labels = labels if labels is not None else answerable_labels(project=project)
    if handed_out_only:
        # Before the rule warnings: confirming a warning must not be asked
        # for answers that cannot be stored anyway. The check that counts is
        # the lease released in the transaction below.
        _refuse_not_handed_out(annotator=annotator, item=item, idempotency_key=idempotency_key)
    _check_answers(
        project=project,
        labels=labels,
        answers=answers,
        rules=rules,
        annotator=annotator,
        idempotency_key=idempotency_key,
    )
    with transaction.atomic():
        round_, reason = lock_round(item=item)
        earlier = Annotation.objects.filter(item=item, annotator=annotator).exclude(idempotency_key=idempotency_key)
        earlier_annotation = earlier.filter(skipped=False).first()
        if earlier_annotation is not None:
            return _add_to_annotation(
                annotation=earlier_annotation,
                idempotency_key=idempotency_key,
                round_=round_,
                reason=reason,
                labels=labels,
                answers=answers,
                duration_ms=duration_ms,
                focus_only=focus_only,
                handed_out_only=handed_out_only,
                now=now,
            )
        # The labels still to answer first: naming them helps more than "answer something".
        _refuse_unanswered(
            required=required_labels(project=project, labels=labels, item=item, focus_only=focus_only),
            answers=answers,
        )
        _refuse_empty(answers=answers)
        # Released first: the transaction puts it back if the submit is refused.
        leased_at = release_lease(annotator=annotator, item=item)
        replayed = Annotation.objects.filter(annotator=annotator, idempotency_key=idempotency_key).exists()
        if handed_out_only and leased_at is None and not replayed:
            raise NotHandedOut()
        annotation, created = _create_annotation(
            idempotency_key=idempotency_key,
            item=item,
            annotator=annotator,
            guideline_version=project.current_guideline(),
            created_at=now,
            updated_at=now,
            duration_ms=clamp_duration(
                reported_ms=duration_ms, leased_at=leased_at, now=now, lease_minutes=project.lease_minutes
            ),
            queue_round=round_,
            queue_reason=reason,
        )
        if not created:
            return Stored(annotation=annotation, created=False)
        Judgment.objects.bulk_create(
            [
                Judgment(annotation=annotation, label_id=label_id, value=answer.value, confidence=answer.confidence)
                for label_id, answer in answers.items()
            ]
        )
        QueueEntry.objects.filter(item=item).update(completed=F("completed") + 1, updated_at=now)
        # Last, so the project row is locked for the shortest time: every
        # submit in the project updates this one row.
        count_toward_retrain(project=project)
    return Stored(annotation=annotation, created=True)


def lock_round(*, item: Item) -> tuple[int, str]:
    """The current round and reason of the item's queue entry ((0, "") without one), its row locked.

    A submit takes the lock first, so a re-rank that starts a new round
    either sees the stored answers or waits for them and then counts them.
    """
    found = QueueEntry.objects.select_for_update().filter(item=item).values_list("round", "reason").first()
    return found or (0, "")


def _add_to_annotation(
    *,
    annotation: Annotation,
    idempotency_key: uuid.UUID,
    round_: int,
    reason: str,
    labels: Sequence[Label],
    answers: Mapping[int, Answer],
    duration_ms: int | None,
    focus_only: bool,
    now: datetime,
    handed_out_only: bool = False,
) -> Stored:
    """Add the answers of a later round of the item to the annotator's existing annotation; never remove one.

    Labels the annotator answered before are not asked again: the same
    answer sent again is ignored, a different one is refused (answers change
    from "My work"). The annotation takes the submit's idempotency key, so a
    replay of this submit finds it as a replay of the first one does. The
    addition is audited with the annotation before and after.
    """
    item, project = annotation.item, annotation.item.project
    before_answers = {
        judgment.label_id: Answer(judgment.value, judgment.confidence) for judgment in annotation.judgments.all()
    }
    changed = [label_id for label_id, answer in answers.items() if before_answers.get(label_id, answer) != answer]
    new = {label_id: answer for label_id, answer in answers.items() if label_id not in before_answers}
    if annotation.queue_round >= round_:
        raise SubmitRefused(
            "You have already answered this item. Change your answer from “My work”.", answered_before=True
        )
    if changed:
        names = ", ".join(label.name for label in labels if label.pk in changed) or "some labels"
        raise SubmitRefused(f"You answered {names} before; change those answers from “My work”.")
    _refuse_unanswered(
        required=required_labels(
            project=project, labels=labels, item=item, focus_only=focus_only, answered=before_answers
        ),
        answers=new,
    )
    _refuse_empty(answers=new)
    before = annotation_state(annotation)
    leased_at = release_lease(annotator=annotation.annotator, item=item)
    if handed_out_only and leased_at is None:
        raise NotHandedOut()
    Judgment.objects.bulk_create(
        [
            Judgment(annotation=annotation, label_id=label_id, value=answer.value, confidence=answer.confidence)
            for label_id, answer in new.items()
        ]
    )
    spent = clamp_duration(reported_ms=duration_ms, leased_at=leased_at, now=now, lease_minutes=project.lease_minutes)
    annotation.queue_round = round_
    annotation.queue_reason = reason
    annotation.updated_at = now
    annotation.idempotency_key = idempotency_key
    annotation.duration_ms = min(annotation.duration_ms + spent, MAX_STORED_DURATION_MS)
    annotation.save(update_fields=["queue_round", "queue_reason", "updated_at", "idempotency_key", "duration_ms"])
    record_audit(
        action="annotation.add",
        actor=annotation.annotator,
        project=project,
        obj=annotation,
        before=before,
        after=annotation_state(annotation),
    )
    QueueEntry.objects.filter(item=item).update(completed=F("completed") + 1, updated_at=now)
    count_toward_retrain(project=project)
    return Stored(annotation=annotation, created=True)


def skip_item(
    *,
    annotator: User,
    item: Item,
    reason: str,
    idempotency_key: uuid.UUID,
    duration_ms: int | None,
    own_words: bool = False,
    handed_out_only: bool = False,
    now: datetime | None = None,
) -> Stored:
    """Record that the annotator skipped the item, and why.

    ``reason`` is one of the project's skip reasons, or with ``own_words``
    the annotator's text after choosing "other" on the page. A reason the
    project does not list is refused (``SkipReasonRefused``); the stored
    text is the reason as it was then, so a later change of the list
    leaves earlier skips as they were (docs/annotating.md).

    A skip is an Annotation with ``skipped`` set and no judgments, so the
    item is never offered to this annotator again. It does not count as a
    completed annotation: the item stays open for others. With
    ``handed_out_only`` (the annotate page) a skip, like a submit, needs a
    lease on the item, live or expired; otherwise NotHandedOut (a skip of an
    item never handed out could later be edited into answers past the
    item's overlap).
    """
    reason = " ".join(reason.split())
    if not reason:
        raise SubmitRefused("Say why you skip the item.")
    if problem := text_problem(reason, what="Your reason", max_chars=Annotation.SKIP_REASON_MAX_CHARS, name=True):
        raise SkipReasonRefused(f"{problem} Nothing was saved.")
    project = item.project
    if not own_words and reason not in project.skip_reasons:
        raise SkipReasonRefused(
            f"The skip reason {quoted(reason)} is not one of this project's (they may have changed since the page "
            "loaded). Nothing was saved; choose one of the reasons shown, or “Other” with your own words."
        )
    now = now or timezone.now()
    refuse_archived(project=project)
    with transaction.atomic():
        round_, reason_asked = lock_round(item=item)
        leased_at = release_lease(annotator=annotator, item=item)
        replayed = Annotation.objects.filter(annotator=annotator, idempotency_key=idempotency_key).exists()
        if handed_out_only and leased_at is None and not replayed:
            raise NotHandedOut()
        earlier = Annotation.objects.filter(item=item, annotator=annotator, skipped=False).first()
        if earlier is not None:
            # Passing on a later round of an item answered before: the
            # answers stay, and this round does not ask them again.
            if earlier.queue_round < round_:
                Annotation.objects.filter(pk=earlier.pk).update(queue_round=round_)
            return Stored(annotation=earlier, created=False)
        annotation, created = _create_annotation(
            idempotency_key=idempotency_key,
            item=item,
            annotator=annotator,
            guideline_version=project.current_guideline(),
            created_at=now,
            updated_at=now,
            skipped=True,
            skip_reason=reason,
            queue_round=round_,
            queue_reason=reason_asked,
            duration_ms=clamp_duration(
                reported_ms=duration_ms, leased_at=leased_at, now=now, lease_minutes=project.lease_minutes
            ),
        )
    return Stored(annotation=annotation, created=created)


def _refuse_full_round(*, item: Item, annotator_id: int, now: datetime) -> None:
    """Refuse to add an annotator to an item whose current round has all it needs; locks the queue row.

    Others' live leases count as places taken: the queue handed them the item
    because the round still needed them, and a lease holder's submit is
    always kept, so an edit that took their place would push the item over
    its overlap (the load harness's checker found it).
    """
    entry = QueueEntry.objects.select_for_update().filter(item=item).values_list("required", "completed").first()
    if entry is None:
        return
    required, completed = entry
    handed_out = Lease.objects.filter(item=item, expires_at__gt=now).exclude(annotator_id=annotator_id).count()
    if completed >= required:
        raise SubmitRefused(
            f"This item has all the answers it needs ({required}) since you skipped it, so your skip stays as it "
            "was and nothing was saved."
        )
    if completed + handed_out >= required:
        raise SubmitRefused(
            "Since you skipped this item, others were given it for the answers it still needs, so your skip "
            "stays as it was and nothing was saved."
        )


def annotation_state(annotation: Annotation) -> dict[str, Any]:
    """A JSON-ready picture of an annotation, for the audit trail."""
    return {
        "item": annotation.item.external_id,
        "skipped": annotation.skipped,
        "skip_reason": annotation.skip_reason,
        "guideline_version": annotation.guideline_version.number if annotation.guideline_version else None,
        "judgments": {
            judgment.label.name: {"value": judgment.value, "confidence": judgment.confidence}
            for judgment in annotation.judgments.select_related("label").order_by("label__order", "label_id")
        },
    }


def edit_annotation(
    *,
    annotation: Annotation,
    editor: User,
    answers: Mapping[int, Answer],
    focus_only: bool = False,
    rules: RulesByLabelId | None = None,
    now: datetime | None = None,
) -> Annotation:
    """Replace the answers of the editor's own annotation; the earlier state goes to the audit trail.

    Only answers to active labels are replaced; judgments on labels retired
    or merged since are history and stay as they were. An edit of a skipped
    item turns it into an answered one. The guideline version becomes the
    one in force now, since the new answers were given under it. The checks
    and their order are those of a submit (``_check_answers``).

    An edit of a skip adds an answer to the item, so it is refused once the
    item's current round has every annotator it needs (the skip stays):
    otherwise an edit could take an item past its overlap, which the queue
    never does.
    """
    if annotation.annotator_id != editor.pk:
        raise SubmitRefused("Only the annotator can change their own annotation.")
    now = now or timezone.now()
    with transaction.atomic():
        annotation = Annotation.objects.select_for_update().select_related("item__project").get(pk=annotation.pk)
        item = annotation.item
        project = item.project
        labels = answerable_labels(project=project)
        _check_answers(project=project, labels=labels, answers=answers, rules=rules)
        _refuse_unanswered(
            required=required_labels(project=project, labels=labels, item=item, focus_only=focus_only),
            answers=answers,
        )
        if not answers:
            raise SubmitRefused("Keep at least one answer: an annotation without answers says nothing about the item.")
        was_skipped = annotation.skipped
        if was_skipped:
            _refuse_full_round(item=item, annotator_id=annotation.annotator_id, now=now)
        before = annotation_state(annotation)
        active_ids = [label.pk for label in labels]
        Judgment.objects.filter(annotation=annotation, label_id__in=active_ids).delete()
        Judgment.objects.bulk_create(
            [
                Judgment(annotation=annotation, label_id=label_id, value=answer.value, confidence=answer.confidence)
                for label_id, answer in answers.items()
            ]
        )
        annotation.skipped = False
        annotation.skip_reason = ""
        annotation.guideline_version = project.current_guideline()
        annotation.updated_at = now
        update_fields = ["skipped", "skip_reason", "guideline_version", "updated_at"]
        if was_skipped:
            # The answers now count toward the item's current round, as a submit's would.
            round_, annotation.queue_reason = lock_round(item=item)
            annotation.queue_round = round_
            update_fields += ["queue_round", "queue_reason"]
            QueueEntry.objects.filter(item=item).update(completed=F("completed") + 1, updated_at=now)
        annotation.save(update_fields=update_fields)
        record_audit(
            action="annotation.edit",
            actor=editor,
            project=project,
            obj=annotation,
            before=before,
            after=annotation_state(annotation),
        )
    return annotation


def count_toward_retrain(*, project: Project) -> bool:
    """Count one new annotation; the one that reaches ``retrain_every`` requests a retrain. True if it did.

    One UPDATE both counts and, at the threshold, resets the counter; it
    reads and writes the row under the row lock, so concurrent submits never
    lose a count and exactly one of them resets it. That one sends the task,
    after commit, by name (annotate never imports learner). Plain SQL for the
    RETURNING, on every submit.
    """
    sql = f"""
        UPDATE {Project._meta.db_table} SET annotations_since_retrain = CASE
            WHEN retrain_every > 0 AND annotations_since_retrain + 1 >= retrain_every THEN 0
            ELSE annotations_since_retrain + 1 END
        WHERE id = %s
        RETURNING annotations_since_retrain, retrain_every
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk])
        row = cursor.fetchone()
    reset = row is not None and row[1] > 0 and row[0] == 0
    if reset:
        jobs.request_retrain(project_id=project.pk, trigger="annotations", if_not_sent=lambda: _count_again(project))
    return bool(reset)


def _count_again(project: Project) -> None:
    """After the broker refused a retrain request: the counter goes back to its threshold, so the next answer asks.

    Without this, a broker outage at the moment of the threshold would cost
    a whole ``retrain_every`` of answers before the next retrain.
    """
    Project.objects.filter(pk=project.pk, retrain_every__gt=0).update(
        annotations_since_retrain=Greatest(F("annotations_since_retrain"), F("retrain_every") - 1)
    )


def guideline_changes_since(
    *, project: Project, annotator: User, current: GuidelineVersion | None = None
) -> tuple[GuidelineVersion | None, list[GuidelineVersion]]:
    """The version the annotator last worked under, and the published versions after it, oldest first.

    Both are empty when the annotator has not annotated in this project yet
    or already worked under the current version. ``current`` is the version
    in force, when the caller has read it already; it saves a query in the
    common case, an annotator who keeps working under the same version.
    """
    # Filtering on the guideline's project, not the item's, keeps this an
    # index walk over the newest annotations: joining 100k items to find the
    # project made PostgreSQL scan them all (docs/benchmarks.md).
    last = (
        Annotation.objects.filter(annotator=annotator, guideline_version__project=project)
        .select_related("guideline_version")
        .order_by("-created_at")
        .first()
    )
    if (
        last is None
        or last.guideline_version is None
        or (current is not None and last.guideline_version_id == current.pk)
    ):
        return None, []
    since = last.guideline_version
    newer = list(
        project.guideline_versions.filter(published_at__isnull=False, number__gt=since.number).order_by("number")
    )
    return since, newer


# "Left for you" counts open queue entries up to this many and then says
# "more than": an exact count walks every open entry of a large project on
# every submit (docs/annotating.md, "Your progress").
LEFT_COUNT_CAP = 1000


@dataclass(frozen=True)
class Progress:
    """An annotator's own figures in one project, shown on the annotate page."""

    today: int  # items answered since local midnight (skips not counted)
    total: int  # items answered in the project
    skipped: int
    left: int  # open queue entries they may still work on, at most LEFT_COUNT_CAP
    left_capped: bool  # True when there are more than ``left``


def annotator_progress(*, annotator: User, project: Project, now: datetime | None = None) -> Progress:
    """Done today, done in total, and items left in the queue for this annotator (two queries).

    "Left" counts the open entries whose current round the annotator may
    still work on, the rule ``next_item`` applies (docs/annotating.md, "When
    an item is open"), without the other annotators' live leases: an item
    someone holds now is still left, since their lease may lapse.
    """
    midnight = timezone.localtime(now or timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    mine = Annotation.objects.filter(annotator=annotator, item__project=project)
    today = mine.filter(created_at__gte=midnight).aggregate(
        answered=Count("id", filter=Q(skipped=False)), skipped=Count("id", filter=Q(skipped=True))
    )
    # Everything before today changes rarely (an edit keeps its creation
    # time), so it is counted once a day and cached; today's few rows are
    # counted on every page. Counting all of a busy annotator's 25k
    # annotations took 0.1 s on every submit (docs/benchmarks.md, "Item browser").
    key = f"tagwise:progress:v1:{project.pk}:{annotator.pk}:{midnight.date().isoformat()}"
    before = cache.get(key)
    if before is None:
        before = mine.filter(created_at__lt=midnight).aggregate(
            answered=Count("id", filter=Q(skipped=False)), skipped=Count("id", filter=Q(skipped=True))
        )
        cache.set(key, before, 26 * 3600)
    counts = {
        "today": today["answered"],
        "total": before["answered"] + today["answered"],
        "skipped": before["skipped"] + today["skipped"],
    }
    worked = Annotation.objects.filter(item_id=OuterRef("item_id"), annotator=annotator).filter(
        Q(skipped=True) | Q(queue_round__gte=OuterRef("round"))
    )
    open_for_them = (
        QueueEntry.objects.filter(project=project, completed__lt=F("required"))
        .exclude(Exists(worked))
        .order_by()
        .values("id")
    )
    left = open_for_them[: LEFT_COUNT_CAP + 1].count()
    return Progress(
        today=counts["today"],
        total=counts["total"],
        skipped=counts["skipped"],
        left=min(left, LEFT_COUNT_CAP),
        left_capped=left > LEFT_COUNT_CAP,
    )
