"""The agreement and consensus maths in annotate/stats/agreement.py, without a database."""

from __future__ import annotations

import json
import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from annotate.stats import agreement as ag

NAN = np.nan


def statsmodels_kappa(table: np.ndarray) -> float:
    """statsmodels' Fleiss' kappa, silencing its 0 / 0 warning on degenerate tables."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(statsmodels_fleiss(table, method="fleiss"))


def naive_gwet_fleiss(table: np.ndarray) -> float:
    """A loop-per-subject transcription of irrCAC fleiss.kappa.raw, as an independent reference."""
    agreements, shares = [], []
    for row in table:
        r = row.sum()
        if r >= 1:
            shares.append(row / r)
        if r >= 2:
            agreements.append(sum(c * (c - 1) for c in row) / (r * (r - 1)))
    pa = sum(agreements) / len(agreements)
    pe = sum(p**2 for p in np.mean(shares, axis=0))
    return (pa - pe) / (1 - pe)


def random_values(rng: np.random.Generator, items: int, labels: int, raters: int, observed: float) -> np.ndarray:
    """Random 0/1/NaN answers with some true signal so kappas are not all near zero."""
    truth = rng.random((items, labels)) < rng.uniform(0.1, 0.5, size=labels)
    correct = rng.random((items, labels, raters)) < 0.85
    answers = np.where(correct, truth[:, :, None], ~truth[:, :, None]).astype(float)
    return np.where(rng.random(answers.shape) < observed, answers, NAN)


def label_table(values: np.ndarray, label: int) -> np.ndarray:
    """The (units x [no, yes]) count table of one label, units only."""
    column = values[:, label, :]
    yes = (column == 1).sum(axis=1)
    no = (column == 0).sum(axis=1)
    unit = yes + no >= 2
    return np.column_stack([no[unit], yes[unit]])


# ---------------------------------------------------------------------------
# fleiss_kappa on count tables
# ---------------------------------------------------------------------------


def test_fleiss_equals_statsmodels_on_random_equal_rater_tables() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(300):
        items = int(rng.integers(1, 40))
        categories = int(rng.integers(2, 7))
        raters = int(rng.integers(2, 12))
        table = rng.multinomial(raters, rng.dirichlet(np.ones(categories)), size=items)
        expected = statsmodels_kappa(table)
        got = ag.fleiss_kappa(table)
        if np.isnan(expected):
            assert np.isnan(got)
        else:
            assert got == pytest.approx(expected, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    items=st.integers(1, 30),
    categories=st.integers(2, 6),
    raters=st.integers(2, 15),
)
def test_fleiss_equals_statsmodels_hypothesis(seed: int, items: int, categories: int, raters: int) -> None:
    rng = np.random.default_rng(seed)
    table = rng.multinomial(raters, rng.dirichlet(np.ones(categories) * 0.7), size=items)
    expected = statsmodels_kappa(table)
    got = ag.fleiss_kappa(table)
    assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


def test_fleiss_varying_raters_matches_a_loop_transcription() -> None:
    rng = np.random.default_rng(7)
    for _ in range(100):
        items = int(rng.integers(2, 30))
        categories = int(rng.integers(2, 5))
        raters = rng.integers(0, 8, size=items)
        raters[:2] = [2, 3]  # at least two subjects with pairs
        table = np.array([rng.multinomial(r, np.full(categories, 1 / categories)) for r in raters])
        expected = naive_gwet_fleiss(table)
        got = ag.fleiss_kappa(table)
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


def test_fleiss_degenerate_cases_are_nan() -> None:
    assert np.isnan(ag.fleiss_kappa(np.zeros((0, 2))))
    assert np.isnan(ag.fleiss_kappa([[1, 0], [0, 1]])), "no subject has two raters"
    assert np.isnan(ag.fleiss_kappa([[3, 0], [2, 0]])), "one category only: pe == 1"
    assert ag.fleiss_kappa([[3, 0], [0, 3]]) == pytest.approx(1.0)


def test_fleiss_single_rater_subjects_only_enter_the_shares() -> None:
    base = np.array([[2, 0], [0, 2], [1, 1]])
    with_single = np.vstack([base, [[1, 0]]])
    assert ag.fleiss_kappa(with_single) == pytest.approx(naive_gwet_fleiss(with_single), abs=1e-15)
    assert ag.fleiss_kappa(with_single) != pytest.approx(ag.fleiss_kappa(base))


def test_fleiss_rejects_bad_tables() -> None:
    with pytest.raises(ValueError):
        ag.fleiss_kappa([1, 2, 3])
    with pytest.raises(ValueError):
        ag.fleiss_kappa([[1, -1]])


# ---------------------------------------------------------------------------
# Per-label, pooled and macro kappa; alpha
# ---------------------------------------------------------------------------


def test_per_label_kappa_is_fleiss_on_each_labels_units() -> None:
    values = random_values(np.random.default_rng(1), items=300, labels=5, raters=4, observed=0.6)
    result = ag.kappa_per_label(values)
    for label in range(5):
        table = label_table(values, label)
        assert result.kappa[label] == pytest.approx(ag.fleiss_kappa(table), abs=1e-12)
        assert result.n_units[label] == len(table)


def test_pooled_kappa_treats_item_label_pairs_as_units() -> None:
    values = random_values(np.random.default_rng(2), items=200, labels=4, raters=3, observed=0.7)
    stacked = np.vstack([label_table(values, label) for label in range(4)])
    kappa, n_units = ag.pooled_kappa(values)
    assert kappa == pytest.approx(ag.fleiss_kappa(stacked), abs=1e-12)
    assert n_units == len(stacked)


def test_macro_kappa_ignores_undefined_labels() -> None:
    assert ag.macro_kappa(np.array([0.2, NAN, 0.4])) == pytest.approx(0.3)
    assert np.isnan(ag.macro_kappa(np.array([NAN, NAN])))


def test_unobserved_is_not_no() -> None:
    """A negative answer and a missing one must give different kappas (docs/architecture.md, the three-state rule)."""
    with_negative = np.array(
        [
            [[1, 1, 0]],
            [[0, 0, 0]],
            [[1, 1, 1]],
            [[0, 0, 1]],
        ],
        dtype=float,
    )
    with_missing = with_negative.copy()
    with_missing[0, 0, 2] = NAN  # the third rater did not answer instead of saying "no"
    negative = ag.kappa_per_label(with_negative)
    missing = ag.kappa_per_label(with_missing)
    assert negative.kappa[0] == pytest.approx(ag.fleiss_kappa([[1, 2], [3, 0], [0, 3], [2, 1]]))
    assert missing.kappa[0] == pytest.approx(ag.fleiss_kappa([[0, 2], [3, 0], [0, 3], [2, 1]]))
    assert negative.kappa[0] != pytest.approx(missing.kappa[0])
    assert negative.n_units[0] == missing.n_units[0] == 4


def test_items_with_one_observer_are_not_units() -> None:
    values = np.array([[[1, NAN, NAN]], [[1, 1, NAN]], [[0, 0, 1]]], dtype=float)
    assert ag.kappa_per_label(values).n_units[0] == 2


def test_alpha_package_and_closed_form_agree_with_reliability_data() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        values = random_values(rng, items=int(rng.integers(5, 200)), labels=3, raters=4, observed=0.6)
        package, n_package = ag.krippendorff_alpha_per_label(values, method="package")
        closed, n_closed = ag.krippendorff_alpha_per_label(values, method="closed_form")
        np.testing.assert_array_equal(n_package, n_closed)
        for label in range(3):
            reliability = values[:, label, :].T  # (raters, units) with NaN for missing
            expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
            assert package[label] == pytest.approx(expected, abs=1e-12)
            assert closed[label] == pytest.approx(expected, abs=1e-12)


def test_alpha_is_nan_when_undefined() -> None:
    values = np.array([[[0, 0], [1, NAN]], [[0, 0], [NAN, NAN]]], dtype=float)
    for method in ("package", "closed_form"):
        alpha, n_units = ag.krippendorff_alpha_per_label(values, method=method)
        assert np.isnan(alpha).all()
        assert list(n_units) == [2, 0]


# ---------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------


def test_bootstrap_matches_a_loop_over_resamples() -> None:
    """The vectorised bootstrap equals recomputing every figure on each resample."""
    rng = np.random.default_rng(4)
    values = random_values(rng, items=60, labels=3, raters=3, observed=1.0)  # every item is a unit
    n_boot, seed = 40, 11
    intervals = ag.bootstrap_intervals(values, n_boot=n_boot, seed=seed)

    draws = np.random.default_rng(seed).integers(0, 60, size=(n_boot, 60))
    kappas = np.array([ag.kappa_per_label(values[row]).kappa for row in draws])
    alphas = np.array([ag.krippendorff_alpha_per_label(values[row])[0] for row in draws])
    pooled = np.array([ag.pooled_kappa(values[row])[0] for row in draws])
    macro = kappas.mean(axis=1)
    np.testing.assert_allclose(intervals.kappa, np.percentile(kappas, [2.5, 97.5], axis=0).T, atol=1e-12)
    np.testing.assert_allclose(intervals.alpha, np.percentile(alphas, [2.5, 97.5], axis=0).T, atol=1e-12)
    np.testing.assert_allclose(intervals.pooled_kappa, np.percentile(pooled, [2.5, 97.5]), atol=1e-12)
    np.testing.assert_allclose(intervals.macro_kappa, np.percentile(macro, [2.5, 97.5]), atol=1e-12)


def test_bootstrap_float32_path_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    values = random_values(np.random.default_rng(5), items=500, labels=4, raters=5, observed=0.6)
    patterns = ag._patterns(*ag.yes_no_counts(values))
    table, scale = ag._exact_table(patterns.table, patterns.max_observers, 500)
    assert table.dtype == np.float32 and scale == 60.0, "lcm(2, 6, 12, 20) makes every entry an integer"
    fast = ag.bootstrap_intervals(values, n_boot=120, seed=3)
    monkeypatch.setattr(ag, "_exact_table", lambda table, max_observers, n_draws: (table, 1.0))
    slow = ag.bootstrap_intervals(values, n_boot=120, seed=3)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    values = random_values(np.random.default_rng(6), items=400, labels=3, raters=3, observed=0.8)
    first = ag.bootstrap_intervals(values, n_boot=200, seed=1)
    again = ag.bootstrap_intervals(values, n_boot=200, seed=1)
    other = ag.bootstrap_intervals(values, n_boot=200, seed=2)
    np.testing.assert_array_equal(first.kappa, again.kappa)
    assert not np.array_equal(first.kappa, other.kappa)
    point = ag.kappa_per_label(values).kappa
    assert np.all((first.kappa[:, 0] <= point) & (point <= first.kappa[:, 1]))


def test_bootstrap_without_units_is_nan() -> None:
    values = np.full((3, 2, 2), NAN)
    intervals = ag.bootstrap_intervals(values, n_boot=10)
    assert np.isnan(intervals.kappa).all() and np.isnan(intervals.pooled_kappa).all()


# ---------------------------------------------------------------------------
# Cohen's kappa and leave-one-out
# ---------------------------------------------------------------------------


def test_cohen_pairs_match_sklearn_on_jointly_observed_entries() -> None:
    values = random_values(np.random.default_rng(8), items=150, labels=4, raters=3, observed=0.7)
    pairs = ag.cohen_kappa_pairs(values)
    assert [p.raters for p in pairs] == [(0, 1), (0, 2), (1, 2)]
    for pair in pairs:
        a, b = values[:, :, pair.raters[0]], values[:, :, pair.raters[1]]
        both = ~np.isnan(a) & ~np.isnan(b)
        assert pair.n == both.sum()
        assert pair.kappa == pytest.approx(cohen_kappa_score(a[both], b[both]), abs=1e-12)
        for label in range(4):
            mask = both[:, label]
            expected = cohen_kappa_score(a[mask, label], b[mask, label])
            assert pair.kappa_per_label[label] == pytest.approx(expected, abs=1e-12)


def test_leave_one_out_uses_the_confidence_weighted_others() -> None:
    values = np.array(
        [
            [[1, 1, 0]],  # for rater 0 the others split 1.0 (yes) vs 0.6 (no) -> "yes"
            [[0, 0, 0]],
            [[1, 0, NAN]],  # for rater 0 the only other observer (rater 1) says no
            [[1, 0, 1]],  # for rater 0: others split 0.9 vs 0.3 -> "yes"
            [[1, NAN, NAN]],  # nobody else observed: not compared
        ],
        dtype=float,
    )
    confidence = np.array(
        [[[1.0, 1.0, 0.6]], [[1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0]], [[1.0, 0.3, 0.9]], [[1.0, 1.0, 1.0]]]
    )
    rater0 = ag.leave_one_out_agreement(values, confidence)[0]
    # Rater 0 vs others: item0 yes/yes, item1 no/no, item2 yes/no, item3 yes/yes.
    assert rater0.n == 4 and rater0.n_ties == 0
    assert rater0.percent_agreement == pytest.approx(3 / 4)
    assert rater0.kappa == pytest.approx(cohen_kappa_score([1, 0, 1, 1], [1, 0, 0, 1]))


def test_leave_one_out_skips_exact_ties() -> None:
    values = np.array([[[1, 1, 0]], [[0, 0, 0]]], dtype=float)
    confidence = np.ones_like(values)
    rater0 = ag.leave_one_out_agreement(values, confidence)[0]
    assert rater0.n == 1 and rater0.n_ties == 1  # item 0: raters 1 and 2 split evenly


# ---------------------------------------------------------------------------
# Guideline versions and the report
# ---------------------------------------------------------------------------


def versioned_project() -> dict[str, np.ndarray]:
    """Two labels, three raters, four items; label 1 is introduced in version 2.

    Items 0-1 were annotated under version 1, items 2-3 under version 2. A
    stray answer to label 1 under version 1 must be ignored.
    """
    values = np.array(
        [
            [[1, 1, 0], [1, 0, 1]],  # version 1: label 1 answers are stray
            [[0, 0, 0], [0, 1, 0]],
            [[1, 1, 1], [1, 1, 0]],  # version 2
            [[0, 1, 0], [0, 0, 0]],
        ],
        dtype=float,
    )
    version = np.array([[1, 1, 1], [1, 1, 1], [2, 2, 2], [2, 2, 2]])
    return {
        "values": values,
        "confidence": np.full(values.shape, 0.9),
        "version": version,
        "label_introduced": np.array([1, 2]),
    }


def test_label_not_asked_in_version_1_contributes_nothing() -> None:
    data = versioned_project()
    report = ag.agreement_report(
        data["values"], data["confidence"], data["version"], label_introduced=data["label_introduced"], n_boot=20
    )
    v1, v2 = report["by_version"]
    assert (v1["version"], v2["version"]) == (1, 2)
    label1_v1 = v1["per_label"][1]
    assert label1_v1["asked"] is False
    assert label1_v1["n_units"] == 0
    assert all(label1_v1[k] is None for k in ("kappa", "alpha", "observed_agreement", "kappa_confident"))
    assert label1_v1["kappa_ci"] == [None, None]

    # Version 1's pooled and macro figures are those of label 0 on items 0-1 alone.
    label0_only = data["values"][:2, :1, :]
    assert v1["pooled"]["kappa"] == pytest.approx(ag.pooled_kappa(label0_only)[0])
    assert v1["pooled"]["n_units"] == 2
    assert v1["macro"]["n_labels"] == 1
    assert all(p["n_units"] == 2 for p in v1["cohen_pairs"])
    assert all(n == 0 for p in v1["cohen_pairs"] for n in p["n_units_per_label"][1:])

    # Overall, label 1 only counts its version-2 answers.
    assert report["overall"]["per_label"][1]["n_units"] == 2
    expected = ag.kappa_per_label(data["values"][2:]).kappa[1]
    assert report["overall"]["per_label"][1]["kappa"] == pytest.approx(expected)


def test_version_figures_use_only_that_versions_annotations() -> None:
    values = np.array([[[1, 1, 0]], [[0, 0, 1]], [[1, 1, 1]]], dtype=float)
    version = np.array([[1, 1, 2], [1, 1, 2], [1, 1, 1]])
    report = ag.agreement_report(values, np.ones_like(values), version, n_boot=10)
    v1, v2 = report["by_version"]
    assert v1["per_label"][0]["n_units"] == 3
    assert v1["per_label"][0]["kappa"] == pytest.approx(ag.fleiss_kappa([[0, 2], [2, 0], [0, 3]]))
    assert v2["per_label"][0]["n_units"] == 0, "one version-2 answer per item is never a unit"
    assert v2["per_label"][0]["kappa"] is None


def test_rater_without_annotation_is_ignored_even_with_stray_values() -> None:
    values = np.array([[[1, 1, 0]], [[0, 0, 0]]], dtype=float)
    version = np.array([[1, 1, -1], [1, 1, -1]])
    report = ag.agreement_report(values, np.ones_like(values), version, n_boot=0)
    assert report["overall"]["per_label"][0]["kappa"] == pytest.approx(1.0)
    assert [b["version"] for b in report["by_version"]] == [1]


def test_overall_package_alpha_equals_version_closed_form() -> None:
    """Overall alpha comes from the package, per-version alpha from the closed form; they must agree."""
    rng = np.random.default_rng(10)
    values = random_values(rng, items=300, labels=5, raters=3, observed=0.7)
    report = ag.agreement_report(values, np.ones_like(values), np.ones((300, 3), dtype=int), n_boot=0)
    overall, (only_version,) = report["overall"], report["by_version"]
    for a, b in zip(overall["per_label"], only_version["per_label"], strict=True):
        assert a["alpha"] == pytest.approx(b["alpha"], abs=1e-12)
        assert a["kappa"] == b["kappa"]


def test_adding_a_version_leaves_other_versions_intervals_unchanged() -> None:
    rng = np.random.default_rng(11)
    values = random_values(rng, items=200, labels=3, raters=3, observed=0.8)
    version = np.repeat(rng.integers(1, 3, size=(200, 1)), 3, axis=1)
    one = ag.agreement_report(values, np.ones_like(values), version, versions=[1], n_boot=50)
    both = ag.agreement_report(values, np.ones_like(values), version, versions=[1, 2], n_boot=50)
    assert one["by_version"][0] == both["by_version"][0]


def test_report_is_plain_json_with_counts_everywhere() -> None:
    rng = np.random.default_rng(9)
    values = random_values(rng, items=120, labels=4, raters=3, observed=0.7)
    values[:, 3, :] = NAN  # a label nobody answered
    confidence = rng.uniform(0.3, 1.0, size=values.shape)
    version = rng.integers(1, 3, size=(120, 3))
    report = ag.agreement_report(values, confidence, version, n_boot=50, label_names=["a", "b", "c", "d"])
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text) == report
    for block in [report["overall"], *report["by_version"]]:
        assert [entry["label"] for entry in block["per_label"]] == ["a", "b", "c", "d"]
        assert all("n_units" in entry for entry in block["per_label"])
        assert block["per_label"][3]["kappa"] is None and block["per_label"][3]["n_units"] == 0
        assert "n_units" in block["pooled"] and "n_units" in block["macro"]
        assert all("n_units" in pair for pair in block["cohen_pairs"])
        assert all("n_units" in rater for rater in block["leave_one_out"])


def test_confident_kappa_is_reported_beside_the_plain_one() -> None:
    values = np.array([[[1, 1, 0]], [[0, 0, 0]], [[1, 1, 1]], [[0, 1, 0]]], dtype=float)
    confidence = np.array([[[0.9, 0.9, 0.2]], [[0.9, 0.9, 0.9]], [[0.9, 0.9, 0.9]], [[0.9, 0.5, 0.9]]])
    block = ag.agreement_report(values, confidence, np.ones((4, 3), dtype=int), n_boot=0)["overall"]
    entry = block["per_label"][0]
    assert entry["kappa"] == pytest.approx(ag.kappa_per_label(values).kappa[0])
    sure = np.where(confidence >= 0.8, values, NAN)
    assert entry["kappa_confident"] == pytest.approx(ag.kappa_per_label(sure).kappa[0])
    assert entry["kappa_confident"] == pytest.approx(1.0)
    assert entry["n_units_confident"] == 4


def test_mask_to_version_matches_the_report_scope() -> None:
    data = versioned_project()
    masked = ag.mask_to_version(data["values"], data["version"], only=1, label_introduced=data["label_introduced"])
    assert np.isnan(masked[:, 1, :]).all()
    assert np.isnan(masked[2:]).all()
    np.testing.assert_array_equal(masked[:2, 0, :], data["values"][:2, 0, :])


# ---------------------------------------------------------------------------
# Consensus and the review order
# ---------------------------------------------------------------------------


def test_consensus_targets_weights_and_disputes() -> None:
    values = np.array(
        [
            [[1, 0, NAN], [1, 1, 1], [NAN, NAN, NAN]],
            [[1, 0, 0], [0, NAN, NAN], [1, 0, NAN]],
        ],
        dtype=float,
    )
    confidence = np.array(
        [
            [[0.9, 0.3, 0.5], [1.0, 0.8, 0.6], [0.5, 0.5, 0.5]],
            [[1.0, 0.5, 0.5], [0.4, 0.5, 0.5], [0.6, 0.6, 0.5]],
        ]
    )
    resolution = np.array([[NAN, NAN, NAN], [NAN, NAN, 1.0]])
    result = ag.consensus(values, confidence, resolution)

    # Confidence-weighted mean of the observed answers.
    assert result.targets[0, 0] == pytest.approx(0.9 / (0.9 + 0.3))
    assert result.targets[0, 1] == pytest.approx(1.0)
    assert result.targets[1, 0] == pytest.approx(1.0 / 2.0)
    assert result.targets[1, 1] == pytest.approx(0.0)
    # Unobserved stays NaN with weight 0, never 0 as a target.
    assert np.isnan(result.targets[0, 2]) and result.weights[0, 2] == 0.0
    # A resolution overrides the votes, weighs 1 and settles the dispute.
    assert result.targets[1, 2] == 1.0 and result.weights[1, 2] == 1.0
    assert result.weights[0, 0] == pytest.approx((0.9 + 0.3) / 2)
    assert result.weights[1, 1] == pytest.approx(0.4)
    np.testing.assert_array_equal(result.disputed, [[True, False, False], [True, False, False]])


def test_consensus_resolution_on_unobserved_entry_is_a_target() -> None:
    values = np.full((1, 1, 2), NAN)
    result = ag.consensus(values, np.ones_like(values), np.array([[0.0]]))
    assert result.targets[0, 0] == 0.0 and result.weights[0, 0] == 1.0 and not result.disputed[0, 0]


def test_consensus_validates_its_inputs() -> None:
    values = np.array([[[1, 0]]], dtype=float)
    with pytest.raises(ValueError):
        ag.consensus(values, np.array([[[1.0, NAN]]]), np.array([[NAN]]))
    with pytest.raises(ValueError):
        ag.consensus(np.array([[[2.0, 0.0]]]), np.ones((1, 1, 2)), np.array([[NAN]]))
    with pytest.raises(ValueError):
        ag.consensus(values, np.ones((1, 1, 2)), np.array([[0.5]]))


def test_review_order_most_annotators_then_confident_splits() -> None:
    values = np.array(
        [
            [[1, 0, NAN, NAN]],  # 2 observers, balance 0.9
            [[1, 0, 1, NAN]],  # 3 observers, balance min(0.2 + 0.2, 0.9) = 0.4
            [[1, 0, 0, NAN]],  # 3 observers, balance min(0.9, 0.5 + 0.5) = 0.9
            [[1, 1, 0, 0]],  # 4 observers, balance 0.2
        ],
        dtype=float,
    )
    confidence = np.array(
        [
            [[0.9, 0.9, 1.0, 1.0]],
            [[0.2, 0.9, 0.2, 1.0]],
            [[0.9, 0.5, 0.5, 1.0]],
            [[0.1, 0.1, 0.1, 0.1]],
        ]
    )
    disputed = ag.consensus(values, confidence, np.full((4, 1), NAN)).disputed
    items, labels = ag.review_order(values, confidence, disputed)
    assert items.tolist() == [3, 2, 1, 0]
    assert labels.tolist() == [0, 0, 0, 0]
    assert ag.review_order(values, confidence, disputed, limit=2)[0].tolist() == [3, 2]


def test_values_must_be_zero_one_or_nan() -> None:
    with pytest.raises(ValueError):
        ag.kappa_per_label(np.array([[[0.5, 1.0]]]))
    with pytest.raises(ValueError):
        ag.kappa_per_label(np.zeros((2, 2)))
