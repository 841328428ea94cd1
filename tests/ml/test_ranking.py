"""``rank_for_annotation`` (learner/ml/sampling.py) and the cold-start order, without Django."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from annotate.stats.cold_start import diverse_order
from learner.ml.sampling import EXPLORATION, OVERLAP, UNCERTAIN, Pick, item_scores, rank_for_annotation


def hard_label_pool(n: int = 400, n_labels: int = 6, hard: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities near 0 or 1 for every label except ``hard``, which sits near its threshold."""
    rng = np.random.default_rng(seed)
    easy = np.where(
        rng.random((n, n_labels)) < 0.3, rng.uniform(0.93, 0.99, (n, n_labels)), rng.uniform(0.01, 0.07, (n, n_labels))
    )
    easy[:, hard] = rng.uniform(0.4, 0.6, n)
    features = rng.normal(size=(n, 8))
    return easy, features


def test_focus_concentrates_on_the_hard_label() -> None:
    proba, features = hard_label_pool()
    observed = np.zeros_like(proba, dtype=bool)
    picks = rank_for_annotation(proba, observed, features, batch_size=50, focus_size=1, exploration=0.0)
    assert len(picks) == 50
    assert all(pick.focus == (2,) for pick in picks)
    # With two focus labels the hard one is still always asked.
    picks = rank_for_annotation(proba, observed, features, batch_size=50, focus_size=2, exploration=0.0)
    assert all(2 in pick.focus for pick in picks)


def test_items_are_scored_by_the_labels_they_will_be_asked() -> None:
    # Item 0: one very uncertain label; item 1: many slightly uncertain ones.
    unc = np.array([[1.0, 0.0, 0.0, 0.0, 0.0], [0.3, 0.3, 0.3, 0.3, 0.3]])
    observed = np.zeros_like(unc, dtype=bool)
    assert item_scores(unc, observed, k=1).tolist() == [1.0, 0.3]
    assert item_scores(unc, observed).tolist() == pytest.approx([1.0, 1.5])


def test_observed_entries_never_focus_and_full_items_never_picked() -> None:
    proba, features = hard_label_pool()
    rng = np.random.default_rng(1)
    observed = rng.random(proba.shape) < 0.5
    # The hard label is observed on half the items; those must be asked other labels.
    observed[:200, 2] = True
    observed[200:260] = True
    picks = rank_for_annotation(
        proba, observed, features, batch_size=300, focus_size=2, exploration=0.2, overlap_share=0.1, seed=3
    )
    assert len(picks) == 300
    assert len({pick.item for pick in picks}) == 300
    for pick in picks:
        assert not 200 <= pick.item < 260
        assert pick.focus, pick
        assert not observed[pick.item, list(pick.focus)].any()


def test_nothing_to_ask_gives_an_empty_batch() -> None:
    proba, features = hard_label_pool(n=20)
    assert rank_for_annotation(proba, np.ones_like(proba, dtype=bool), features, batch_size=5, focus_size=3) == []


@pytest.mark.parametrize(("exploration", "overlap"), [(0.1, 0.0), (0.2, 0.1), (0.0, 0.25), (1.0, 0.0)])
def test_exploration_and_overlap_shares(exploration: float, overlap: float) -> None:
    proba, features = hard_label_pool()
    observed = np.random.default_rng(2).random(proba.shape) < 0.3
    picks = rank_for_annotation(
        proba, observed, features, batch_size=100, focus_size=1, exploration=exploration, overlap_share=overlap
    )
    reasons = Counter(pick.reason for pick in picks)
    assert reasons[EXPLORATION] == round(100 * exploration)
    assert reasons[OVERLAP] == round(100 * overlap)
    assert reasons[UNCERTAIN] == 100 - reasons[EXPLORATION] - reasons[OVERLAP]
    for pick in picks:
        if pick.reason in (EXPLORATION, OVERLAP):
            # Random picks ask every unobserved label of the item.
            assert pick.focus == tuple(np.flatnonzero(~observed[pick.item]).tolist())
        else:
            assert len(pick.focus) == 1
    # The random picks are spread through the batch: the first half holds about half of them.
    first_half = Counter(pick.reason for pick in picks[:50])
    assert abs(first_half[EXPLORATION] - reasons[EXPLORATION] / 2) <= 1


def test_exploration_picks_are_uniform_not_uncertain() -> None:
    proba, features = hard_label_pool(n=2000)
    # Items 0..99 are far more uncertain than the rest on every label.
    proba[:100] = 0.5
    observed = np.zeros_like(proba, dtype=bool)
    picks = rank_for_annotation(proba, observed, features, batch_size=200, focus_size=2, exploration=0.5, seed=4)
    explored = [pick.item for pick in picks if pick.reason == EXPLORATION]
    uncertain = [pick.item for pick in picks if pick.reason == UNCERTAIN]
    # Uniform among 2,000 items: about 5 of 100 random picks fall in the first
    # 100; the uncertain picks, drawn from the 500 best, hold several times more.
    assert sum(item < 100 for item in explored) < 15
    assert sum(item < 100 for item in uncertain) >= 25


def test_same_seed_same_batch() -> None:
    proba, features = hard_label_pool()
    observed = np.random.default_rng(5).random(proba.shape) < 0.2

    def batch(seed: int) -> list[Pick]:
        return rank_for_annotation(
            proba, observed, features, batch_size=60, focus_size=2, exploration=0.2, overlap_share=0.1, seed=seed
        )

    assert batch(7) == batch(7)
    assert batch(7) != batch(8)


def test_all_labels_mode_asks_every_unobserved_label() -> None:
    proba, features = hard_label_pool()
    observed = np.random.default_rng(6).random(proba.shape) < 0.4
    for focus_size in (None, proba.shape[1], 100):
        picks = rank_for_annotation(proba, observed, features, batch_size=40, focus_size=focus_size, exploration=0.1)
        for pick in picks:
            # Uncertain picks list their labels most uncertain first.
            assert sorted(pick.focus) == np.flatnonzero(~observed[pick.item]).tolist()


def test_sparse_features_work() -> None:
    import scipy.sparse as sp

    proba, features = hard_label_pool()
    observed = np.zeros_like(proba, dtype=bool)
    dense = rank_for_annotation(proba, observed, features, batch_size=30, focus_size=2, seed=1)
    sparse = rank_for_annotation(proba, observed, sp.csr_matrix(features), batch_size=30, focus_size=2, seed=1)
    assert [pick.item for pick in dense] == [pick.item for pick in sparse]


def test_cold_start_order_covers_every_cluster() -> None:
    topics = [
        "apple banana fruit orchard juice",
        "rocket launch orbit satellite engine",
        "guitar concert band song stage",
        "football goal referee match league",
        "python compiler code function bug",
    ]
    rng = np.random.default_rng(0)
    texts, topic_of = [], []
    for index in range(200):
        topic = index % len(topics)
        words = topics[topic].split()
        texts.append(" ".join(rng.choice(words, 6)) + f" item{index}")
        topic_of.append(topic)
    order = diverse_order(texts, seed=0)
    assert sorted(order) == list(range(200))
    # The first ten items already cover every topic.
    assert {topic_of[index] for index in order[:10]} == set(range(len(topics)))
    assert diverse_order(texts, seed=0) == order


def test_config_for_young_projects_drops_the_network() -> None:
    from learner.ml import TrainConfig, config_for
    from learner.ml.model import YOUNG_PROJECT_ENTRIES

    assert config_for(100_000, 0).network is False
    assert config_for(100_000, YOUNG_PROJECT_ENTRIES - 1).network is False
    assert config_for(100_000, YOUNG_PROJECT_ENTRIES) == TrainConfig(missingness_correction=False)
    # Imported positives-only answers keep the correction of the default model.
    assert config_for(100_000, YOUNG_PROJECT_ENTRIES, answers_from_queue=False) == TrainConfig()


def test_young_model_learns_and_featurized_training_is_identical(synthetic, partial_targets, tmp_path) -> None:
    from dataclasses import replace

    from learner.ml import FeatureConfig, config_for, load_model, prepare_features, train_model

    texts, y = synthetic
    # No embeddings here: this test is about the network switch and the shared features.
    config = replace(config_for(len(texts), 10), embeddings=False, features=FeatureConfig(char_max_features=5000))
    model = train_model(texts, partial_targets, config=config, seed=0)
    assert model.metrics["network"] == "off"
    assert macro_f1_of(model.predict(texts), y) > 0.85
    featurizer, x = prepare_features(texts, config)
    again = train_model(texts, partial_targets, config=config, seed=0, featurized=(featurizer, x))
    np.testing.assert_array_equal(again.predict_proba(texts), model.predict_proba(texts))
    np.testing.assert_array_equal(again.proba_from_features(x), model.predict_proba(texts))
    model.save(tmp_path / "young.joblib")
    np.testing.assert_array_equal(
        load_model(tmp_path / "young.joblib").predict_proba(texts), model.predict_proba(texts)
    )


def macro_f1_of(pred: np.ndarray, y: np.ndarray) -> float:
    from learner.ml.metrics import macro_f1

    return macro_f1(y, pred)


def test_label_weights_steer_focus_to_labels_with_few_positives() -> None:
    from learner.ml.sampling import label_need

    weights = label_need(np.array([0, 3, 99]))
    assert weights[0] == 1.0 and weights[0] > weights[1] > weights[2] > 0
    # Two equally uncertain labels: the one with fewer known positives is asked.
    proba = np.full((30, 3), 0.02)
    proba[:, 1:] = 0.5
    features = np.random.default_rng(0).normal(size=(30, 4))
    observed = np.zeros_like(proba, dtype=bool)
    plain = rank_for_annotation(proba, observed, features, batch_size=10, focus_size=1, exploration=0.0)
    weighted = rank_for_annotation(
        proba, observed, features, batch_size=10, focus_size=1, exploration=0.0, label_weights=label_need([5, 50, 0])
    )
    assert {pick.focus for pick in plain} == {(1,)}
    assert {pick.focus for pick in weighted} == {(2,)}
