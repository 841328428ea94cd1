"""One-vs-rest logistic regression baselines sharing the default model's pipeline.

- ``assume_negative``: every unobserved entry of a row that has any
  observation is treated as a negative (NaN -> 0).
- ``masked``: each label is fitted only on the rows where it is observed.

Both return a ``LinearScorer`` (plain numpy coefficients, so the artifact
does not pickle scikit-learn estimators) and then go through the same split,
Platt calibration and threshold tuning as the default model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression


class LinearScorer:
    """``logits = X @ coef.T + intercept``."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float64)

    def logits(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef.T, dtype=np.float64) + self.intercept

    def input_gradient_weights(self, x_sample: sp.csr_matrix) -> np.ndarray:
        return self.coef.T


def _constant_logit(y: np.ndarray) -> float:
    """Log-odds of the (clipped) positive rate, for a label with one class only."""
    rate = float(np.clip(y.mean() if y.size else 0.0, 1e-4, 1 - 1e-4))
    return float(np.log(rate / (1 - rate)))


def fit_logreg(
    x: sp.csr_matrix,
    y: np.ndarray,
    w: np.ndarray,
    rows: np.ndarray,
    mode: str,
    c: float = 4.0,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> LinearScorer:
    """Fit the baseline on ``rows`` (rows used for training)."""
    if mode not in {"assume_negative", "masked"}:
        raise ValueError(f"unknown baseline mode {mode!r}")
    n_labels = y.shape[1]
    coef = np.zeros((n_labels, x.shape[1]), dtype=np.float32)
    intercept = np.zeros(n_labels)
    for j in range(n_labels):
        observed = ~np.isnan(y[rows, j])
        use = rows if mode == "assume_negative" else rows[observed]
        target = np.nan_to_num(y[use, j], nan=0.0) >= 0.5
        sample_w = np.where(np.isnan(y[use, j]), 1.0, w[use, j])
        if target.all() or not target.any():
            intercept[j] = _constant_logit(target.astype(float))
        else:
            clf = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=200)
            clf.fit(x[use], target, sample_weight=sample_w)
            coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
        if progress is not None:
            progress((j + 1) / n_labels)
    return LinearScorer(coef, intercept)
