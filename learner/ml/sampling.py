"""Active-learning helpers: pure numpy/scikit-learn functions, numpy in and out.

Typical use by the app::

    proba = model.predict_proba(texts)
    unc = uncertainty(proba, model.thresholds)            # (n, L)
    scores = item_scores(unc, observed)                   # (n,)
    focus = focus_labels(unc, observed, k=3)              # (n, 3), -1 padded
    batch = diverse_batch(scores, model.embed(texts), 20) # indices
    order = cold_start_order(texts, seed=0)               # before any model
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


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
    return np.clip(np.where(p < t, below, above), 0.0, 1.0)


def item_scores(unc: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(n,) priority per item: sum of uncertainties over its UNOBSERVED labels."""
    return np.where(np.asarray(observed, dtype=bool), 0.0, unc).sum(1)


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
    feats = normalize(features[pool] if sp.issparse(features) else np.asarray(features)[pool])
    rng = np.random.default_rng(seed)
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
    return pool[np.asarray(chosen)]


def _sq_dist(feats: np.ndarray | sp.spmatrix, row: np.ndarray | sp.spmatrix) -> np.ndarray:
    """Squared Euclidean distance of unit rows to one unit row: 2 - 2 cos."""
    sims = feats @ row.T
    sims = sims.toarray().ravel() if sp.issparse(sims) else np.asarray(sims).ravel()
    return np.maximum(2.0 - 2.0 * sims, 0.0)


def cold_start_order(texts: list[str], seed: int = 0, n_clusters: int | None = None) -> np.ndarray:
    """A diverse ordering of ALL items for labelling before any model exists.

    TF-IDF (word 1-2 grams, bounded vocabulary) + MiniBatchKMeans with about
    sqrt(n) clusters (capped at 50); items are taken round-robin over the
    clusters, each cluster ordered from its centre outwards, so the first k
    items cover the clusters. Returns a permutation of ``range(len(texts))``.
    """
    n = len(texts)
    if n <= 2:
        return np.arange(n)
    clean = [t if isinstance(t, str) else "" for t in texts]
    try:
        x = TfidfVectorizer(ngram_range=(1, 2), max_features=20_000, sublinear_tf=True, min_df=1).fit_transform(clean)
    except ValueError:
        # Every text is empty or stop-word-free of tokens: no geometry to use.
        return np.random.default_rng(seed).permutation(n)
    k = n_clusters or int(min(50, max(2, round(np.sqrt(n)))))
    k = min(k, n)
    km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=1024)
    labels = km.fit_predict(x)
    dist = km.transform(x)[np.arange(n), labels]
    queues = [np.flatnonzero(labels == c)[np.argsort(dist[labels == c], kind="stable")] for c in range(k)]
    rng = np.random.default_rng(seed)
    queues = [queues[c] for c in rng.permutation(k) if len(queues[c])]
    order: list[int] = []
    depth = 0
    while len(order) < n:
        for q in queues:
            if depth < len(q):
                order.append(int(q[depth]))
        depth += 1
    return np.asarray(order, dtype=np.int64)
