"""Predictions of a project's latest ready model, for the item page and the API.

Scores come from ``training.predict_texts`` (calibrated probabilities, then
per-label thresholds and the implies/excludes rules), paired with the labels
the version was trained on, in the version's own label order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from annotate.answers import load_answers
from annotate.models import Item, Label, Project
from learner import training
from learner.models import ModelVersion
from learner.reports import label_names


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
    """Scores of the latest ready version for each text."""
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
