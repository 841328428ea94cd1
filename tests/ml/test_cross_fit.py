"""Cross-fitted calibration and thresholds of a young project's model (``TrainConfig.cross_fit_folds``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from learner.ml import FeatureConfig, TrainConfig, config_for, train_model
from learner.ml.calibration import tune_thresholds
from learner.ml.metrics import macro_f1
from learner.ml.model import CROSS_FIT_FOLDS, YOUNG_PROJECT_ENTRIES
from learner.ml.split import cross_fit_folds


def young_config(**changes: object) -> TrainConfig:
    # No embeddings: this module is about the folds, not the embedding member.
    config = replace(config_for(1000, 10), embeddings=False, features=FeatureConfig(char_max_features=5000))
    return replace(config, **changes)


def test_young_projects_cross_fit_and_mature_ones_keep_the_held_out_split() -> None:
    assert config_for(100_000, 0).cross_fit_folds == CROSS_FIT_FOLDS >= 2
    assert config_for(100_000, YOUNG_PROJECT_ENTRIES - 1).cross_fit_folds == CROSS_FIT_FOLDS
    assert config_for(100_000, YOUNG_PROJECT_ENTRIES).cross_fit_folds == 0


def test_folds_cover_every_row_once_and_spread_the_positives() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((300, 4)) < 0.1).astype(float)
    y[rng.random(y.shape) < 0.5] = np.nan
    rows = np.flatnonzero((~np.isnan(y)).any(1))
    folds = cross_fit_folds(y, rows, 3, seed=0)
    assert folds.shape == rows.shape and set(folds.tolist()) == {0, 1, 2}
    positives = np.nan_to_num(y[rows], nan=0.0) >= 0.5
    for j in range(y.shape[1]):
        per_fold = [int(positives[folds == k, j].sum()) for k in range(3)]
        assert max(per_fold) - min(per_fold) <= 1
    np.testing.assert_array_equal(cross_fit_folds(y, rows, 3, seed=0), folds)


def test_every_labelled_row_is_held_out_once_and_the_model_learns(synthetic, partial_targets) -> None:
    texts, y = synthetic
    model = train_model(texts, partial_targets, config=young_config(), seed=0)
    labelled = int((~np.isnan(partial_targets)).any(1).sum())
    assert model.metrics["cross_fit_folds"] == CROSS_FIT_FOLDS
    assert model.metrics["n_validation_rows"] == labelled
    assert macro_f1(y, model.predict(texts)) > 0.85
    # The same seed gives the same model.
    again = train_model(texts, partial_targets, config=young_config(), seed=0)
    np.testing.assert_array_equal(again.predict_proba(texts), model.predict_proba(texts))


def test_held_out_scores_are_out_of_fold() -> None:
    # Labels unrelated to the text, and a token unique to each text: a model
    # scored on the rows it was fitted on memorises them (in-sample macro-F1
    # near 1); scored out of fold it is at chance.
    rng = np.random.default_rng(3)
    texts = [f"doc{i} " + " ".join(rng.choice([f"w{k}" for k in range(40)], 6)) for i in range(600)]
    y = (rng.random((600, 3)) < 0.3).astype(float)
    model = train_model(texts, y, config=young_config(logreg_c=100.0), seed=0)
    assert model.metrics["n_validation_rows"] == 600
    # The final scorer, fitted on every row, ranks its own rows almost perfectly.
    logits = model.scorer.logits(model.features(texts))
    best, _ = tune_thresholds(logits, y)
    assert macro_f1(y, (logits >= best[None, :]).astype(int)) > 0.9
    assert model.metrics["overall"]["macro_f1"] < 0.6
