"""Tagwise learner: pure-Python multi-label model trained on partial labels.

Public API::

    from learner.ml import train_model, load_model, TrainConfig
    model = train_model(texts, targets, weights=None, config=None, seed=0, progress=None)
    model.predict_proba(texts); model.predict(texts); model.thresholds
    model.save(path); load_model(path)

No Django, Celery or app imports here: the worker, the benchmarks and the
tests all call the same code.
"""

from learner.ml.features import FeatureConfig
from learner.ml.model import (
    KINDS,
    TagwiseModel,
    TrainConfig,
    config_for,
    load_model,
    prepare_features,
    train_model,
)
from learner.ml.rules import LabelRules, apply_rules

__all__ = [
    "KINDS",
    "FeatureConfig",
    "LabelRules",
    "TagwiseModel",
    "TrainConfig",
    "apply_rules",
    "config_for",
    "load_model",
    "prepare_features",
    "train_model",
]
