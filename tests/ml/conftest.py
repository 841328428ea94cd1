"""Shared synthetic data for the Django-free learner tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def make_synthetic(n: int = 1200, n_labels: int = 5, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Texts whose labels are signalled by two keyword tokens each, plus noise words."""
    rng = np.random.default_rng(seed)
    noise = [f"noise{i}" for i in range(150)]
    y = (rng.random((n, n_labels)) < 0.25).astype(np.float64)
    texts = []
    for i in range(n):
        tokens = list(rng.choice(noise, 8))
        for j in np.flatnonzero(y[i]):
            tokens += [f"key{j}a", f"key{j}b"]
        rng.shuffle(tokens)
        texts.append(" ".join(tokens))
    return texts, y


@pytest.fixture(scope="session")
def synthetic() -> tuple[list[str], np.ndarray]:
    return make_synthetic()


@pytest.fixture(scope="session")
def partial_targets(synthetic) -> np.ndarray:
    """The synthetic targets with only 30% of entries observed at random."""
    _, y = synthetic
    rng = np.random.default_rng(1)
    out = y.copy()
    out[rng.random(y.shape) >= 0.3] = np.nan
    return out


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory) -> str:
    """One sentence-embedding cache per test session: each text is encoded once."""
    return str(tmp_path_factory.mktemp("embeddings") / "embeddings.sqlite")


@pytest.fixture(scope="session")
def small_config(embedding_cache):
    from learner.ml import FeatureConfig, TrainConfig

    return TrainConfig(
        hidden=64,
        max_epochs=15,
        patience=3,
        features=FeatureConfig(char_max_features=5000),
        embedding_cache=embedding_cache,
    )


@pytest.fixture(scope="session")
def trained(synthetic, partial_targets, small_config):
    from learner.ml import train_model

    texts, _ = synthetic
    return train_model(texts, partial_targets, config=small_config, seed=0)
