"""A small labelled project for the learner tests: 40 short texts whose labels show in their words."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
from django.utils import timezone

from annotate.models import Item, Label, Project
from learner import training
from learner.ml import FeatureConfig, TrainConfig, train_model
from learner.models import ModelVersion
from learner.training import _json_safe
from tests.factories import annotate_item

# Words that signal each label of the ``labels`` fixture, plus filler.
SIGNALS = {
    "shipping": ["parcel", "delivery", "courier"],
    "refund": ["refund", "money", "return"],
    "billing": ["invoice", "charged", "card"],
    "bug": ["crash", "error", "broken"],
    "praise": ["great", "thanks", "love"],
}
FILLER = ["the", "my", "order", "please", "today", "again", "still", "app", "team", "week"]


def small_config(**_: object) -> TrainConfig:
    """Seconds to train on 40 texts, with a held-out split big enough for metrics (12 rows)."""
    return TrainConfig(
        hidden=32, max_epochs=6, patience=2, val_size=0.3, features=FeatureConfig(char_max_features=2000)
    )


def make_texts_and_truth(count: int, names: list[str], seed: int = 0) -> list[tuple[str, set[str]]]:
    """Texts with the true label names of each: two signal words per true label among filler."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        truth = {name for name in names if rng.random() < 0.35} or {rng.choice(names)}
        words = [rng.choice(FILLER) for _ in range(4)]
        for name in truth:
            words += rng.sample(SIGNALS[name], 2)
        rng.shuffle(words)
        rows.append((" ".join(words), truth))
    return rows


def make_labelled_project(
    project: Project,
    labels: list[Label],
    annotator: Any,
    *,
    count: int = 40,
    unanswered_items: int = 4,
    answered_per_item: int = 3,
    seed: int = 0,
) -> list[Item]:
    """Items with texts, annotated partially.

    Each answered item gets ``answered_per_item`` of its labels answered; the
    rest stay unobserved, and the last ``unanswered_items`` items get nothing.
    """
    rng = random.Random(seed + 1)
    rows = make_texts_and_truth(count, [label.name for label in labels], seed)
    items = Item.objects.bulk_create(
        [Item(project=project, external_id=f"t-{index}", text=text) for index, (text, _) in enumerate(rows)]
    )
    for item, (_, truth) in list(zip(items, rows, strict=True))[: count - unanswered_items]:
        asked = rng.sample(labels, answered_per_item)
        annotate_item(item, annotator, {label: int(label.name in truth) for label in asked})
    return items


def trained_artifact(directory: Path, names: list[str]) -> dict[str, Any]:
    """Train the small model on the small project's texts, without a database: the fields of a ready version.

    Label ids are left out (they differ per test); pass them to ``ready_version``.
    """
    rows = make_texts_and_truth(40, names)
    rng = np.random.default_rng(0)
    targets = np.array([[float(name in truth) for name in names] for _, truth in rows])
    targets[rng.random(targets.shape) < 0.3] = np.nan
    config = small_config()
    config.label_names = names
    model = train_model([text for text, _ in rows], targets, config=config, seed=0)
    path = directory / "model.joblib"
    model.save(path)
    return {
        "artifact_path": str(path),
        # Stored the way the retrain loop stores it: plain JSON, NaN as null.
        "metrics": _json_safe(model.metrics),
        "thresholds": [float(value) for value in model.thresholds],
        "config": config.as_dict(),
        "dataset_counts": {"items": 40, "labelled_items": 40, "observed_entries": int((~np.isnan(targets)).sum())},
    }


def ready_version(project: Project, fields: dict[str, Any], labels: list[Label], **overrides: Any) -> ModelVersion:
    """A ready version of ``project`` built from ``trained_artifact`` fields."""
    now = timezone.now()
    values = {**fields, "label_ids": [label.pk for label in labels], "status": ModelVersion.Status.READY}
    values |= {"progress": 1.0, "phase": "done", "started_at": now, "finished_at": now, "trigger": "manual"}
    return ModelVersion.objects.create(project=project, **(values | overrides))


def train_now(project: Project, trigger: str = "manual") -> ModelVersion:
    """Queue a version and train it in this process, as a worker would; the version as it ended."""
    version = training.create_version(project=project, trigger=trigger)
    assert version is not None
    training.run_version(version.pk)
    version.refresh_from_db()
    return version
