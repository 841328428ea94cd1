"""The default model: deterministic for a seed, an ensemble, and better than trivial."""

from __future__ import annotations

import numpy as np

from learner.ml import TrainConfig, train_model
from learner.ml.metrics import multilabel_report
from learner.ml.model import ENSEMBLE_GRID, BlendScorer

from .conftest import make_synthetic


def test_same_seed_and_data_give_the_same_probabilities(synthetic, partial_targets, small_config) -> None:
    texts, _ = synthetic
    first = train_model(texts, partial_targets, config=small_config, seed=3)
    second = train_model(texts, partial_targets, config=small_config, seed=3)
    np.testing.assert_array_equal(first.predict_proba(texts), second.predict_proba(texts))
    np.testing.assert_array_equal(first.thresholds, second.thresholds)


def test_default_is_a_calibrated_blend_of_network_and_masked_logreg(trained) -> None:
    assert isinstance(trained.scorer, BlendScorer)
    assert trained.metrics["ensemble"]["network_share"] in ENSEMBLE_GRID
    # Network and TF-IDF logistic model, plus the embedding member when the
    # held-out data gives it a share.
    uses_embeddings = trained.metrics["embeddings"] == "used"
    assert len(trained.scorer.members) == (3 if uses_embeddings else 2)
    assert trained.featurizer.embedding_dim == (384 if uses_embeddings else 0)


def test_default_beats_a_trivial_baseline_on_a_noisy_synthetic_task(embedding_cache) -> None:
    # Keywords are only present for 70% of positives and leak into 5% of
    # negatives, so neither a constant nor a perfect score is possible.
    texts, y = make_synthetic(n=1500, seed=5)
    rng = np.random.default_rng(6)
    noisy = []
    for text, row in zip(texts, y, strict=True):
        tokens = [t for t in text.split() if not (t.startswith("key") and rng.random() < 0.3)]
        tokens += [f"key{j}a" for j in range(y.shape[1]) if row[j] == 0 and rng.random() < 0.05]
        noisy.append(" ".join(tokens))
    targets = y.copy()
    targets[rng.random(y.shape) >= 0.3] = np.nan
    train, test = slice(0, 1000), slice(1000, None)
    config = TrainConfig(hidden=64, max_epochs=15, patience=3, embedding_cache=embedding_cache)
    model = train_model(noisy[train], targets[train], config=config, seed=0)
    score = multilabel_report(y[test], model.predict(noisy[test]))["overall"]["macro_f1"]
    # The best constant predictor ("always positive") has F1 = 2p / (1 + p).
    prior = y[train].mean(0)
    trivial = float(np.mean(2 * prior / (1 + prior)))
    assert score > trivial + 0.3
    assert score > 0.75
