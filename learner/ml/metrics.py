"""Multi-label metrics computed on OBSERVED entries only.

Every function takes ``y_true`` as an (n, L) float array where NaN marks an
unobserved entry. Soft targets are binarised at 0.5. Conventions, chosen so
that partially labelled data never crashes and never produces NaN:

- per-label precision/recall/F1 use zero division -> 0;
- ``macro_f1`` averages over labels that have at least one observed positive
  (a label nobody has ticked yet cannot be evaluated); ``macro_f1_all``
  averages over every label with at least one observed entry;
- Jaccard and subset accuracy are computed per row over that row's observed
  entries; a row where both truth and prediction are empty scores 1;
- ranking metrics (LRAP, coverage error) use only rows with an observed
  positive, ranking among that row's observed labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


def observed_mask(y_true: np.ndarray) -> np.ndarray:
    """Boolean (n, L) mask of entries that carry a target."""
    return ~np.isnan(np.asarray(y_true, dtype=np.float64))


def binarize(y_true: np.ndarray) -> np.ndarray:
    """0/1 int array; unobserved entries become 0 (always use with a mask)."""
    y = np.nan_to_num(np.asarray(y_true, dtype=np.float64), nan=0.0)
    return (y >= 0.5).astype(np.int64)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """Per-label tp, fp, fn, tn counted over observed entries."""
    mask = observed_mask(y_true)
    truth = binarize(y_true).astype(bool)
    pred = np.asarray(y_pred).astype(bool)
    return {
        "tp": (truth & pred & mask).sum(0),
        "fp": (~truth & pred & mask).sum(0),
        "fn": (truth & ~pred & mask).sum(0),
        "tn": (~truth & ~pred & mask).sum(0),
    }


def per_label_prf(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """Per-label precision, recall, F1, support (observed positives), n_observed."""
    c = confusion_counts(y_true, y_pred)
    precision = _safe_div(c["tp"], c["tp"] + c["fp"])
    recall = _safe_div(c["tp"], c["tp"] + c["fn"])
    f1 = _safe_div(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"])
    support = c["tp"] + c["fn"]
    n_observed = c["tp"] + c["fp"] + c["fn"] + c["tn"]
    return {"precision": precision, "recall": recall, "f1": f1, "support": support, "n_observed": n_observed, **c}


def hamming_loss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of observed entries predicted wrongly."""
    mask = observed_mask(y_true)
    wrong = (binarize(y_true) != np.asarray(y_pred).astype(np.int64)) & mask
    return float(wrong.sum() / max(mask.sum(), 1))


def jaccard_samples(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-row Jaccard over observed entries of rows with any observation."""
    mask = observed_mask(y_true)
    truth = binarize(y_true).astype(bool) & mask
    pred = np.asarray(y_pred).astype(bool) & mask
    rows = mask.any(1)
    inter = (truth & pred).sum(1)[rows]
    union = (truth | pred).sum(1)[rows]
    scores = np.where(union > 0, _safe_div(inter, union), 1.0)
    return float(scores.mean()) if scores.size else 0.0


def subset_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of rows (with any observation) whose observed entries are all right."""
    mask = observed_mask(y_true)
    rows = mask.any(1)
    wrong = ((binarize(y_true) != np.asarray(y_pred).astype(np.int64)) & mask).any(1)
    return float((~wrong[rows]).mean()) if rows.any() else 0.0


def _ranking_rows(y_true: np.ndarray, scores: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (truth, scores) restricted to observed labels of each usable row."""
    mask = observed_mask(y_true)
    truth = binarize(y_true).astype(bool)
    for i in np.flatnonzero((truth & mask).any(1)):
        m = mask[i]
        yield truth[i, m], scores[i, m]


def label_ranking_average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """LRAP over observed labels, rows with at least one observed positive."""
    values = []
    for truth, s in _ranking_rows(y_true, np.asarray(scores, dtype=np.float64)):
        pos_scores = s[truth]
        # rank_all[k]: labels scored >= the k-th positive; rank_pos: positives among them.
        rank_all = (s[None, :] >= pos_scores[:, None]).sum(1)
        rank_pos = (pos_scores[None, :] >= pos_scores[:, None]).sum(1)
        values.append(float(np.mean(rank_pos / rank_all)))
    return float(np.mean(values)) if values else 0.0


def coverage_error(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean depth in the ranking of observed labels needed to cover all positives."""
    values = []
    for truth, s in _ranking_rows(y_true, np.asarray(scores, dtype=np.float64)):
        values.append(float((s >= s[truth].min()).sum()))
    return float(np.mean(values)) if values else 0.0


def reliability_bins(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> list[dict[str, Any]]:
    """Per-label reliability diagram data over observed entries.

    Returns one dict per label with ``mean_predicted``, ``observed_frequency``
    and ``count`` lists of length ``n_bins`` (empty bins have count 0 and
    ``None`` means) and the label's expected calibration error ``ece``.
    """
    mask = observed_mask(y_true)
    y = np.nan_to_num(np.asarray(y_true, dtype=np.float64), nan=0.0)
    p = np.asarray(proba, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    out = []
    for j in range(y.shape[1]):
        pj, yj = p[mask[:, j], j], y[mask[:, j], j]
        idx = np.clip(np.digitize(pj, edges[1:-1]), 0, n_bins - 1)
        counts = np.bincount(idx, minlength=n_bins)
        sum_p = np.bincount(idx, weights=pj, minlength=n_bins)
        sum_y = np.bincount(idx, weights=yj, minlength=n_bins)
        mean_p = [float(a / c) if c else None for a, c in zip(sum_p, counts, strict=True)]
        freq = [float(a / c) if c else None for a, c in zip(sum_y, counts, strict=True)]
        ece = float(np.abs(sum_p - sum_y).sum() / max(counts.sum(), 1))
        out.append({"mean_predicted": mean_p, "observed_frequency": freq, "count": counts.tolist(), "ece": ece})
    return out


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Per-label ECE (equal-width bins) over observed entries."""
    return np.asarray([b["ece"] for b in reliability_bins(y_true, proba, n_bins)])


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro F1 over labels with at least one observed positive."""
    prf = per_label_prf(y_true, y_pred)
    has_pos = prf["support"] > 0
    return float(prf["f1"][has_pos].mean()) if has_pos.any() else 0.0


def multilabel_report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None = None,
    label_names: list[str] | None = None,
    n_bins: int = 10,
) -> dict[str, Any]:
    """All metrics as a JSON-friendly dict: ``overall``, ``per_label``, ``calibration``."""
    y_true = np.asarray(y_true, dtype=np.float64)
    prf = per_label_prf(y_true, y_pred)
    c_tp, c_fp, c_fn = prf["tp"].sum(), prf["fp"].sum(), prf["fn"].sum()
    has_pos, has_obs = prf["support"] > 0, prf["n_observed"] > 0
    weights = prf["support"].astype(np.float64)
    overall: dict[str, Any] = {
        "macro_f1": macro_f1(y_true, y_pred),
        "macro_f1_all": float(prf["f1"][has_obs].mean()) if has_obs.any() else 0.0,
        "micro_f1": float(_safe_div(2 * c_tp, 2 * c_tp + c_fp + c_fn)),
        "micro_precision": float(_safe_div(c_tp, c_tp + c_fp)),
        "micro_recall": float(_safe_div(c_tp, c_tp + c_fn)),
        "weighted_f1": float((prf["f1"] * weights).sum() / weights.sum()) if weights.sum() else 0.0,
        "macro_precision": float(prf["precision"][has_pos].mean()) if has_pos.any() else 0.0,
        "macro_recall": float(prf["recall"][has_pos].mean()) if has_pos.any() else 0.0,
        "hamming_loss": hamming_loss(y_true, y_pred),
        "jaccard": jaccard_samples(y_true, y_pred),
        "subset_accuracy": subset_accuracy(y_true, y_pred),
        "n_observed_entries": int(observed_mask(y_true).sum()),
    }
    names = label_names or [str(j) for j in range(y_true.shape[1])]
    per_label = [
        {
            "label": names[j],
            "precision": float(prf["precision"][j]),
            "recall": float(prf["recall"][j]),
            "f1": float(prf["f1"][j]),
            "support": int(prf["support"][j]),
            "n_observed": int(prf["n_observed"][j]),
        }
        for j in range(y_true.shape[1])
    ]
    report: dict[str, Any] = {"overall": overall, "per_label": per_label}
    if proba is not None:
        overall["lrap"] = label_ranking_average_precision(y_true, proba)
        overall["coverage_error"] = coverage_error(y_true, proba)
        bins = reliability_bins(y_true, proba, n_bins)
        for j, b in enumerate(bins):
            per_label[j]["ece"] = b["ece"]
        # Over the labels that have held-out answers: a label with none has no
        # calibration error to speak of, and counting it as 0 flattered the mean.
        measured = [b["ece"] for b in bins if sum(b["count"])]
        overall["mean_ece"] = float(np.mean(measured)) if measured else 0.0
        report["calibration"] = [{"label": names[j], **b} for j, b in enumerate(bins)]
    return report


def label_pair_confusions(y_true: np.ndarray, y_pred: np.ndarray, top: int = 10) -> list[dict[str, Any]]:
    """Pairs (true a, predicted b != a) most often confused, on observed entries.

    Counts rows where ``a`` is an observed positive that was missed and ``b``
    is an observed negative that was predicted, i.e. the model said ``b``
    instead of ``a``.
    """
    mask = observed_mask(y_true)
    truth = binarize(y_true).astype(bool)
    pred = np.asarray(y_pred).astype(bool)
    missed = (truth & ~pred & mask).astype(np.float64)
    spurious = (~truth & pred & mask).astype(np.float64)
    counts = missed.T @ spurious
    np.fill_diagonal(counts, 0)
    order = np.argsort(counts, axis=None)[::-1][:top]
    pairs = []
    for flat in order:
        a, b = np.unravel_index(flat, counts.shape)
        if counts[a, b] <= 0:
            break
        pairs.append({"true": int(a), "predicted": int(b), "count": int(counts[a, b])})
    return pairs
