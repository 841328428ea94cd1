"""Held-out split of the labelled rows by iterative stratification."""

from __future__ import annotations

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit


def holdout_split(
    targets: np.ndarray, val_size: float, seed: int, min_val_rows: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Split rows that have at least one observed entry into (train, val) indices.

    Stratifies on observed positives (unobserved counts as 0 for balancing
    only) with ``MultilabelStratifiedShuffleSplit`` and an explicit
    ``test_size``. With too few labelled rows to hold ``min_val_rows`` out,
    every labelled row is used for training and ``val`` is empty (the model
    then falls back to identity calibration and 0.5 thresholds).
    """
    labelled = np.flatnonzero((~np.isnan(targets)).any(1))
    n_val = round(len(labelled) * val_size)
    if n_val < min_val_rows or len(labelled) - n_val < min_val_rows:
        return labelled, np.zeros(0, dtype=np.int64)
    positives = (np.nan_to_num(targets[labelled], nan=0.0) >= 0.5).astype(np.int64)
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    train_idx, val_idx = next(splitter.split(np.zeros(len(labelled)), positives))
    return np.sort(labelled[train_idx]), np.sort(labelled[val_idx])


def cross_fit_folds(targets: np.ndarray, rows: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index (0 .. folds - 1) of each of ``rows``, stratified on observed positives.

    Every row lands in exactly one fold, so a model fitted on the other folds
    scores each labelled row out of sample (cross-fitting).
    """
    out = np.zeros(len(rows), dtype=np.int64)
    positives = (np.nan_to_num(targets[rows], nan=0.0) >= 0.5).astype(np.int64)
    splitter = MultilabelStratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, fold_idx) in enumerate(splitter.split(np.zeros(len(rows)), positives)):
        out[fold_idx] = k
    return out
