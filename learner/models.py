"""Model versions: one training run of a project's model, from queued to ready, failed or skipped.

A version moves only through the transitions of ``ModelVersionQuerySet``.
Each is one conditional UPDATE that names the status it starts from and
returns whether it won, so two workers (a task delivered twice, a stale
sweep racing a slow worker) never both act on the same version: the loser
sees False and stops. The life cycle is drawn in docs/learner.md, "Model
versions".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models import Project

# A running version's worker writes its heartbeat every HEARTBEAT_EVERY, from
# a thread of its own whatever the training is doing (learner/training.py),
# so a slow phase without progress reports still beats. A training or scoring
# version whose heartbeat is older than STALE_AFTER is taken to have lost its
# worker (killed, out of memory, database gone) and is marked failed by the
# worker's periodic check (config/celery.py), so it does not hold the
# project's slot: within STALE_AFTER plus one check interval of the last beat.
HEARTBEAT_EVERY = timedelta(seconds=15)
STALE_AFTER = timedelta(seconds=90)
# A queued version whose task never started within this long is stale too.
QUEUED_STALE_AFTER = timedelta(hours=2)

# The errors the transitions store; the model pages and the API show them as they are.
STALE_RUNNING_ERROR = "The worker stopped reporting progress."
STALE_QUEUED_ERROR = "The training task never started."
UNSENT_ERROR = "The task broker could not be reached, so no worker got this retrain. Try again."


class ModelVersionQuerySet(models.QuerySet["ModelVersion"]):
    """The life cycle of a version: queued -> training -> scoring -> ready, or failed or skipped on the way.

    Every transition returns whether it won (its UPDATE matched the row in
    the status it expects); a caller acts on the version only when it did.
    """

    def active(self) -> ModelVersionQuerySet:
        """Versions holding their project's training slot."""
        return self.filter(status__in=ModelVersion.ACTIVE_STATUSES)

    def claim(self, version_id: int) -> bool:
        """queued -> training: the worker that wins trains the version; a second delivery loses."""
        now = timezone.now()
        return self._move(
            version_id,
            ModelVersion.Status.QUEUED,
            status=ModelVersion.Status.TRAINING,
            phase="snapshot",
            started_at=now,
            heartbeat_at=now,
        )

    def record_snapshot(self, version_id: int, *, counts: dict[str, int], digest: str, label_ids: list[int]) -> None:
        """Store what the version is trained on.

        Not a transition and so unconditional: the counts stay worth showing
        even on a version that is failed while it trains.
        """
        self.filter(pk=version_id).update(dataset_counts=counts, dataset_hash=digest, label_ids=label_ids)

    def heartbeat(self, version_id: int, *, progress: float, phase: str) -> bool:
        """training -> training: report progress; False once the version has lost its slot."""
        return self._move(
            version_id, ModelVersion.Status.TRAINING, progress=progress, phase=phase, heartbeat_at=timezone.now()
        )

    def keep_alive(self, version_id: int) -> bool:
        """training or scoring -> the same, with a fresh heartbeat; False once the version has ended."""
        return bool(
            self.filter(pk=version_id, status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.SCORING]).update(
                heartbeat_at=timezone.now()
            )
        )

    def to_scoring(self, version_id: int) -> bool:
        """training -> scoring, once the model is trained and saved.

        False when the version was marked stale while it trained: it has lost
        its slot and must not come back to life.
        """
        return self._move(
            version_id,
            ModelVersion.Status.TRAINING,
            status=ModelVersion.Status.SCORING,
            phase="scoring",
            progress=0.95,
            heartbeat_at=timezone.now(),
        )

    def lock_if_scoring(self, version_id: int) -> bool:
        """Whether the version is still scoring, its row locked until the caller's transaction ends.

        The queue is written in chunks before the version publishes
        (learner/training.py); each chunk's transaction holds this lock, so
        the periodic stale check cannot fail the version in the middle of a
        chunk, and a version failed between two chunks writes no more.
        """
        return self.select_for_update().filter(pk=version_id, status=ModelVersion.Status.SCORING).exists()

    def publish(
        self,
        version_id: int,
        *,
        artifact_path: str,
        metrics: dict[str, Any],
        thresholds: list[float],
        embeddings_deferred: bool,
    ) -> bool:
        """scoring -> ready, with the model's file and figures.

        Only a version that still holds the slot may publish; it has written
        its ranking into the queue just before, chunk by chunk, each chunk
        only while it held the slot (``lock_if_scoring``).
        """
        return self._move(
            version_id,
            ModelVersion.Status.SCORING,
            status=ModelVersion.Status.READY,
            phase="done",
            progress=1.0,
            artifact_path=artifact_path,
            metrics=metrics,
            thresholds=thresholds,
            embeddings_deferred=embeddings_deferred,
            finished_at=timezone.now(),
        )

    def finish(self, version_id: int, status: str, *, error: str = "", skip_kind: str = "") -> bool:
        """queued, training or scoring -> failed or skipped; a version that already ended stays as it ended."""
        if status not in (ModelVersion.Status.FAILED, ModelVersion.Status.SKIPPED):
            raise ValueError(f"A version finishes as failed or skipped, not {status}.")
        if bool(skip_kind) != (status == ModelVersion.Status.SKIPPED):
            raise ValueError("A skipped version needs its skip kind, and only a skipped one has one.")
        return bool(
            self.filter(pk=version_id, status__in=ModelVersion.ACTIVE_STATUSES).update(
                status=status, error=error, skip_kind=skip_kind, finished_at=timezone.now()
            )
        )

    def fail_unsent(self, version_id: int) -> bool:
        """queued -> failed, when the broker did not take the version's task.

        Left queued, it would hold the project's only training slot until it
        turned stale hours later.
        """
        return self._move(
            version_id,
            ModelVersion.Status.QUEUED,
            status=ModelVersion.Status.FAILED,
            error=UNSENT_ERROR,
            finished_at=timezone.now(),
        )

    def fail_stale(self, *, now: datetime, project: Project | None = None) -> int:
        """training or scoring with no heartbeat for STALE_AFTER, or queued for QUEUED_STALE_AFTER -> failed.

        Of one project, or of every project (the periodic check). Returns how
        many versions it failed; run twice, or by two workers at once, the
        second finds nothing left to fail, since each UPDATE names the status
        it starts from.
        """
        versions = self.filter(project=project) if project is not None else self
        running = versions.filter(
            status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.SCORING],
            heartbeat_at__lt=now - STALE_AFTER,
        ).update(status=ModelVersion.Status.FAILED, error=STALE_RUNNING_ERROR, finished_at=now)
        queued = versions.filter(status=ModelVersion.Status.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER).update(
            status=ModelVersion.Status.FAILED, error=STALE_QUEUED_ERROR, finished_at=now
        )
        return running + queued

    def forget_artifact(self, version_id: int) -> bool:
        """ready -> ready without its stored file, once the file is pruned; its metrics stay for the pages."""
        return self._move(version_id, ModelVersion.Status.READY, artifact_path="")

    def _move(self, version_id: int, from_status: str, **values: Any) -> bool:
        return bool(self.filter(pk=version_id, status=from_status).update(**values))


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        SCORING = "scoring", "Scoring"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (data unchanged)"

    class SkipKind(models.TextChoices):
        """Why a retrain was skipped; the label is the status badge the model pages show."""

        NOT_ENOUGH_DATA = "not_enough_data", "Skipped (not enough data)"
        UNCHANGED_ANSWERS = "unchanged_answers", "Skipped (data unchanged)"

    # Statuses in which a version holds the project's single training slot.
    ACTIVE_STATUSES = (Status.QUEUED, Status.TRAINING, Status.SCORING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=32, blank=True)
    progress = models.FloatField(default=0)
    trigger = models.CharField(max_length=32, default="manual")
    # What the model saw: counts of items, observed entries and positives, and a
    # hash of the snapshot so an unchanged dataset is not trained twice.
    dataset_counts = models.JSONField(default=dict, blank=True)
    dataset_hash = models.CharField(max_length=64, blank=True)
    label_ids = models.JSONField(default=list, blank=True)
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    thresholds = models.JSONField(default=list, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    # The failure's traceback, or a skip's reason in words; empty otherwise.
    error = models.TextField(blank=True)
    # Set exactly when the status is skipped (a check constraint holds it).
    skip_kind = models.CharField(max_length=32, choices=SkipKind.choices, blank=True)
    # True when the version trained without its embedding member because too
    # many texts were not encoded yet; the next retrain on the same answers
    # is then not skipped, since it is the one with embeddings.
    embeddings_deferred = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written while training; a version whose heartbeat stops is stale and is
    # marked failed, so a killed worker does not hold the slot for ever.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One retrain per project at a time, enforced by the database.
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "training", "scoring"]),
                name="model_version_one_active_per_project",
            ),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="model_progress_range"),
            # A skip always says its kind, and nothing else has one, so the
            # pages never read the kind back from the reason's words.
            models.CheckConstraint(
                condition=(Q(status="skipped") & ~Q(skip_kind="")) | (~Q(status="skipped") & Q(skip_kind="")),
                name="model_version_skip_kind_iff_skipped",
            ),
        ]
        indexes = [models.Index(fields=["project", "status", "-created_at"], name="model_version_status_idx")]

    def __str__(self) -> str:
        return f"{self.project} model #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        """Still queued or running, so its progress is worth watching."""
        return self.status in self.ACTIVE_STATUSES

    @property
    def status_text(self) -> str:
        """The status badge the pages show; a skip names its kind."""
        if self.status != self.Status.SKIPPED:
            return self.get_status_display()
        # Every stored skip has its kind (a check constraint holds it); the
        # fallback only covers a version built in memory without one.
        return self.SkipKind(self.skip_kind or self.SkipKind.NOT_ENOUGH_DATA).label

    @property
    def skip_reason(self) -> str:
        """Why a skipped version was skipped, in the words training stored; "" for any other status."""
        if self.status != self.Status.SKIPPED:
            return ""
        return self.error or "Skipped."

    @property
    def overall_metrics(self) -> dict[str, float]:
        """The held-out summary figures; empty when there was no held-out split."""
        return self.metrics.get("overall") or {}

    @property
    def macro_f1(self) -> float | None:
        return self.overall_metrics.get("macro_f1")

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at
