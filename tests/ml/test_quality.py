"""The pure parts of the model page's quality estimate: counts on observed entries, scores, the curve's gain."""

from __future__ import annotations

import math

import numpy as np
import pytest

from learner.ml.quality import FN, FP, TP, gain_per, item_counts, scores

nan = np.nan


def test_item_counts_use_observed_entries_only():
    truth = np.array([[1.0, 0.0, nan], [nan, 1.0, 0.0]])
    pred = np.array([[True, True, True], [True, False, True]])

    counts = item_counts(truth, pred)

    assert counts.shape == (2, 3, 3)
    assert counts[0, 0].tolist() == [1, 0, 0]  # tp
    assert counts[0, 1].tolist() == [0, 1, 0]  # fp
    assert counts[0, 2].tolist() == [0, 0, 0]  # unobserved: predicted yes, but counts nothing
    assert counts[1, 0].tolist() == [0, 0, 0]
    assert counts[1, 1].tolist() == [0, 0, 1]  # fn
    assert counts[1, 2].tolist() == [0, 1, 0]


def test_scores_from_summed_counts_and_undefined_labels():
    sums = np.zeros((3, 3))
    sums[0, [TP, FP, FN]] = [3, 1, 2]  # precision 3/4, recall 3/5, F1 6/9
    sums[1, [TP, FP, FN]] = [0, 2, 0]  # no positive: recall and F1 undefined
    sums[2, [TP, FP, FN]] = [0, 0, 4]  # positives, never predicted: precision undefined, F1 0

    result = scores(sums)

    assert result["precision"][0] == pytest.approx(0.75)
    assert result["recall"][0] == pytest.approx(0.6)
    assert result["f1"][0] == pytest.approx(6 / 9)
    assert math.isnan(result["recall"][1]) and math.isnan(result["f1"][1])
    assert math.isnan(result["precision"][2]) and result["f1"][2] == 0.0
    # Macro over the labels with a positive (the first and the third).
    assert result["macro_f1"] == pytest.approx((6 / 9 + 0.0) / 2)
    assert result["macro_recall"] == pytest.approx(0.3)
    assert result["macro_precision"] == pytest.approx(0.375)


def test_scores_of_many_resamples_at_once():
    sums = np.zeros((4, 2, 3))
    sums[:, 0, TP] = [1, 2, 3, 0]
    sums[:, 0, FN] = 1

    result = scores(sums)

    assert result["f1"].shape == (4, 2)
    assert result["macro_f1"].shape == (4,)
    assert result["macro_f1"][3] == 0.0
    assert np.isnan(result["f1"][:, 1]).all()


def test_gain_is_the_slope_of_the_last_two_points_per_thousand_judgments():
    assert gain_per([500, 1000, 3000], [0.2, 0.40, 0.46]) == pytest.approx(0.03)
    assert gain_per([1000, 3000], [0.5, 0.44]) == pytest.approx(-0.03)


@pytest.mark.parametrize(
    ("judgments", "values"),
    [([1000], [0.4]), ([], []), ([2000, 2000], [0.4, 0.5]), ([3000, 2000], [0.4, 0.5]), ([1000, 2000], [0.4, nan])],
)
def test_gain_is_none_when_it_cannot_be_computed(judgments, values):
    assert gain_per(judgments, values) is None
