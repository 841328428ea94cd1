"""Predictions of a project's latest ready model, for the item page, the API and the export.

Scores come from ``training.predict_texts`` (calibrated probabilities, then
per-label thresholds and the implies/excludes rules), paired with the labels
the version was trained on, in the version's own label order.

The export reads instead the scores the version stored for every item when it
was trained (``training.save_predictions``), through ``ExportPredictions``,
which the setting TAGWISE_PREDICTIONS_SOURCE names so that ``annotate`` never
imports ``learner``. The item browser reads the same files through
``stored_scores``, which the setting TAGWISE_MODEL_SCORES names.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from annotate.curation.answers import load_answers
from annotate.curation.items import ModelScores
from annotate.dataset.export import ChunkPredictions, PredictionsUnavailable
from annotate.models import Item, Label, Project
from learner import training
from learner.models import ModelVersion
from learner.reports import label_names

# The item browser looks this far back for a ready version whose stored
# scores are still on disk (older versions' files may have been pruned).
STORED_SCORES_LOOKBACK = 10

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


@dataclass
class StoredFiles:
    """A version's stored scores, memory-mapped (see ``training.save_predictions``)."""

    label_ids: list[int]
    thresholds: list[float]
    item_ids: np.ndarray
    proba: np.ndarray
    decisions: np.ndarray


def open_stored(version: ModelVersion) -> StoredFiles:
    """Memory-map the version's stored scores; FileNotFoundError when it has none."""
    folder = training.predictions_path(version)
    meta = json.loads((folder / "meta.json").read_text())
    return StoredFiles(
        label_ids=[int(label_id) for label_id in meta["label_ids"]],
        thresholds=[float(value) for value in meta["thresholds"]],
        item_ids=np.load(folder / "item_ids.npy", mmap_mode="r"),
        proba=np.load(folder / "proba.npy", mmap_mode="r"),
        decisions=np.load(folder / "decisions.npy", mmap_mode="r"),
    )


def stored_scores(*, project: Project) -> ModelScores | None:
    """The item browser's model scores (TAGWISE_MODEL_SCORES): the newest ready version that stored them.

    None when no ready version among the newest STORED_SCORES_LOOKBACK has
    its files, so the browser hides its model filters instead of failing.
    """
    ready = ModelVersion.objects.filter(project=project, status=ModelVersion.Status.READY)
    for version in ready.only("pk", "project_id", "finished_at")[:STORED_SCORES_LOOKBACK]:
        try:
            files = open_stored(version)
        except FileNotFoundError:
            continue
        return ModelScores(
            version_id=version.pk,
            trained_at=version.finished_at,
            item_ids=files.item_ids,
            label_ids=files.label_ids,
            probabilities=files.proba,
            decisions=files.decisions,
            thresholds=np.asarray(files.thresholds),
        )
    return None


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
        try:
            files = open_stored(version)
        except FileNotFoundError as missing:
            raise PredictionsUnavailable(
                f"Model version {version.pk} has no stored predictions (it was trained before they were kept, "
                "or its files were removed): retrain the model, or export without predictions."
            ) from missing
        self.version_id = version.pk
        self._item_ids, self._proba, self._decisions = files.item_ids, files.proba, files.decisions
        self._position = {label_id: index for index, label_id in enumerate(files.label_ids)}

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
