"""One-vs-rest logistic regression baselines sharing the default model's pipeline.

- ``assume_negative``: every unobserved entry of a row that has any
  observation is treated as a negative (NaN -> 0).
- ``masked``: each label is fitted only on the rows where it is observed.
- ``masked_or_assume_negative`` (the default model's linear member): masked,
  except labels with no observed negative, which assume negative.

Both return a ``LinearScorer`` (plain numpy coefficients, so the artifact
does not pickle scikit-learn estimators) and then go through the same split,
Platt calibration and threshold tuning as the default model.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits


class LinearScorer:
    """``logits = X @ coef.T + intercept``."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        # Rounded to float16 values (stored as float16, kept float32 in
        # memory): halves the artifact, and a reloaded model is identical.
        self.coef = coef.astype(np.float16).astype(np.float32)
        self.intercept = intercept.astype(np.float64)

    def logits(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef.T, dtype=np.float64) + self.intercept

    def input_gradient_weights(self, x_sample: sp.csr_matrix) -> np.ndarray:
        return self.coef.T


def _constant_logit(y: np.ndarray) -> float:
    """Log-odds of the (clipped) positive rate, for a label with one class only."""
    rate = float(np.clip(y.mean() if y.size else 0.0, 1e-4, 1 - 1e-4))
    return float(np.log(rate / (1 - rate)))


def _fit_one(
    x: sp.csr_matrix | np.ndarray, target: np.ndarray, sample_w: np.ndarray, c: float, seed: int
) -> tuple[np.ndarray, float]:
    """One label: liblinear in the dual, which is several times faster than the
    primal when there are more features than rows (TF-IDF) and reaches the
    same optimum; L-BFGS in the primal for dense inputs with few columns
    (sentence embeddings), where it is the fast one."""
    if target.all() or not target.any():
        return np.zeros(x.shape[1], dtype=np.float32), _constant_logit(target.astype(float))
    if isinstance(x, np.ndarray):
        clf = LogisticRegression(C=c, solver="lbfgs", tol=1e-4, max_iter=500)
    else:
        clf = LogisticRegression(C=c, solver="liblinear", dual=True, tol=1e-3, random_state=seed, max_iter=300)
    clf.fit(x, target, sample_weight=sample_w)
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0])


def fit_logreg(
    x: sp.csr_matrix | np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    rows: np.ndarray,
    mode: str,
    c: float = 4.0,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    threads: int | None = None,
) -> LinearScorer:
    """Fit the baseline on ``rows`` (rows used for training).

    Labels are independent fits. ``threads > 1`` runs them on a thread pool
    (liblinear releases the GIL), about 2x faster on two cores, but liblinear
    draws its coordinate order from the C library's global ``rand()``, which
    concurrent fits share, so the result is then not bit-for-bit reproducible.
    The default (1) keeps training deterministic for a seed.
    """
    if mode not in {"assume_negative", "masked", "masked_or_assume_negative"}:
        raise ValueError(f"unknown baseline mode {mode!r}")
    n_labels = y.shape[1]
    coef = np.zeros((n_labels, x.shape[1]), dtype=np.float32)
    intercept = np.zeros(n_labels)

    def job(j: int) -> tuple[np.ndarray, float]:
        observed = ~np.isnan(y[rows, j])
        use = rows if mode == "assume_negative" else rows[observed]
        if mode == "masked_or_assume_negative" and not (np.nan_to_num(y[use, j], nan=1.0) < 0.5).any():
            # Nobody stated a negative for this label (single-positive data):
            # a masked fit would be a constant, so unanswered entries of
            # labelled rows count as negatives for this label only.
            use = rows
        target = np.nan_to_num(y[use, j], nan=0.0) >= 0.5
        sample_w = np.where(np.isnan(y[use, j]), 1.0, w[use, j])
        return _fit_one(x[use], target, sample_w, c, seed)

    # L-BFGS (dense input) draws no random numbers, so its labels can be
    # fitted concurrently and stay reproducible.
    workers = max(1, threads or (2 if isinstance(x, np.ndarray) else 1))
    # One BLAS thread per fit: L-BFGS on 384 columns gains nothing from BLAS
    # threads, and two label fits each starting OpenBLAS's threads on two
    # busy cores made the embedding member 25x slower (74 s instead of 3 s
    # for 2,100 rows under load; docs/learner.md, "Active learning: ranking
    # and proof").
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=workers) as pool:
        for j, (coef_j, intercept_j) in enumerate(pool.map(job, range(n_labels))):
            coef[j], intercept[j] = coef_j, intercept_j
            if progress is not None:
                progress((j + 1) / n_labels)
    return LinearScorer(coef, intercept)
