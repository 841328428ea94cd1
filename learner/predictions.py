"""Predictions of a project's latest ready model, for the item page, the API and the export.

Scores come from ``training.predict_texts`` (calibrated probabilities, then
per-label thresholds and the implies/excludes rules), paired with the labels
the version was trained on, in the version's own label order.

The export reads instead the scores the version stored for every item when it
was trained (``training.save_predictions``), through ``ExportPredictions``,
which the setting TAGWISE_PREDICTIONS_SOURCE names so that ``annotate`` never
imports ``learner``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from annotate.curation.answers import load_answers
from annotate.dataset.export import ChunkPredictions, PredictionsUnavailable
from annotate.models import Item, Label, Project
from learner import training
from learner.models import ModelVersion
from learner.reports import label_names

# One request to ``predict`` scores at most this many texts of at most this
# length: the model runs inside the web request, so the request must stay small.
MAX_TEXTS = 100
MAX_TEXT_LENGTH = 20_000


class NoReadyModel(Exception):
    """The project has no ready model version, or its artifact is missing."""


@dataclass
class LabelScore:
    label_id: int | None
    label: str
    probability: float
    threshold: float
    decision: bool
    # The item's current training target for this label: None when nobody
    # answered it (unobserved), else the consensus in [0, 1].
    answer: float | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None


@dataclass
class Prediction:
    scores: list[LabelScore]

    @property
    def predicted_labels(self) -> list[str]:
        return [score.label for score in self.scores if score.decision]


def ready_version(*, project: Project) -> ModelVersion:
    version = training.latest_ready(project=project)
    if version is None:
        raise NoReadyModel("No model is ready for this project yet. Train one first.")
    return version


def predict(*, project: Project, texts: list[str]) -> tuple[ModelVersion, list[Prediction]]:
    """Scores of the latest ready version for each text; callers send at most MAX_TEXTS of at most MAX_TEXT_LENGTH."""
    version = ready_version(project=project)
    try:
        proba, decisions = training.predict_texts(version=version, texts=texts)
    except FileNotFoundError as missing:
        raise NoReadyModel(f"The artifact of model version {version.pk} is missing; retrain the model.") from missing
    names = label_names(version)
    thresholds = version.thresholds
    predictions = [
        Prediction(
            scores=[
                LabelScore(
                    label_id=label_id,
                    label=name,
                    probability=float(proba[row, position]),
                    threshold=float(thresholds[position]),
                    decision=bool(decisions[row, position]),
                )
                for position, (label_id, name) in enumerate(names)
            ]
        )
        for row in range(len(texts))
    ]
    return version, predictions


def predict_item(*, project: Project, item: Item) -> tuple[ModelVersion, Prediction]:
    """Scores of one item, with its current answers next to them."""
    version, (prediction,) = predict(project=project, texts=[item.text])
    labels = Label.objects.select_related("introduced_in").in_bulk(
        [score.label_id for score in prediction.scores if score.label_id is not None]
    )
    known = [labels[score.label_id] for score in prediction.scores if score.label_id in labels]
    if known:
        answers = load_answers(project=project, labels=known, item_ids=[item.pk])
        targets = answers.consensus().targets[0]
        by_label = {label_id: targets[position] for position, label_id in enumerate(answers.label_ids)}
        for score in prediction.scores:
            value = by_label.get(score.label_id, np.nan)
            score.answer = None if math.isnan(value) else float(value)
    return version, prediction


class ExportPredictions:
    """The stored scores of a project's latest ready version, for ``annotate.dataset.export`` (a PredictionsSource).

    Opening it memory-maps the version's files; ``lookup`` then reads one
    chunk of items at a time, so an export of any size holds one chunk of
    scores. Items the version did not score (added after it was trained) and
    labels it does not know come back as NaN, which the export writes as null.
    """

    def __init__(self, *, project: Project, version: ModelVersion | None = None) -> None:
        # The model page's quality estimate reads older ready versions this way too.
        version = version or training.latest_ready(project=project)
        if version is None:
            raise PredictionsUnavailable(
                "No model version is ready for this project yet: train one, or export without predictions."
            )
        folder = training.predictions_path(version)
        try:
            meta = json.loads((folder / "meta.json").read_text())
            self._item_ids = np.load(folder / "item_ids.npy", mmap_mode="r")
            self._proba = np.load(folder / "proba.npy", mmap_mode="r")
            self._decisions = np.load(folder / "decisions.npy", mmap_mode="r")
        except FileNotFoundError as missing:
            raise PredictionsUnavailable(
                f"Model version {version.pk} has no stored predictions (it was trained before they were kept, "
                "or its files were removed): retrain the model, or export without predictions."
            ) from missing
        self.version_id = version.pk
        self._position = {int(label_id): index for index, label_id in enumerate(meta["label_ids"])}

    def lookup(self, *, item_ids: np.ndarray, label_ids: list[int]) -> ChunkPredictions:
        n_items, n_labels = len(item_ids), len(label_ids)
        probabilities = np.full((n_items, n_labels), np.nan)
        decisions = np.zeros((n_items, n_labels), dtype=bool)
        scored = np.zeros(n_items, dtype=bool)
        where = np.zeros(n_items, dtype=np.int64)
        if len(self._item_ids) and n_items:
            where = np.minimum(np.searchsorted(self._item_ids, item_ids), len(self._item_ids) - 1)
            scored = np.asarray(self._item_ids[where]) == item_ids
        # Exported labels the version knows, and their columns in its files.
        known = [
            (index, self._position[label_id]) for index, label_id in enumerate(label_ids) if label_id in self._position
        ]
        if scored.any() and known:
            rows = np.flatnonzero(scored)
            ours = np.array([index for index, _ in known])
            theirs = np.array([column for _, column in known])
            stored_rows = where[rows]
            probabilities[np.ix_(rows, ours)] = np.asarray(self._proba[stored_rows])[:, theirs]
            decisions[np.ix_(rows, ours)] = np.asarray(self._decisions[stored_rows])[:, theirs]
        return ChunkPredictions(probabilities=probabilities, decisions=decisions, scored=scored)
