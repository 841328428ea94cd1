"""Model versions: one training run of a project's model, from queued to ready or failed."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models import Project


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        SCORING = "scoring", "Scoring"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (data unchanged)"

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
    error = models.TextField(blank=True)
    annotation_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written while training; a version whose heartbeat stops is stale and is
    # marked failed, so a killed worker does not hold the slot for ever.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

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
        ]
        indexes = [models.Index(fields=["project", "status", "-created_at"], name="model_version_status_idx")]

    def __str__(self) -> str:
        return f"{self.project} model #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        """Still queued or running, so its progress is worth watching."""
        return self.status in self.ACTIVE_STATUSES

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
