"""Changes to a project's label set that keep every answer's meaning.

Each change has a ``preview_*`` function that says what it would do and an
action that does it in one transaction with one audit event. The three-state
rule (docs/architecture.md) shapes every one of them:

- Adding a label creates no judgment rows, so it is unobserved on every
  existing annotation. It is asked from the moment it is added and is dated
  with the guideline version in force (``introduced_in``); see
  docs/guidelines.md for why it does not wait for the next version.
- Retiring a label keeps its judgments. It stops being asked, trained on and
  counted in current agreement, because all of those read
  ``Project.active_labels()``. Bringing it back (``restore_label``) makes it
  active again; what was annotated meanwhile stays unobserved for it.
- Merging A into B copies positive A answers to B, never negatives, and keeps
  A's own rows as history. See ``plan_merge`` for the exact rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery

from annotate import jobs
from annotate.models import Annotation, AuditEvent, Judgment, Label, Project, Resolution, record_audit
from annotate.text import hidden_in_name, quoted, text_problem


class LabelSetError(ValueError):
    """A label-set change that cannot be done as asked; the message is for the user.

    *field* names the form field at fault, if one is, so the form can show the
    message beside it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StalePreviewError(LabelSetError):
    """The data changed between the preview a manager confirmed and the change."""


# The fields a manager may edit in place; the label keeps its id, so every
# judgment, resolution and rule stays attached.
EDITABLE_FIELDS = ("name", "description", "color", "shortcut_key", "order")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LABEL_NAME_MAX_CHARS = Label._meta.get_field("name").max_length or 100
LABEL_DESCRIPTION_MAX_CHARS = 5000
# Colours new labels take in turn, so neighbours in the list and on the
# dashboard tell apart (Tableau 10, whose first is the model's default).
LABEL_PALETTE = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#b279a2",
    "#eeca3b",
    "#9d755d",
    "#ff9da6",
    "#bab0ac",
)


def palette_color(index: int) -> str:
    """The colour of the ``index``-th label of a project (from 0), the palette over again after ten."""
    return LABEL_PALETTE[index % len(LABEL_PALETTE)]


def next_color(project: Project) -> str:
    """The colour a label added now to ``project`` takes unless one is chosen."""
    return palette_color(project.labels.count())


# Keys with a meaning of their own on the annotate page (confidence, next,
# skip, undo). A label given one of them would silently get another key there,
# so they are refused here; label_keys below never hands them out.
RESERVED_KEYS = frozenset("cnsu")
# Labels without a usable key of their own get the next of these, in label order.
SPARE_KEYS = "1234567890qwertyiopadfghjklzxvbm"


def label_keys(labels: list[Label]) -> dict[int, str]:
    """The key that toggles each label: its own shortcut key if usable, else the next free digit or letter.

    Keys follow the label order, not the order on screen, so a label keeps its
    key from item to item even when focus labels move to the top.
    """
    keys: dict[int, str] = {}
    taken: set[str] = set()
    for label in labels:
        key = (label.shortcut_key or "").lower()
        if key.isascii() and key.isalnum() and key not in RESERVED_KEYS and key not in taken:
            keys[label.pk] = key
            taken.add(key)
    spare = iter(key for key in SPARE_KEYS if key not in taken)
    for label in labels:
        if label.pk not in keys:
            key = next(spare, "")
            if key:
                keys[label.pk] = key
    return keys


def label_state(label: Label) -> dict[str, Any]:
    """The label as it appears in audit events."""
    return {
        "id": label.pk,
        "name": label.name,
        "description": label.description,
        "color": label.color,
        "shortcut_key": label.shortcut_key,
        "order": label.order,
        "introduced_in": label.introduced_in.number if label.introduced_in_id else None,
        "retired_in": label.retired_in.number if label.retired_in_id else None,
        "merged_into": label.merged_into_id,
    }


# ---------------------------------------------------------------------------
# Validation shared by add and update
# ---------------------------------------------------------------------------


def _check_fields(project: Project, fields: dict[str, Any], *, label: Label | None = None) -> dict[str, Any]:
    """Normalise and validate label fields; raise LabelSetError with a message for the form."""
    clean = dict(fields)
    others = project.labels.exclude(pk=label.pk) if label else project.labels.all()
    if "name" in clean:
        clean["name"] = str(clean["name"]).strip()
        if not clean["name"]:
            raise LabelSetError("A label needs a name.", field="name")
        if len(clean["name"]) > LABEL_NAME_MAX_CHARS:
            raise LabelSetError(f"A label name has at most {LABEL_NAME_MAX_CHARS} characters.", field="name")
        if "," in clean["name"]:
            # The export selects labels by a comma-separated list of names.
            raise LabelSetError("A label name cannot contain a comma.", field="name")
        if hidden := hidden_in_name(clean["name"]):
            raise LabelSetError(
                f"A label name cannot contain a line break, a control or an invisible character ({hidden}).",
                field="name",
            )
        if others.filter(name__iexact=clean["name"]).exists():
            raise LabelSetError(f"This project already has a label named “{clean['name']}”.", field="name")
    if "color" in clean:
        clean["color"] = str(clean["color"]).strip() or next_color(project)
        if not _COLOR.match(clean["color"]):
            raise LabelSetError("A colour is written as #rrggbb, for example #4c78a8.", field="color")
    if "shortcut_key" in clean:
        clean["shortcut_key"] = _check_key(str(clean["shortcut_key"]), others)
    if "order" in clean:
        clean["order"] = int(clean["order"])
    if "description" in clean:
        clean["description"] = str(clean["description"]).strip()
        if problem := text_problem(clean["description"], what="The description", max_chars=LABEL_DESCRIPTION_MAX_CHARS):
            raise LabelSetError(problem, field="description")
    unknown = set(clean) - set(EDITABLE_FIELDS)
    if unknown:
        raise LabelSetError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    return clean


def _check_key(key: str, others: Any) -> str:
    """A usable shortcut key, lower-cased, or "" for none; raise LabelSetError otherwise.

    The annotate page matches keys case-insensitively, so "W" and "w" are the
    same key and are stored as "w".
    """
    key = key.strip().lower()
    if not key:
        return ""
    if len(key) > 1 or not (key.isascii() and key.isalnum()):
        raise LabelSetError("A shortcut key is one letter (a to z) or digit (0 to 9).", field="shortcut_key")
    if key in RESERVED_KEYS:
        reserved = ", ".join(sorted(RESERVED_KEYS))
        raise LabelSetError(
            f"The key {quoted(key)} is reserved on the annotate page (reserved keys: {reserved}).", field="shortcut_key"
        )
    # Two active labels on one key would make the annotate page ambiguous.
    # Retired labels are never shown, so their keys are free again.
    if others.filter(retired_in__isnull=True, merged_into__isnull=True, shortcut_key__iexact=key).exists():
        raise LabelSetError(f"The key “{key}” is already the shortcut of another active label.", field="shortcut_key")
    return key


def _lock(label: Label) -> Label:
    """Re-read a label under a row lock, so concurrent label-set changes serialise."""
    return Label.objects.select_for_update().select_related("project").get(pk=label.pk)


# ---------------------------------------------------------------------------
# Add
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AddPreview:
    name: str
    introduced_in: int | None
    annotations_unobserved: int

    @property
    def message(self) -> str:
        version = f"guideline version {self.introduced_in}" if self.introduced_in else "the first guideline version"
        return (
            f"Adding “{self.name}”: it is asked from now on and dated {version}; "
            f"the {self.annotations_unobserved} annotations already made stay unobserved for it "
            "(no answers are created)."
        )


def preview_add_label(*, project: Project, name: str, **fields: Any) -> AddPreview:
    """What adding a label does; raises LabelSetError if the fields would be refused."""
    clean = _check_fields(project, {"name": name, **fields})
    current = project.current_guideline()
    existing = Annotation.objects.filter(item__project=project, skipped=False).count()
    return AddPreview(
        name=clean["name"], introduced_in=current.number if current else None, annotations_unobserved=existing
    )


def add_label(*, project: Project, actor: Any, name: str, **fields: Any) -> Label:
    """Add a label to the end of the label set, dated with the guideline version in force.

    No judgment rows are created: the new label is unobserved on every
    annotation made so far, including those under the current version.
    """
    clean = _check_fields(project, {"name": name, **fields})
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        clean.setdefault("color", next_color(project))
        if "order" not in clean:
            clean["order"] = (project.labels.aggregate(m=Max("order"))["m"] or 0) + 1
        label = Label.objects.create(project=project, introduced_in=project.current_guideline(), **clean)
        record_audit(action="label.add", actor=actor, project=project, obj=label, before=None, after=label_state(label))
    return label


# ---------------------------------------------------------------------------
# Edit in place: rename, re-colour, shortcut, order
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdatePreview:
    label: Label
    changes: dict[str, tuple[Any, Any]]

    @property
    def message(self) -> str:
        if not self.changes:
            return f"Nothing to change on “{self.label.name}”."
        parts = [f"{name}: “{before}” → “{after}”" for name, (before, after) in self.changes.items()]
        return f"Updating “{self.label.name}” (answers stay attached): " + "; ".join(parts) + "."


def preview_update_label(*, label: Label, **fields: Any) -> UpdatePreview:
    clean = _check_fields(label.project, fields, label=label)
    changes = {name: (getattr(label, name), value) for name, value in clean.items() if getattr(label, name) != value}
    return UpdatePreview(label=label, changes=changes)


def update_label(*, label: Label, actor: Any, **fields: Any) -> Label:
    """Rename, re-colour, re-key or re-order a label in place; one "label.update" event with the changed fields."""
    with transaction.atomic():
        locked = _lock(label)
        preview = preview_update_label(label=locked, **fields)
        if not preview.changes:
            return locked
        after = {name: new for name, (_, new) in preview.changes.items()}
        Label.objects.filter(pk=locked.pk).update(**after)
        record_audit(
            action="label.update",
            actor=actor,
            project=locked.project,
            obj=locked,
            before={name: old for name, (old, _) in preview.changes.items()},
            after=after,
        )
    label.refresh_from_db()
    return label


def reorder_labels(*, project: Project, actor: Any, label_ids: Sequence[int]) -> None:
    """Set the order of the active labels to the given sequence; one "label.reorder" event."""
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        active = list(project.active_labels())
        if sorted(label_ids) != sorted(label.pk for label in active):
            raise LabelSetError("The new order must list every active label once.")
        before = {label.name: label.order for label in active}
        by_id = {label.pk: label for label in active}
        changed = []
        for position, label_id in enumerate(label_ids, start=1):
            if by_id[label_id].order != position:
                by_id[label_id].order = position
                changed.append(by_id[label_id])
        if not changed:
            return
        Label.objects.bulk_update(changed, ["order"])
        after = {label.name: label.order for label in active}
        record_audit(action="label.reorder", actor=actor, project=project, before=before, after=after)


def move_label(*, label: Label, actor: Any, step: int) -> None:
    """Move an active label up (step -1) or down (step +1) among the active labels."""
    ids = [pk for pk in label.project.active_labels().values_list("pk", flat=True)]
    if label.pk not in ids:
        raise LabelSetError("Only active labels can be re-ordered.")
    index = ids.index(label.pk)
    target = min(max(index + step, 0), len(ids) - 1)
    ids.insert(target, ids.pop(index))
    reorder_labels(project=label.project, actor=actor, label_ids=ids)


# ---------------------------------------------------------------------------
# Rules: implies and excludes
# ---------------------------------------------------------------------------


def rules_of(label: Label) -> dict[str, list[str]]:
    return {
        "implies": sorted(label.implies.values_list("name", flat=True)),
        "excludes": sorted(label.excludes.values_list("name", flat=True)),
    }


@dataclass(frozen=True)
class RulesPreview:
    label: Label
    before: dict[str, list[str]]
    after: dict[str, list[str]]

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def message(self) -> str:
        parts = []
        for kind in ("implies", "excludes"):
            added = sorted(set(self.after[kind]) - set(self.before[kind]))
            removed = sorted(set(self.before[kind]) - set(self.after[kind]))
            if added:
                parts.append(f"now {kind} {', '.join(added)}")
            if removed:
                parts.append(f"no longer {kind} {', '.join(removed)}")
        if not parts:
            return f"The rules of “{self.label.name}” stay as they are."
        return f"“{self.label.name}” " + "; ".join(parts) + "."


def _rule_targets(label: Label, others: Iterable[Label]) -> list[Label]:
    targets = list(others)
    for other in targets:
        if other.project_id != label.project_id:
            raise LabelSetError("Rules can only link labels of the same project.")
        if other.pk == label.pk:
            raise LabelSetError("A label cannot imply or exclude itself.")
        if not other.is_active:
            raise LabelSetError(f"“{other.name}” is retired; rules only link active labels.")
    return targets


def preview_rules(*, label: Label, implies: Iterable[Label], excludes: Iterable[Label]) -> RulesPreview:
    implies, excludes = _rule_targets(label, implies), _rule_targets(label, excludes)
    both = {other.name for other in implies} & {other.name for other in excludes}
    if both:
        raise LabelSetError(f"“{label.name}” cannot both imply and exclude {', '.join(sorted(both))}.")
    after = {"implies": sorted(o.name for o in implies), "excludes": sorted(o.name for o in excludes)}
    return RulesPreview(label=label, before=rules_of(label), after=after)


def set_label_rules(*, label: Label, actor: Any, implies: Iterable[Label], excludes: Iterable[Label]) -> None:
    """Replace a label's implies and excludes rules; one "label.rules" event.

    *excludes* is symmetric: "a excludes b" is also "b excludes a".
    """
    implies, excludes = list(implies), list(excludes)
    with transaction.atomic():
        locked = _lock(label)
        preview = preview_rules(label=locked, implies=implies, excludes=excludes)
        if not preview.changed:
            return
        locked.implies.set(implies)
        locked.excludes.set(excludes)
        record_audit(
            action="label.rules",
            actor=actor,
            project=locked.project,
            obj=locked,
            before=preview.before,
            after=preview.after,
        )


# ---------------------------------------------------------------------------
# Retire
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RetirePreview:
    label: Label
    retired_in: int | None
    positives: int
    negatives: int
    resolutions: int

    @property
    def message(self) -> str:
        return (
            f"Retiring “{self.label.name}”: it is no longer asked, trained on or counted in current agreement; "
            f"its {self.positives} positive and {self.negatives} negative answers and {self.resolutions} "
            f"resolutions are kept as history and stay exportable."
        )


def preview_retire(*, label: Label) -> RetirePreview:
    if not label.is_active:
        raise LabelSetError(f"“{label.name}” is already retired.")
    current = label.project.current_guideline()
    if current is None:
        raise LabelSetError("Publish a guideline version first: a retirement is dated with the version in force.")
    values = list(label.judgments.values_list("value", flat=True))
    return RetirePreview(
        label=label,
        retired_in=current.number,
        positives=sum(values),
        negatives=len(values) - sum(values),
        resolutions=label.resolutions.count(),
    )


def retire_label(*, label: Label, actor: Any) -> Label:
    """Retire a label as of the guideline version in force; its answers stay as history."""
    with transaction.atomic():
        locked = _lock(label)
        preview_retire(label=locked)
        before = label_state(locked)
        current = locked.project.current_guideline()
        Label.objects.filter(pk=locked.pk).update(retired_in=current)
        locked.refresh_from_db()
        record_audit(
            action="label.retire",
            actor=actor,
            project=locked.project,
            obj=locked,
            before=before,
            after=label_state(locked),
        )
        _retrain_after_label_change(project=locked.project)
    label.refresh_from_db()
    return label


@dataclass(frozen=True)
class RestorePreview:
    label: Label
    positives: int
    negatives: int
    # The label's own key, if another active label took it meanwhile: it comes back without one.
    key_taken: str

    @property
    def message(self) -> str:
        message = (
            f"Bringing back “{self.label.name}”: it is asked, trained on and counted in agreement again from now on. "
            f"Its {self.positives} positive and {self.negatives} negative answers from before count again; "
            f"annotations made while it was retired stay unobserved for it (nobody is assumed to have said no)."
        )
        if self.key_taken:
            message += (
                f" Its key “{self.key_taken}” is now another label's, so it comes back without one "
                "and gets the next free key on the annotate page."
            )
        return message


def preview_restore(*, label: Label) -> RestorePreview:
    if label.merged_into_id is not None:
        raise LabelSetError(
            f"“{label.name}” was merged into “{label.merged_into.name}”: its positives live there now, "
            "so it cannot come back. Add a new label instead."
        )
    if label.is_active:
        raise LabelSetError(f"“{label.name}” is not retired.")
    key = label.shortcut_key.lower()
    active_others = label.project.active_labels().exclude(pk=label.pk)
    taken = bool(key) and active_others.filter(shortcut_key__iexact=key).exists()
    values = list(label.judgments.values_list("value", flat=True))
    return RestorePreview(
        label=label,
        positives=sum(values),
        negatives=len(values) - sum(values),
        key_taken=key if taken else "",
    )


def restore_label(*, label: Label, actor: Any) -> Label:
    """Bring a retired label back (not a merged one): asked again from now on, its earlier answers count again.

    Annotations made while it was retired have no row for it, so they stay
    unobserved for it (the three-state rule). One ``label.restore`` event.
    """
    with transaction.atomic():
        locked = _lock(label)
        preview = preview_restore(label=locked)
        before = label_state(locked)
        fields: dict[str, Any] = {"retired_in": None}
        if preview.key_taken:
            fields["shortcut_key"] = ""
        Label.objects.filter(pk=locked.pk).update(**fields)
        locked.refresh_from_db()
        record_audit(
            action="label.restore",
            actor=actor,
            project=locked.project,
            obj=locked,
            before=before,
            after=label_state(locked),
        )
        _retrain_after_label_change(project=locked.project)
    label.refresh_from_db()
    return label


# ---------------------------------------------------------------------------
# Merge
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeConflict:
    """A positive A and a negative B from the same annotator: B's negative stays, a reviewer decides."""

    annotation_id: int
    item_id: int
    annotator_id: int
    source_confidence: float
    target_confidence: float

    def as_json(self) -> dict[str, Any]:
        return {
            "annotation": self.annotation_id,
            "item": self.item_id,
            "annotator": self.annotator_id,
            "source_confidence": self.source_confidence,
            "target_confidence": self.target_confidence,
        }


@dataclass
class MergePlan:
    """What merging ``source`` into ``target`` does, answer by answer.

    Per annotation that has an answer for the source label A:

    ==========  ============  ====================================================
    A           B             result on B
    ==========  ============  ====================================================
    positive    unobserved    positive, with A's confidence (``moved``)
    positive    positive      positive, with the higher confidence (``combined``)
    positive    negative      B's negative stays; a conflict for review
    negative    anything      nothing: "not A" says nothing about B (``dropped``)
    ==========  ============  ====================================================

    A positive A on an annotation made under a guideline version older than
    the one B was introduced in is not moved (``before_target``): B did not
    exist then, and such an annotation stays unobserved for B, as docs/guidelines.md
    and the importer require. The answer stays on A as history.

    Resolutions follow the same rule: a positive A resolution becomes a
    positive B resolution when B has none; a negative one is dropped; a
    positive A against a negative B resolution keeps B's (the reviewer already
    decided B) and is listed in the audit event.
    """

    source: Label
    target: Label
    moved: list[tuple[int, float]] = field(default_factory=list)  # (annotation id, confidence)
    combined: list[tuple[int, int, float, float]] = field(default_factory=list)  # (annotation, B judgment, old, new)
    conflicts: list[MergeConflict] = field(default_factory=list)
    dropped: int = 0
    before_target: int = 0
    resolutions_moved: list[int] = field(default_factory=list)  # item ids
    resolution_conflicts: list[int] = field(default_factory=list)  # item ids

    @property
    def counts(self) -> dict[str, int]:
        return {
            "positives_moved": len(self.moved),
            "positives_combined": len(self.combined),
            "negatives_dropped": self.dropped,
            "conflicts": len(self.conflicts),
            "positives_before_target": self.before_target,
            "resolutions_moved": len(self.resolutions_moved),
            "resolution_conflicts": len(self.resolution_conflicts),
        }

    @property
    def message(self) -> str:
        c = self.counts
        text = (
            f"Merging “{self.source.name}” into “{self.target.name}”: {c['positives_moved']} positives move, "
            f"{c['positives_combined']} positives were already on “{self.target.name}”, "
            f"{c['negatives_dropped']} negatives are dropped, {c['conflicts']} conflicts go to review"
        )
        if c["positives_before_target"]:
            text += (
                f"; {c['positives_before_target']} positives were given under guideline versions before "
                f"“{self.target.name}” existed and stay only on “{self.source.name}”"
            )
        if c["resolutions_moved"] or c["resolution_conflicts"]:
            text += (
                f"; {c['resolutions_moved']} resolutions move and {c['resolution_conflicts']} conflicting "
                f"resolutions keep “{self.target.name}”'s value"
            )
        return text + f". “{self.source.name}” is retired and its answers are kept as history."


def _check_merge(source: Label, target: Label) -> None:
    if source.pk == target.pk:
        raise LabelSetError("A label cannot be merged into itself.")
    if source.project_id != target.project_id:
        raise LabelSetError("Only labels of the same project can be merged.")
    if not source.is_active:
        raise LabelSetError(f"“{source.name}” is already retired.")
    if not target.is_active:
        raise LabelSetError(f"“{target.name}” is retired; merge into an active label.")


def plan_merge(*, source: Label, target: Label) -> MergePlan:
    """Work out the merge of ``source`` into ``target`` without changing anything."""
    _check_merge(source, target)
    plan = MergePlan(source=source, target=target)
    on_target = Judgment.objects.filter(annotation=OuterRef("annotation"), label=target)
    rows = (
        Judgment.objects.filter(label=source)
        .annotate(
            target_id=Subquery(on_target.values("pk")[:1]),
            target_value=Subquery(on_target.values("value")[:1]),
            target_confidence=Subquery(on_target.values("confidence")[:1]),
        )
        .values_list(
            "annotation_id",
            "annotation__item_id",
            "annotation__annotator_id",
            "value",
            "confidence",
            "target_id",
            "target_value",
            "target_confidence",
            "annotation__guideline_version__number",
        )
        .order_by("annotation_id")
    )
    since = target.introduced_in.number if target.introduced_in_id else None
    for annotation_id, item_id, annotator_id, value, confidence, b_id, b_value, b_confidence, version in rows:
        if value == 0:
            plan.dropped += 1
        elif since is not None and version is not None and version < since:
            plan.before_target += 1
        elif b_id is None:
            plan.moved.append((annotation_id, confidence))
        elif b_value == 1:
            plan.combined.append((annotation_id, b_id, b_confidence, max(confidence, b_confidence)))
        else:
            plan.conflicts.append(MergeConflict(annotation_id, item_id, annotator_id, confidence, b_confidence))

    target_resolutions = dict(Resolution.objects.filter(label=target).values_list("item_id", "value"))
    for item_id in Resolution.objects.filter(label=source, value=1).values_list("item_id", flat=True):
        if item_id not in target_resolutions:
            plan.resolutions_moved.append(item_id)
        elif target_resolutions[item_id] == 0:
            plan.resolution_conflicts.append(item_id)
    return plan


def preview_merge(*, source: Label, target: Label) -> MergePlan:
    """The plan of a merge, for the confirmation page: ``.counts`` and ``.message``."""
    return plan_merge(source=source, target=target)


def merge_labels(*, source: Label, target: Label, actor: Any, expected: dict[str, int] | None = None) -> MergePlan:
    """Merge ``source`` into ``target`` in one transaction with one "label.merge" event.

    ``expected`` is the ``counts`` of the preview the manager confirmed; if
    the answers changed since, nothing is applied and StalePreviewError asks
    for a fresh look.
    """
    with transaction.atomic():
        # Lock both labels first. On PostgreSQL a judgment insert takes a key
        # share lock on its label, so no answer for A or B can be added
        # between the plan below and the commit.
        first, second = sorted([source, target], key=lambda label: label.pk)
        locked = {label.pk: _lock(label) for label in (first, second)}
        source, target = locked[source.pk], locked[target.pk]
        plan = plan_merge(source=source, target=target)
        if expected is not None and expected != plan.counts:
            raise StalePreviewError("The answers changed since the preview. Check the new figures and confirm again.")

        Judgment.objects.bulk_create(
            [Judgment(annotation_id=a, label=target, value=1, confidence=c) for a, c in plan.moved], batch_size=1000
        )
        raised = [Judgment(pk=b_id, confidence=new) for _, b_id, old, new in plan.combined if new > old]
        Judgment.objects.bulk_update(raised, ["confidence"], batch_size=1000)
        moved_resolutions = Resolution.objects.filter(label=source, item_id__in=plan.resolutions_moved)
        Resolution.objects.bulk_create(
            [
                Resolution(
                    item_id=r.item_id,
                    label=target,
                    value=1,
                    reviewer_id=r.reviewer_id,
                    note=f"Merged from “{source.name}”. {r.note}".strip(),
                )
                for r in moved_resolutions
            ]
        )

        before = {"source": label_state(source), "target": label_state(target)}
        Label.objects.filter(pk=source.pk).update(merged_into=target, retired_in=source.project.current_guideline())
        source.refresh_from_db()
        record_audit(
            action="label.merge",
            actor=actor,
            project=source.project,
            obj=source,
            before=before,
            after={
                "source": label_state(source),
                "target": label_state(target),
                "counts": plan.counts,
                "moved": [annotation for annotation, _ in plan.moved],
                "combined": [
                    {"annotation": a, "judgment": b, "confidence_before": old, "confidence_after": new}
                    for a, b, old, new in plan.combined
                ],
                "conflicts": [conflict.as_json() for conflict in plan.conflicts],
                "resolutions_moved": plan.resolutions_moved,
                "resolution_conflicts": plan.resolution_conflicts,
            },
        )
        _retrain_after_label_change(project=source.project)
    return plan


def _retrain_after_label_change(*, project: Project) -> None:
    """After a merge, a retirement or a restore the model in use scores the old label set: ask for a retrain.

    Only where retraining is automatic (``retrain_every`` > 0), once the
    change commits. Until the new model re-ranks the queue, the annotate page
    reads its focus labels as the label set is now (``queue.current_focus``).
    """
    if project.retrain_every > 0:
        project_id = project.pk
        jobs.request_retrain(project_id=project_id, trigger="labels")


# ---------------------------------------------------------------------------
# Merge conflicts awaiting review
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenConflict:
    """One merge conflict: on ``item_id`` an annotator said yes to ``source_name`` and no to the target label."""

    item_id: int
    label_id: int
    label_name: str
    source_name: str
    annotator_id: int
    merge_event_id: int
    # The confidence of the yes to the merged-away label (absent in events written before it was recorded).
    source_confidence: float | None = None


def merge_conflicts(*, project: Project) -> list[OpenConflict]:
    """Every merge conflict the project's merges produced, resolved or not, oldest merge first.

    The audit event of each merge is the record: the merged-away label's yes
    answers that met a no on the target are listed there, since the yes
    itself is not moved onto the target.
    """
    conflicts: list[OpenConflict] = []
    events = AuditEvent.objects.filter(project=project, action="label.merge").order_by("created_at", "pk")
    for event in events:
        after = event.after or {}
        target = after.get("target", {})
        source = after.get("source", {})
        for entry in after.get("conflicts", []):
            conflicts.append(
                OpenConflict(
                    item_id=entry["item"],
                    label_id=target.get("id"),
                    label_name=target.get("name", ""),
                    source_name=source.get("name", ""),
                    annotator_id=entry["annotator"],
                    merge_event_id=event.pk,
                    source_confidence=entry.get("source_confidence"),
                )
            )
    return conflicts


def open_merge_conflicts(*, project: Project) -> list[OpenConflict]:
    """Merge conflicts that no reviewer has resolved yet, for the review queue.

    A conflict is the pair (item, target label) where one annotator said yes
    to the merged-away label and no to the label it was merged into. A
    resolution of (item, target) settles the conflict, the same way it
    settles any disputed entry.
    """
    conflicts = merge_conflicts(project=project)
    if not conflicts:
        return []
    resolved = set(
        Resolution.objects.filter(
            Q(item_id__in={c.item_id for c in conflicts}) & Q(label_id__in={c.label_id for c in conflicts})
        ).values_list("item_id", "label_id")
    )
    return [c for c in conflicts if (c.item_id, c.label_id) not in resolved]
