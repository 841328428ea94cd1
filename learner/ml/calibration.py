"""Per-label Platt calibration and F1-optimal thresholds.

Both are fitted on held-out OBSERVED entries. Labels whose held-out entries
lack positives or negatives get a documented fallback, so every label always
has a calibration and a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FALLBACK_THRESHOLD = 0.5


@dataclass
class PlattScaler:
    """``p = sigmoid(a * logit + b)`` per label; ``a=1, b=0`` is the identity."""

    a: np.ndarray
    b: np.ndarray
    fitted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def transform(self, logits: np.ndarray) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64) * self.a + self.b
        proba: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        return proba


def _fit_platt_one(z: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3) -> tuple[float, float]:
    """Weighted Newton fit of a 2-parameter logistic model on soft targets.

    Targets are smoothed as in Platt (1999) so that perfectly separated
    held-out data does not drive the slope to infinity.
    """
    n_pos, n_neg = float((w * y).sum()), float((w * (1 - y)).sum())
    hi, lo = (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)
    t = y * hi + (1 - y) * lo
    a, b = 1.0, 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(a * z + b, -50, 50)))
        r = w * (p - t)
        s = w * p * (1 - p) + 1e-12
        grad = np.array([(r * z).sum() + l2 * (a - 1), r.sum()])
        hess = np.array([[(s * z * z).sum() + l2, (s * z).sum()], [(s * z).sum(), s.sum() + 1e-9]])
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-7:
            break
    # A negative slope means the held-out data contradicts the model's ranking;
    # keeping it would invert the label, so fall back to the identity slope.
    if not np.isfinite(a) or not np.isfinite(b) or a <= 0:
        return 1.0, 0.0
    return float(a), float(b)


def fit_platt(logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> PlattScaler:
    """Fit one Platt scaler per label on observed (non-NaN) entries.

    Fallback: a label with no observed positive or no observed negative in
    ``targets`` keeps the identity map ``sigmoid(logit)``.
    """
    n_labels = logits.shape[1]
    a, b = np.ones(n_labels), np.zeros(n_labels)
    fitted = np.zeros(n_labels, dtype=bool)
    w_all = np.ones_like(logits, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    for j in range(n_labels):
        m = ~np.isnan(targets[:, j])
        y = targets[m, j]
        if (y >= 0.5).sum() == 0 or (y < 0.5).sum() == 0:
            continue
        a[j], b[j] = _fit_platt_one(logits[m, j].astype(np.float64), y, w_all[m, j])
        fitted[j] = True
    return PlattScaler(a=a, b=b, fitted=fitted)


def best_f1_threshold(scores: np.ndarray, truth: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Threshold maximising (weighted) F1 of ``scores >= t``; returns (t, f1).

    The threshold is placed halfway between the chosen score and the next
    lower one so that it generalises better than the exact score.
    """
    w = np.ones_like(scores, dtype=np.float64) if weights is None else weights.astype(np.float64)
    order = np.argsort(-scores, kind="stable")
    s, y, w = scores[order], truth[order].astype(np.float64), w[order]
    total_pos = (w * y).sum()
    if total_pos <= 0:
        return FALLBACK_THRESHOLD, 0.0
    tp = np.cumsum(w * y)
    fp = np.cumsum(w * (1 - y))
    # Only cut between distinct scores: ties must be on the same side.
    last_of_run = np.r_[s[1:] != s[:-1], True]
    f1 = np.where(last_of_run, 2 * tp / (tp + fp + total_pos), -1.0)
    k = int(np.argmax(f1))
    nxt = s[k + 1] if k + 1 < len(s) else max(s[k] - 1e-3, 0.0)
    return float((s[k] + nxt) / 2), float(f1[k])


def tune_thresholds(
    proba: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None, min_positives: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Per-label F1-optimal thresholds on observed entries.

    Returns ``(thresholds, f1_at_threshold)``. Fallback for a label with fewer
    than ``min_positives`` observed positives: ``FALLBACK_THRESHOLD`` (0.5 on
    a calibrated probability), with F1 reported as 0.
    """
    n_labels = proba.shape[1]
    thresholds = np.full(n_labels, FALLBACK_THRESHOLD)
    f1s = np.zeros(n_labels)
    for j in range(n_labels):
        m = ~np.isnan(targets[:, j])
        truth = targets[m, j] >= 0.5
        if truth.sum() < min_positives:
            continue
        w = None if weights is None else weights[m, j]
        thresholds[j], f1s[j] = best_f1_threshold(proba[m, j], truth, w)
    return thresholds, f1s
