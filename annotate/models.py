"""The data model of the annotate app.

The three-state rule (docs/architecture.md) lives here: a judgment row is a
positive or a negative answer, and the absence of a row is "unobserved". The
database itself enforces the value and confidence ranges and one judgment per
(annotation, label), so no code path can store a fourth state.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    MANAGER = "manager", "Manager"


# Roles ordered by what they may do; a higher role may do everything a lower one may.
ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3}

# The skip reasons a new project offers; a manager changes them on the settings page (docs/projects.md).
DEFAULT_SKIP_REASONS = ("unclear", "not in English", "spam")
# The choice on the annotate page that stands for "in my own words"; a project's own reasons cannot be called so.
OTHER_SKIP_REASON = "other"


def default_skip_reasons() -> list[str]:
    return list(DEFAULT_SKIP_REASONS)


class ProjectQuerySet(models.QuerySet["Project"]):
    def for_user(self, user: Any) -> ProjectQuerySet:
        """Projects the user may see: all for a superuser, else those they are a member of."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(memberships__user=user).distinct()


class AskMode(models.TextChoices):
    """What annotators are asked of an item (docs/annotating.md, "What annotators are asked")."""

    ALL = "all", "All labels"
    FOCUS = "focus", "The model's focus labels"


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    # How many annotators see an item, and for what share of the items. Items
    # outside the overlap share need one annotation.
    overlap_count = models.PositiveSmallIntegerField(default=2)
    overlap_fraction = models.FloatField(default=0.2)
    # Refuse a submit that leaves a label unanswered.
    require_all_labels = models.BooleanField(default=False)
    # Let an annotator answer only the model's focus labels of an item.
    allow_focus_only = models.BooleanField(default=True)
    # What annotators are asked: every label, or (once a model has ranked the
    # queue) the ``focus_size`` labels it is least sure about, with a share
    # ``exploration_share`` of random items asked every label they still need.
    ask_mode = models.CharField(max_length=8, choices=AskMode.choices, default=AskMode.ALL)
    focus_size = models.PositiveSmallIntegerField(default=5)
    # 5%: the share the active-learning simulation chose (docs/learner.md,
    # "Active learning: ranking and proof"), counting each exploration item's
    # judgments as cost.
    exploration_share = models.FloatField(default=0.05)
    # Retrain after this many new annotations; 0 turns the trigger off.
    retrain_every = models.PositiveIntegerField(default=50)
    # New annotations since the last retrain was requested. Submits add one;
    # the submit that brings it to ``retrain_every`` resets it with a
    # conditional UPDATE and requests exactly one retrain.
    annotations_since_retrain = models.PositiveIntegerField(default=0)
    default_confidence = models.FloatField(default=0.8)
    lease_minutes = models.PositiveIntegerField(default=30)
    # The reasons an annotator picks from to skip an item, in the order shown
    # (besides "other", in their own words). A skip stores the reason's text,
    # so changing the list never rewrites earlier skips.
    skip_reasons = models.JSONField(default=default_skip_reasons)
    # An archived project is read-only: the queue hands out nothing and no
    # answer is stored, but it can still be read and exported (docs/projects.md).
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(overlap_fraction__gte=0) & Q(overlap_fraction__lte=1),
                name="project_overlap_fraction_range",
            ),
            models.CheckConstraint(
                condition=Q(default_confidence__gt=0) & Q(default_confidence__lte=1),
                name="project_default_confidence_range",
            ),
            models.CheckConstraint(condition=Q(overlap_count__gte=1), name="project_overlap_count_min"),
            models.CheckConstraint(condition=Q(focus_size__gte=1), name="project_focus_size_min"),
            models.CheckConstraint(
                condition=Q(exploration_share__gte=0) & Q(exploration_share__lte=1),
                name="project_exploration_share_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def role_of(self, user: Any) -> str | None:
        """The user's role in this project; superusers act as managers everywhere."""
        if not user.is_authenticated:
            return None
        if user.is_superuser:
            return Role.MANAGER
        return Membership.objects.filter(project=self, user=user).values_list("role", flat=True).first()

    def current_guideline(self) -> GuidelineVersion | None:
        return self.guideline_versions.filter(published_at__isnull=False).order_by("-number").first()

    def active_labels(self) -> models.QuerySet[Label]:
        return self.labels.filter(retired_in__isnull=True, merged_into__isnull=True).order_by("order", "id")


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.project}"


class PublishedGuidelineError(Exception):
    """Raised on an attempt to edit a published guideline version."""


class GuidelineVersionQuerySet(models.QuerySet["GuidelineVersion"]):
    def published(self) -> GuidelineVersionQuerySet:
        return self.filter(published_at__isnull=False)

    def drafts(self) -> GuidelineVersionQuerySet:
        return self.filter(published_at__isnull=True)

    def edit_draft(self, version: GuidelineVersion, **fields: Any) -> None:
        """Change fields of a draft; refuse a published version.

        Every edit of a guideline goes through here, so the rule is checked in
        the application before the database trigger (migration 0002) has to.
        The update is conditional, so a version published concurrently is
        refused too, not overwritten.
        """
        if not self.drafts().filter(pk=version.pk).update(**fields):
            # ``version`` may be a stale copy of a draft someone published meanwhile: name the number it got.
            number = self.filter(pk=version.pk).values_list("number", flat=True).first()
            raise PublishedGuidelineError(f"Guideline version {number} is published and cannot change.")
        for name, value in fields.items():
            setattr(version, name, value)


class GuidelineVersion(models.Model):
    """A version of the annotation guideline. Published versions are immutable.

    A draft has no number and no published_at. Publishing assigns the next
    number; from then on a database trigger refuses any update of the row, and
    ``GuidelineVersion.objects.edit_draft`` and ``clean`` refuse it in the app.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guideline_versions")
    number = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    changelog = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = GuidelineVersionQuerySet.as_manager()

    class Meta:
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="guideline_number_unique"),
            models.CheckConstraint(
                condition=Q(published_at__isnull=True) | Q(number__isnull=False),
                name="guideline_published_has_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} guideline v{self.number}" if self.number else f"{self.project} draft"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def clean(self) -> None:
        # Forms (and the admin) validate against the stored row, so a version
        # that is already published cannot be edited through a form either.
        if self.pk and GuidelineVersion.objects.published().filter(pk=self.pk).exists():
            raise ValidationError("A published guideline version cannot be changed; write a new draft instead.")


# Foreign keys inside a project use RESTRICT rather than PROTECT: a label or
# guideline version that answers refer to cannot be deleted on its own, but
# deleting the whole project removes everything together.
class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    shortcut_key = models.CharField(max_length=1, blank=True)
    color = models.CharField(max_length=7, default="#4c78a8")
    order = models.PositiveIntegerField(default=0)
    # A label introduced in version N is unobserved on annotations made under
    # earlier versions; a null introduced_in means "from the start".
    introduced_in = models.ForeignKey(
        GuidelineVersion, null=True, blank=True, on_delete=models.RESTRICT, related_name="introduced_labels"
    )
    retired_in = models.ForeignKey(
        GuidelineVersion, null=True, blank=True, on_delete=models.RESTRICT, related_name="retired_labels"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="merged_from"
    )
    # Rules between labels: "laptop" implies "electronics"; excluded labels
    # should not both be positive.
    implies = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="implied_by")
    excludes = models.ManyToManyField("self", symmetrical=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.retired_in_id is None and self.merged_into_id is None


class Item(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=255)
    text = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="item_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Annotation(models.Model):
    """One annotator's current answer sheet for one item.

    Edits update this row and its judgments in place; the earlier state goes to
    the audit trail. A skipped annotation has no judgments.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    guideline_version = models.ForeignKey(
        GuidelineVersion, null=True, blank=True, on_delete=models.RESTRICT, related_name="annotations"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    skipped = models.BooleanField(default=False)
    SKIP_REASON_MAX_CHARS = 200
    skip_reason = models.CharField(max_length=SKIP_REASON_MAX_CHARS, blank=True)
    # The queue round of its item this annotation last answered in (or was
    # counted in): the annotator is not handed the item again in that round,
    # and is in a later one only if its labels are new to them
    # (docs/annotating.md, "When an item is open").
    queue_round = models.PositiveIntegerField(default=0)
    # Why the queue asked it (the entry's reason when it was answered, or when
    # answers were last added): the model page estimates quality from the
    # exploration answers only, an unbiased sample (docs/learner.md).
    queue_reason = models.CharField(max_length=16, blank=True, default="")
    # Sent with the form so a double submit or a retried request stores one annotation.
    idempotency_key = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="annotation_one_per_item_annotator"),
            models.UniqueConstraint(fields=["annotator", "idempotency_key"], name="annotation_idempotency_unique"),
        ]
        indexes = [
            models.Index(fields=["annotator", "-created_at"], name="annotation_recent_idx"),
            models.Index(fields=["created_at"], name="annotation_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.item_id}"


class Judgment(models.Model):
    """A positive (value 1) or negative (value 0) answer, with a confidence in (0, 1]."""

    # No single-column indexes: the unique (annotation, label) serves lookups by
    # annotation and judgment_label_idx (label, annotation) those by label. Two
    # more indexes on the largest table only slowed every import and submit.
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="judgments", db_index=False)
    label = models.ForeignKey(Label, on_delete=models.RESTRICT, related_name="judgments", db_index=False)
    value = models.PositiveSmallIntegerField()
    confidence = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotation", "label"], name="judgment_one_per_label"),
            models.CheckConstraint(condition=Q(value__in=[0, 1]), name="judgment_value_binary"),
            models.CheckConstraint(
                condition=Q(confidence__gt=0) & Q(confidence__lte=1), name="judgment_confidence_range"
            ),
        ]
        indexes = [models.Index(fields=["label", "annotation"], name="judgment_label_idx")]

    def __str__(self) -> str:
        return f"{self.label_id}={self.value} ({self.confidence:.2f})"


class Resolution(models.Model):
    """A reviewer's final value for an (item, label); it overrides the votes."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="resolutions")
    label = models.ForeignKey(Label, on_delete=models.RESTRICT, related_name="resolutions")
    value = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "label"], name="resolution_one_per_entry"),
            models.CheckConstraint(condition=Q(value__in=[0, 1]), name="resolution_value_binary"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.label_id}={self.value}"


class QueueReason(models.TextChoices):
    COLD_START = "cold_start", "Cold start"
    UNCERTAIN = "uncertain", "Uncertain"
    EXPLORATION = "exploration", "Exploration"
    OVERLAP = "overlap", "Overlap"
    NEW_LABEL = "new_label", "New label"


class QueueEntry(models.Model):
    """An item's place in its project's queue.

    An entry is worked in rounds. ``focus_labels`` are the labels the current
    round asks (empty in the cold start and in "all labels" projects: every
    label). ``required`` is how many annotators the round needs (the overlap
    count for overlap items, one otherwise, zero when the ranking no longer
    wants the item); ``completed`` counts the annotators the round has, so the
    next-item query skips finished entries through a partial index. A re-rank
    that asks other labels starts the next ``round`` (docs/annotating.md).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="queue_entries")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="queue_entry")
    priority = models.FloatField(default=0)
    focus_labels = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=16, choices=QueueReason.choices, default=QueueReason.COLD_START)
    # The learner's ModelVersion id. A plain integer, because annotate must
    # not depend on learner (docs/architecture.md).
    model_version_id = models.BigIntegerField(null=True, blank=True)
    required = models.PositiveSmallIntegerField(default=1)
    completed = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["project", "-priority", "id"],
                name="queue_open_priority_idx",
                condition=Q(completed__lt=models.F("required")),
            ),
        ]
        verbose_name_plural = "queue entries"

    def __str__(self) -> str:
        return f"{self.item_id} @ {self.priority:.3f}"


class Lease(models.Model):
    """A claim on an item by an annotator until ``expires_at``."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="leases")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leases")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="lease_one_per_item_annotator")]
        indexes = [models.Index(fields=["item", "expires_at"], name="lease_item_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.annotator} holds {self.item_id} until {self.expires_at:%H:%M}"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """An append-only record of a change: who, when, what, before and after."""

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="audit_project_time_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action}"

    # The two guards below hold no business rule: they keep the trail
    # append-only for code that works on instances, as the QuerySet does for
    # bulk updates and deletes. Deleting a project or a user still sets the
    # foreign keys to NULL, because Django's collector updates through the
    # base manager's QuerySet, not through these methods.
    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


def record_audit(
    *,
    action: str,
    actor: Any = None,
    project: Project | None = None,
    obj: models.Model | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction that makes the change."""
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        project=project,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        before=before,
        after=after,
    )


class ImportJob(models.Model):
    """A bulk import running in the background, with progress for the browser and the API."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    format = models.CharField(max_length=32)
    options = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=500)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"


class FlagReason(models.TextChoices):
    UNCLEAR = "unclear", "Unclear under the guideline"
    BROKEN = "broken", "Broken text"
    OTHER = "other", "Other"


class ItemFlag(models.Model):
    """An annotator's note that something is wrong with an item, for reviewers (docs/annotating.md, "Flags").

    One flag per (item, annotator): flagging again replaces the reason and
    comment. Reviewers see flags beside the answers and filter the item
    browser by them; a flag changes no answer and no queue entry.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="flags")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="item_flags")
    reason = models.CharField(max_length=16, choices=FlagReason.choices)
    comment = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="item_flag_one_per_annotator"),
            models.CheckConstraint(
                condition=Q(reason__in=["unclear", "broken", "other"]), name="item_flag_reason_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} flagged {self.item_id}: {self.reason}"
