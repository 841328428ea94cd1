"""Active-learning helpers: pure numpy/scikit-learn functions, numpy in and out.

Typical use by the app::

    proba = model.predict_proba(texts)
    picks = rank_for_annotation(
        proba, observed, model.features(texts), batch_size=200,
        focus_size=DEFAULT_FOCUS_SIZE, exploration=DEFAULT_EXPLORATION,
        seed=version_id, thresholds=model.thresholds,
    )                                                      # list[Pick]

``rank_for_annotation`` is the one ranking of the product (docs/learner.md,
"Active learning: ranking and proof"); it composes the helpers below, which
stay public for the app's other uses:

    unc = uncertainty(proba, model.thresholds)            # (n, L)
    scores = item_scores(unc, observed, k=5)              # (n,)
    focus = focus_labels(unc, observed, k=5)              # (n, 5), -1 padded
    batch = diverse_batch(scores, features, 20)           # indices

The order before any model exists (``cold_start`` picks) is
``annotate/stats/cold_start.py:diverse_order``; it is written by the app, not
here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

UNCERTAIN = "uncertain"
EXPLORATION = "exploration"
OVERLAP = "overlap"
COLD_START = "cold_start"
REASONS = (UNCERTAIN, EXPLORATION, OVERLAP, COLD_START)
# The product's defaults, chosen with benchmarks/active_learning.py
# (docs/learner.md, "Active learning: ranking and proof"): five focus labels
# per item, and one item in twenty asked every label at random. An
# exploration item costs all its labels (28 on GoEmotions against 5), so at
# 5 % it takes about a quarter of the judgments; 10 % took 40 % and saved
# fewer judgments. 2 % saved about as much once the model cross-fits its
# thresholds (3 seeds), but leaves part 3's quality estimate half the items.
# The retrain loop also passes ``label_need`` weights in focus-label projects.
DEFAULT_FOCUS_SIZE = 5
DEFAULT_EXPLORATION = 0.05
# The uncertain picks beyond this many are taken in score order: the
# k-means++-style diversity pass costs one distance computation per pick, and
# the head of the queue is all that people reach before the next retrain.
DIVERSE_LIMIT = 1000


def uncertainty(proba: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """(n, L) uncertainty in [0, 1] of calibrated probabilities.

    1 at the label's decision threshold (0.5 if ``thresholds`` is None),
    falling linearly to 0 at probability 0 or 1 (each side scaled so that
    both extremes reach 0 even with a skewed threshold).
    """
    p = np.asarray(proba, dtype=np.float64)
    t = np.full(p.shape[1], 0.5) if thresholds is None else np.clip(np.asarray(thresholds, float), 1e-6, 1 - 1e-6)
    below = 1.0 - (t - p) / t
    above = 1.0 - (p - t) / (1.0 - t)
    out: np.ndarray = np.clip(np.where(p < t, below, above), 0.0, 1.0)
    return out


def item_scores(unc: np.ndarray, observed: np.ndarray, k: int | None = None) -> np.ndarray:
    """(n,) priority per item: sum of uncertainties over its UNOBSERVED labels.

    With ``k`` only the ``k`` most uncertain unobserved labels count: the
    labels a focus-mode queue will actually ask, so an item is not pushed up
    by many mildly uncertain labels nobody will be asked about.
    """
    masked = np.where(np.asarray(observed, dtype=bool), 0.0, np.asarray(unc, dtype=np.float64))
    out: np.ndarray
    if k is None or k >= masked.shape[1]:
        out = masked.sum(1)
        return out
    if k <= 0:
        return np.zeros(masked.shape[0])
    out = np.partition(masked, masked.shape[1] - k, axis=1)[:, masked.shape[1] - k :].sum(1)
    return out


def focus_labels(unc: np.ndarray, observed: np.ndarray, k: int = 3) -> np.ndarray:
    """(n, k) int label indices: the k most uncertain unobserved labels per item.

    Sorted by decreasing uncertainty; padded with -1 when an item has fewer
    than k unobserved labels.
    """
    obs = np.asarray(observed, dtype=bool)
    masked = np.where(obs, -np.inf, unc)
    k = min(k, unc.shape[1])
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    valid = np.take_along_axis(~obs, order, axis=1)
    return np.where(valid, order, -1)


def diverse_batch(
    scores: np.ndarray,
    features: np.ndarray | sp.spmatrix,
    batch_size: int,
    pool_factor: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Pick ``batch_size`` indices from the top candidates, spread in feature space.

    The ``pool_factor * batch_size`` highest-scoring items form the pool; the
    first pick is the top item, then each next pick is sampled k-means++ style
    with probability proportional to ``score * squared distance`` to the
    nearest item already picked (cosine geometry on L2-normalised rows).
    Returns indices into ``scores`` in pick order.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    batch_size = min(batch_size, n)
    if batch_size <= 0:
        return np.zeros(0, dtype=np.int64)
    pool = np.argsort(-scores, kind="stable")[: min(n, max(batch_size * pool_factor, batch_size))]
    rng = np.random.default_rng(seed)
    feats = _project(features[pool] if sp.issparse(features) else np.asarray(features)[pool], rng)
    weight = np.maximum(scores[pool], 0.0) + 1e-9
    chosen = [0]
    nearest = _sq_dist(feats, feats[0])
    while len(chosen) < batch_size:
        prob = weight * nearest
        prob[chosen] = 0.0
        if prob.sum() <= 0:
            remaining = np.setdiff1d(np.arange(len(pool)), chosen)
            chosen.extend(remaining[: batch_size - len(chosen)].tolist())
            break
        pick = int(rng.choice(len(pool), p=prob / prob.sum()))
        chosen.append(pick)
        nearest = np.minimum(nearest, _sq_dist(feats, feats[pick]))
    picks: np.ndarray = pool[np.asarray(chosen)]
    return picks


# Rows wider than this are randomly projected to it before the diversity pass.
PROJECTED_DIM = 64


def _project(feats: np.ndarray | sp.spmatrix, rng: np.random.Generator) -> np.ndarray:
    """L2-normalised rows, randomly projected to ``PROJECTED_DIM`` dense columns when wider.

    One distance pass per pick over 150k TF-IDF columns made a batch of 1,000
    picks cost seconds; a Gaussian projection keeps cosine geometry up to a
    small distortion (Johnson-Lindenstrauss), which is all a spread needs.
    """
    feats = normalize(feats)
    if feats.shape[1] <= PROJECTED_DIM:
        return feats.toarray() if sp.issparse(feats) else np.asarray(feats, dtype=np.float64)
    if sp.issparse(feats):
        # Only the columns some pool row uses need a projection row.
        feats = sp.csr_matrix(feats)
        used = np.unique(feats.indices)
        feats = feats[:, used]
    proj = rng.standard_normal((feats.shape[1], PROJECTED_DIM)).astype(np.float32) / np.sqrt(PROJECTED_DIM)
    out = feats @ proj
    projected: np.ndarray = normalize(np.asarray(out, dtype=np.float64))
    return projected


def _sq_dist(feats: np.ndarray | sp.spmatrix, row: np.ndarray | sp.spmatrix) -> np.ndarray:
    """Squared Euclidean distance of unit rows to one unit row: 2 - 2 cos."""
    sims = feats @ row.T
    sims = sims.toarray().ravel() if sp.issparse(sims) else np.asarray(sims).ravel()
    return np.maximum(2.0 - 2.0 * sims, 0.0)


@dataclass(frozen=True)
class Pick:
    """One item the queue should ask, the labels to ask on it, and why."""

    item: int  # Row index into ``proba``.
    focus: tuple[int, ...]  # Label indices to ask; never an observed entry.
    reason: str  # One of ``REASONS``.


def rank_for_annotation(
    proba: np.ndarray,
    observed: np.ndarray,
    features: np.ndarray | sp.spmatrix,
    *,
    batch_size: int,
    focus_size: int | None,
    exploration: float = DEFAULT_EXPLORATION,
    overlap_share: float = 0.0,
    seed: int = 0,
    thresholds: np.ndarray | None = None,
    pool_factor: int = 5,
    label_weights: np.ndarray | None = None,
) -> list[Pick]:
    """The next ``batch_size`` items to ask and the labels to ask on each.

    ``proba`` (n, L) are calibrated probabilities, ``observed`` (n, L) marks
    entries that already have enough observers, ``features`` (n, d) are the
    model's item features (sparse or dense) used for diversity. An item whose
    every label is observed is never picked, and an observed entry is never a
    focus label. ``focus_size`` None (or >= L) asks every unobserved label.

    The batch holds three kinds of picks, spread evenly through the list so
    that any prefix of it keeps the shares:

    - ``exploration`` (share ``exploration``): uniformly random items among
      those with an unobserved label, asked on all their unobserved labels.
      They are the unbiased sample the quality estimate is computed from.
    - ``overlap`` (share ``overlap_share``): also uniformly random items
      asked on all their unobserved labels, meant for several annotators, so
      agreement is measured on a random sample of items and on every label
      (docs/learner.md explains the choice).
    - ``uncertain`` (the rest): items scored by the summed uncertainty of the
      ``focus_size`` labels they will be asked (``item_scores(k=...)``),
      chosen by ``diverse_batch`` among the ``pool_factor * n`` best, each
      asked its ``focus_size`` most uncertain unobserved labels.

    ``label_weights`` (L,), optional, scales each label's uncertainty before
    items and focus labels are chosen (e.g. ``label_need`` of the answers,
    which favours labels with few known positives).

    The same arguments and ``seed`` give the same list.
    """
    proba = np.asarray(proba, dtype=np.float64)
    obs = np.asarray(observed, dtype=bool)
    if proba.shape != obs.shape:
        raise ValueError(f"proba {proba.shape} and observed {obs.shape} must have the same shape")
    n_labels = proba.shape[1]
    k = n_labels if focus_size is None or focus_size >= n_labels else int(focus_size)
    if k <= 0:
        raise ValueError("focus_size must be positive (or None for all labels)")
    if not (0.0 <= exploration <= 1.0 and 0.0 <= overlap_share <= 1.0 and exploration + overlap_share <= 1.0):
        raise ValueError("exploration and overlap_share must be shares in [0, 1] summing to at most 1")
    open_items = np.flatnonzero(~obs.all(1)) if n_labels else np.zeros(0, dtype=np.int64)
    batch_size = min(int(batch_size), len(open_items))
    if batch_size <= 0:
        return []
    rng = np.random.default_rng(seed)
    n_explore = round(exploration * batch_size)
    n_overlap = min(round(overlap_share * batch_size), batch_size - n_explore)
    random_items = rng.choice(open_items, size=n_explore + n_overlap, replace=False)
    explore_items, overlap_items = random_items[:n_explore], random_items[n_explore:]

    n_uncertain = batch_size - n_explore - n_overlap
    unc = uncertainty(proba, thresholds)
    if label_weights is not None:
        unc = unc * np.asarray(label_weights, dtype=np.float64)[None, :]
    scores = item_scores(unc, obs, k=k)
    # Items already taken at random and fully observed items cannot be picked again.
    scores[random_items] = -np.inf
    scores[obs.all(1)] = -np.inf
    candidates = np.flatnonzero(np.isfinite(scores))
    uncertain_items = _uncertain_picks(scores[candidates], candidates, features, n_uncertain, pool_factor, rng)
    focus = focus_labels(unc[uncertain_items], obs[uncertain_items], k=k)

    # Plain Python lists: building 100,000 picks from numpy scalars one by one is slow.
    uncertain_picks = [
        Pick(item, tuple(j for j in row if j >= 0), UNCERTAIN)
        for item, row in zip(uncertain_items.tolist(), focus.tolist(), strict=True)
    ]
    explore_picks = [Pick(i, _unobserved(obs, i), EXPLORATION) for i in explore_items.tolist()]
    overlap_picks = [Pick(i, _unobserved(obs, i), OVERLAP) for i in overlap_items.tolist()]
    return _interleave(uncertain_picks, [explore_picks, overlap_picks])


def _unobserved(obs: np.ndarray, item: int) -> tuple[int, ...]:
    return tuple(np.flatnonzero(~obs[item]).tolist())


def _uncertain_picks(
    scores: np.ndarray,
    candidates: np.ndarray,
    features: np.ndarray | sp.spmatrix,
    count: int,
    pool_factor: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``count`` candidate rows: a diverse head (``diverse_batch``), then score order."""
    count = min(count, len(candidates))
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    head = min(count, DIVERSE_LIMIT)
    # Only the pool diverse_batch looks at needs its features, so slice those rows once.
    pool = np.argsort(-scores, kind="stable")[: min(len(scores), max(head * pool_factor, count))]
    feats = features[candidates[pool]] if sp.issparse(features) else np.asarray(features)[candidates[pool]]
    picked = diverse_batch(scores[pool], feats, head, pool_factor=pool_factor, seed=int(rng.integers(2**31)))
    if count > head:
        rest = np.setdiff1d(np.arange(len(pool)), picked, assume_unique=True)
        rest = rest[np.argsort(-scores[pool][rest], kind="stable")][: count - head]
        picked = np.concatenate([picked, rest])
    rows: np.ndarray = candidates[pool[picked]]
    return rows


def _interleave(main: list[Pick], others: list[list[Pick]]) -> list[Pick]:
    """Spread each list of ``others`` evenly through ``main``, so every prefix keeps the shares."""
    keyed: list[tuple[float, int, Pick]] = [((i + 0.5) / max(len(main), 1), 0, p) for i, p in enumerate(main)]
    for rank, group in enumerate(others, start=1):
        keyed += [((i + 0.5) / len(group), rank, p) for i, p in enumerate(group)]
    keyed.sort(key=lambda entry: (entry[0], entry[1]))
    return [pick for _, _, pick in keyed]


def label_need(positives: np.ndarray) -> np.ndarray:
    """(L,) label weights in (0, 1] for ``rank_for_annotation``: ``1 / sqrt(1 + positives)``, scaled to max 1.

    ``positives`` counts the positive answers each label has. Macro-F1
    weighs every label alike, and a rare label whose few positives are
    known is where one more answer teaches the model most.
    """
    weights = 1.0 / np.sqrt(1.0 + np.asarray(positives, dtype=np.float64))
    return weights / weights.max() if len(weights) else weights
