"""Prospective quality of a model version: precision, recall and F1 from per-item counts, and a learning curve's gain.

Pure numpy, no Django. The model page (``learner/quality.py``) compares a
version's stored decisions with the consensus of exploration answers given
after its snapshot, and resamples items for intervals with the bootstrap of
``annotate/stats/agreement.py``; this module supplies the parts that are about
classification: per-item confusion counts on observed entries, the scores
from summed counts (for the point estimate and for every resample alike), and
the slope of the learning curve. docs/learner.md, "Is more labelling worth
it?", explains the whole computation.

Undefined scores are NaN here, not 0 as in ``metrics``: a label with no
observed positive has no recall, and a resample without one must not pull
the interval towards 0.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from learner.ml.metrics import binarize, observed_mask

FloatArray = npt.NDArray[np.float64]

# Positions of the counts on the last axis of ``item_counts``.
TP, FP, FN = 0, 1, 2


def item_counts(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> FloatArray:
    """(items, labels, 3) true positives, false positives and false negatives of each item, observed entries only."""
    truth_values = np.asarray(y_true, dtype=np.float64)
    mask = observed_mask(truth_values)
    truth = binarize(truth_values).astype(bool)
    pred = np.asarray(y_pred).astype(bool)
    counts = np.stack([truth & pred & mask, ~truth & pred & mask, truth & ~pred & mask], axis=-1)
    return counts.astype(np.float64)


def scores(sums: npt.ArrayLike) -> dict[str, FloatArray]:
    """Precision, recall and F1 per label, and their macro means, from counts summed over items.

    ``sums`` has shape (..., labels, 3), so one call scores the point
    estimate (labels, 3) or every bootstrap resample at once (draws, labels,
    3). A per-label score is NaN where it is undefined (no predicted positive
    for precision, no observed positive for recall and F1). The macro means
    average the labels with an observed positive, as ``metrics.macro_f1``
    does, and are NaN where no label has one.
    """
    counts = np.asarray(sums, dtype=np.float64)
    tp, fp, fn = counts[..., TP], counts[..., FP], counts[..., FN]
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    f1 = np.where(tp + fn > 0, f1, np.nan)
    has_positive = tp + fn > 0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_precision": _mean_where(np.nan_to_num(precision), has_positive),
        "macro_recall": _mean_where(recall, has_positive),
        "macro_f1": _mean_where(f1, has_positive),
    }


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _mean_where(values: FloatArray, keep: npt.NDArray[np.bool_]) -> FloatArray:
    """Mean over the last axis of the entries where ``keep``; NaN where none is kept.

    A label with positives but no predicted positive has precision 0 here,
    not NaN: the model that never says a label present is wrong about it,
    and the macro precision should show it.
    """
    n = keep.sum(axis=-1)
    total = np.where(keep, values, 0.0).sum(axis=-1)
    mean: FloatArray = np.divide(total, n, out=np.full(np.shape(total), np.nan), where=n > 0)
    return mean


def gain_per(judgments: list[float], values: list[float], *, per: float = 1000.0) -> float | None:
    """Change of ``values`` per ``per`` judgments between the last two points; None when it cannot be computed.

    The points are versions in training order. There is no slope with fewer
    than two points, or when the last version did not train on more
    judgments than the one before (a retrain after answers were deleted).
    """
    if len(judgments) < 2 or len(values) < 2:
        return None
    spent = judgments[-1] - judgments[-2]
    if spent <= 0 or np.isnan(values[-1]) or np.isnan(values[-2]):
        return None
    return float((values[-1] - values[-2]) / spent * per)
