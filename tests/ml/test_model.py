"""End-to-end behaviour of train_model on a small synthetic task."""

from __future__ import annotations

import numpy as np
import pytest

from learner.ml import TrainConfig, load_model, train_model
from learner.ml.metrics import multilabel_report


def test_learns_synthetic_task_with_30_percent_observed(synthetic, trained) -> None:
    texts, y = synthetic
    report = multilabel_report(y, trained.predict(texts), trained.predict_proba(texts))
    # Keywords determine labels exactly; a broken model (constant, inverted or
    # ignoring the mask) scores far below this.
    assert report["overall"]["macro_f1"] > 0.85
    assert report["overall"]["lrap"] > 0.9


def test_predict_proba_shape_range_and_new_texts(trained) -> None:
    proba = trained.predict_proba(["key0a key0b noise1", "", "completely unseen words"])
    assert proba.shape == (3, 5)
    assert np.all((proba >= 0) & (proba <= 1))
    assert proba[0, 0] > proba[2, 0]


def test_progress_reports_phases(synthetic, partial_targets, small_config) -> None:
    texts, _ = synthetic
    calls: list[tuple[float, str]] = []
    train_model(texts, partial_targets, config=small_config, progress=lambda f, p: calls.append((f, p)))
    phases = [p for _, p in calls]
    assert phases[0] == "features" and phases[-1] == "done"
    assert "training" in phases and "calibrating" in phases
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_thresholds_and_calibration_for_every_label_even_without_positives(synthetic, small_config) -> None:
    texts, y = synthetic
    targets = y.copy()
    targets[:, 2] = 0.0  # label 2 has no positive at all
    targets[:, 4] = np.nan  # label 4 is never observed
    model = train_model(texts, targets, config=small_config)
    assert model.thresholds.shape == (5,)
    assert np.all(np.isfinite(model.thresholds))
    assert np.all((model.thresholds > 0) & (model.thresholds < 1))
    assert model.platt.a.shape == (5,) and np.all(np.isfinite(model.platt.a))
    assert len(model.metrics["calibration"]) == 5
    proba = model.predict_proba(texts[:50])
    assert np.all(np.isfinite(proba))
    assert model.predict(texts[:50])[:, 2].sum() == 0


def test_save_load_round_trip_is_identical(trained, synthetic, tmp_path) -> None:
    texts, _ = synthetic
    path = tmp_path / "model.joblib"
    trained.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(texts[:100]), trained.predict_proba(texts[:100]))
    np.testing.assert_array_equal(loaded.thresholds, trained.thresholds)
    assert loaded.top_features(0, 5) == trained.top_features(0, 5)


def test_top_features_find_the_keywords(trained) -> None:
    names = [name for name, _ in trained.top_features(1, 5)]
    assert any("key1" in name for name in names)


@pytest.mark.parametrize("kind", ["logreg_assume_negative", "logreg_masked"])
def test_baselines_run(kind, synthetic, partial_targets, tmp_path) -> None:
    texts, y = synthetic
    model = train_model(texts, partial_targets, config=TrainConfig(kind=kind))
    report = multilabel_report(y, model.predict(texts))
    assert report["overall"]["macro_f1"] > 0.7
    model.save(tmp_path / "b.joblib")
    np.testing.assert_array_equal(
        load_model(tmp_path / "b.joblib").predict_proba(texts[:20]), model.predict_proba(texts[:20])
    )


def test_rules_apply_in_predict(synthetic, small_config) -> None:
    texts, y = synthetic
    model = train_model(texts, y, config=small_config, rules={"implies": [(0, 1)], "excludes": [(2, 3)]})
    pred = model.predict(texts)
    assert np.all(pred[pred[:, 0] == 1, 1] == 1)
    assert not np.any((pred[:, 2] == 1) & (pred[:, 3] == 1))


def test_unlabelled_rows_and_soft_targets_with_weights(synthetic, small_config) -> None:
    texts, y = synthetic
    targets = y.copy() * 0.9 + 0.05
    targets[600:] = np.nan
    weights = np.full(y.shape, 0.8)
    model = train_model(texts, targets, weights, config=small_config)
    report = multilabel_report(y[600:], model.predict(texts[600:]))
    assert report["overall"]["macro_f1"] > 0.8


def test_bad_shapes_raise(synthetic) -> None:
    texts, y = synthetic
    with pytest.raises(ValueError):
        train_model(texts[:10], y)
    with pytest.raises(ValueError):
        train_model(texts, y, np.ones((3, 3)))
