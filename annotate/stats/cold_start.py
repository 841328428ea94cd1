"""The cold-start order: which items people see first, before any model exists.

Pure Python and scikit-learn, no Django: the queue, the importer and the
active-learning benchmark call the same function.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

# Cold start: at most this many TF-IDF clusters; fewer items than
# MIN_ITEMS_TO_CLUSTER are simply shuffled.
MAX_CLUSTERS = 64
MIN_ITEMS_TO_CLUSTER = 20
# Texts the cold-start clusters are fitted on; the rest are only assigned.
CLUSTER_SAMPLE = 10_000


def diverse_order(texts: Sequence[str], *, seed: int) -> list[int]:
    """Indices of ``texts`` in an order that visits the whole collection early.

    The texts are clustered on TF-IDF features with MiniBatchKMeans, each
    cluster is shuffled, and the order takes one item from each cluster in
    turn (round robin, biggest clusters first). The first dozens of items then
    cover many topics instead of repeating the most common one, which is what
    the first model needs to learn every label.
    """
    rng = random.Random(seed)
    order = list(range(len(texts)))
    if len(texts) < MIN_ITEMS_TO_CLUSTER:
        rng.shuffle(order)
        return order

    from sklearn.cluster import MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    # The vocabulary and the clusters are learned on a sample: topics show up
    # in a few thousand texts, and fitting on 100k imported texts would make
    # the import wait on k-means.
    sample = rng.sample(order, min(len(texts), CLUSTER_SAMPLE))
    vectorizer = TfidfVectorizer(max_features=20000, sublinear_tf=True, stop_words="english")
    try:
        vectorizer.fit([texts[index] for index in sample])
    except ValueError:
        # Every text was empty or made only of stop words: nothing to cluster on.
        rng.shuffle(order)
        return order
    features = vectorizer.transform(texts)
    n_clusters = max(2, min(MAX_CLUSTERS, round(math.sqrt(len(texts) / 2))))
    kmeans = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, n_init=3, batch_size=2048)
    kmeans.fit(features[sample])
    assignments = kmeans.predict(features)

    clusters: dict[int, list[int]] = {}
    for index, cluster in enumerate(assignments):
        clusters.setdefault(int(cluster), []).append(index)
    buckets = sorted(clusters.values(), key=len, reverse=True)
    for bucket in buckets:
        rng.shuffle(bucket)
    result: list[int] = []
    depth = 0
    while len(result) < len(texts):
        result.extend(bucket[depth] for bucket in buckets if depth < len(bucket))
        depth += 1
    return result
