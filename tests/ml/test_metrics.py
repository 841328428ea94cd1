"""Metrics on NaN-masked data against a small hand-computed case."""

from __future__ import annotations

import numpy as np
import pytest

from learner.ml import metrics as M

NAN = np.nan
# 3 items x 3 labels; label 2 has no observed positive.
Y = np.array([[1, 0, NAN], [NAN, 1, 0], [1, NAN, 0]], dtype=float)
P = np.array([[1, 1, 1], [0, 1, 0], [0, 0, 1]])
S = np.array([[0.9, 0.6, 0.7], [0.1, 0.8, 0.2], [0.3, 0.1, 0.6]])


def test_per_label_counts_ignore_unobserved() -> None:
    prf = M.per_label_prf(Y, P)
    # label 0: observed rows 0 (1, pred 1) and 2 (1, pred 0): tp=1, fn=1.
    assert prf["tp"].tolist() == [1, 1, 0]
    assert prf["fp"].tolist() == [0, 1, 1]
    assert prf["fn"].tolist() == [1, 0, 0]
    assert prf["f1"] == pytest.approx([2 / 3, 2 / 3, 0.0])


def test_overall_metrics_hand_computed() -> None:
    r = M.multilabel_report(Y, P, S)["overall"]
    assert r["macro_f1"] == pytest.approx(2 / 3)  # label 2 has no positive: excluded
    assert r["macro_f1_all"] == pytest.approx(4 / 9)
    assert r["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert r["hamming_loss"] == pytest.approx(3 / 6)
    # Row Jaccards: {0}|{0,1} -> 1/2 ; {1}|{1} -> 1 ; {0}|{2} -> 0.
    assert r["jaccard"] == pytest.approx(0.5)
    assert r["subset_accuracy"] == pytest.approx(1 / 3)
    assert r["weighted_f1"] == pytest.approx((2 * 2 / 3 + 1 * 2 / 3) / 3)


def test_ranking_metrics_on_observed_labels() -> None:
    # Row 0: observed labels {0: pos 0.9, 1: neg 0.6} -> AP 1, coverage 1.
    # Row 1: observed {1: pos 0.8, 2: neg 0.2} -> AP 1, coverage 1.
    # Row 2: observed {0: pos 0.3, 2: neg 0.6} -> AP 1/2, coverage 2.
    assert M.label_ranking_average_precision(Y, S) == pytest.approx((1 + 1 + 0.5) / 3)
    assert M.coverage_error(Y, S) == pytest.approx(4 / 3)


def test_calibration_bins_and_ece() -> None:
    bins = M.reliability_bins(Y, S, n_bins=2)
    # Label 0 observed: p=0.9 (y=1) in the upper bin, p=0.3 (y=1) in the lower.
    assert bins[0]["count"] == [1, 1]
    assert bins[0]["ece"] == pytest.approx((0.7 + 0.1) / 2)
    assert M.expected_calibration_error(Y, S, 2).shape == (3,)


def test_all_unobserved_and_no_positive_labels_do_not_crash() -> None:
    y = np.full((2, 2), NAN)
    r = M.multilabel_report(y, np.zeros((2, 2)), np.full((2, 2), 0.5))["overall"]
    assert r["macro_f1"] == 0.0 and r["hamming_loss"] == 0.0 and r["lrap"] == 0.0
    y0 = np.zeros((3, 2))
    r0 = M.multilabel_report(y0, np.zeros((3, 2)), np.zeros((3, 2)))["overall"]
    assert r0["jaccard"] == 1.0 and r0["subset_accuracy"] == 1.0


def test_label_pair_confusions() -> None:
    y = np.array([[1, 0], [1, 0], [0, 1]], dtype=float)
    p = np.array([[0, 1], [0, 1], [0, 1]])
    assert M.label_pair_confusions(y, p) == [{"true": 0, "predicted": 1, "count": 2}]


def test_mean_ece_leaves_out_labels_without_held_out_answers() -> None:
    nan = np.nan
    y_true = np.array([[1.0, nan], [0.0, nan], [1.0, nan], [0.0, nan]])
    proba = np.array([[0.9, 0.5], [0.3, 0.5], [0.6, 0.5], [0.2, 0.5]])
    report = M.multilabel_report(y_true, (proba >= 0.5).astype(int), proba)
    first = M.expected_calibration_error(y_true[:, :1], proba[:, :1])[0]
    assert first > 0
    assert report["overall"]["mean_ece"] == pytest.approx(first)
