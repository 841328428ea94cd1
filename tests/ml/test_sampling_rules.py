"""Active-learning helpers, rules, calibration fallbacks and the split."""

from __future__ import annotations

import numpy as np

from learner.ml.calibration import best_f1_threshold, fit_platt, tune_thresholds
from learner.ml.rules import apply_rules
from learner.ml.sampling import diverse_batch, focus_labels, item_scores, uncertainty
from learner.ml.split import holdout_split


def test_uncertainty_peaks_at_threshold() -> None:
    u = uncertainty(np.array([[0.0, 0.2, 1.0]]), np.array([0.5, 0.2, 0.5]))
    assert u.tolist() == [[0.0, 1.0, 0.0]]


def test_item_scores_and_focus_use_only_unobserved() -> None:
    unc = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.4]])
    observed = np.array([[True, False, False], [True, True, True]])
    assert item_scores(unc, observed).tolist() == [0.6, 0.0]
    assert focus_labels(unc, observed, k=2).tolist() == [[2, 1], [-1, -1]]


def test_diverse_batch_spreads_over_clusters() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(4) * 10
    feats = np.vstack([c + rng.normal(size=(25, 4)) * 0.1 for c in centres])
    scores = np.r_[np.full(25, 10.0), np.full(75, 9.0)]
    picked = diverse_batch(scores, feats, 4, pool_factor=25)
    assert len(set(picked.tolist())) == 4
    assert len({int(i) // 25 for i in picked}) == 4


def test_rules_implies_chain_and_excludes_keep_more_probable() -> None:
    dec = np.array([[1, 0, 0, 1, 1]])
    proba = np.array([[0.9, 0.1, 0.1, 0.6, 0.7]])
    out = apply_rules(dec, proba, {"implies": [(0, 1), (1, 2)], "excludes": [(3, 4)]})
    assert out.tolist() == [[1, 1, 1, 0, 1]]


def test_calibration_fallbacks() -> None:
    logits = np.array([[2.0, 1.0], [-1.0, 0.5], [0.5, -2.0]])
    targets = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, np.nan]])
    platt = fit_platt(logits, targets)
    assert platt.fitted.tolist() == [True, False]
    thresholds, _ = tune_thresholds(platt.transform(logits), targets)
    assert thresholds[1] == 0.5
    t, f1 = best_f1_threshold(np.array([0.9, 0.8, 0.2]), np.array([True, True, False]))
    assert 0.2 < t < 0.8 and f1 == 1.0


def test_holdout_split_uses_labelled_rows_only() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((200, 4)) < 0.3).astype(float)
    y[150:] = np.nan
    train, val = holdout_split(y, 0.2, seed=0)
    assert len(set(train) & set(val)) == 0
    assert set(train) | set(val) == set(range(150))
    assert len(val) == 30
