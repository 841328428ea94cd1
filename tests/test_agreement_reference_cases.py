"""Published agreement values from tests/fixtures/iaa_cases (the rule in docs/agreement.md: the figures match them).

The tables and their sources are in tests/fixtures/iaa_cases/README.md.
Layouts, read from the CSVs themselves:

- ``*_counts.csv``: one row per subject, first column an id, then one column
  per category holding how many raters chose it.
- ``*_raw_*.csv`` and ``*_missing.csv``: one row per unit, first column an id,
  then one column per rater holding the chosen category; an empty cell is a
  missing rating.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from annotate.stats import agreement as ag

CASES = Path(__file__).resolve().parent / "fixtures" / "iaa_cases"


def read_table(name: str) -> np.ndarray:
    """Read a case CSV without its id column; empty cells become NaN."""
    with (CASES / name).open(newline="") as handle:
        rows = list(csv.reader(handle))
    body = [[float(cell) if cell.strip() else np.nan for cell in row[1:]] for row in rows[1:] if row]
    return np.array(body, dtype=np.float64)


def raw_to_counts(raw: np.ndarray) -> np.ndarray:
    """Turn units x raters ratings (NaN missing) into a units x categories count table."""
    categories = np.unique(raw[~np.isnan(raw)])
    return (raw[:, :, None] == categories[None, None, :]).sum(axis=1)


# ---------------------------------------------------------------------------
# Fleiss' kappa, equal raters
# ---------------------------------------------------------------------------


def test_fleiss_wikipedia_example() -> None:
    counts = read_table("fleiss_wikipedia_10x5_counts.csv")
    assert counts.shape == (10, 5) and (counts.sum(axis=1) == 14).all()
    assert ag.fleiss_kappa(counts) == pytest.approx(0.210, abs=1e-3)


def test_fleiss_1971_diagnoses_counts_and_raw_agree() -> None:
    counts = read_table("fleiss1971_diagnoses_counts_30x5.csv")
    raw = read_table("fleiss1971_diagnoses_raw_30x6.csv")
    np.testing.assert_array_equal(raw_to_counts(raw), counts)
    np.testing.assert_array_equal(counts.sum(axis=0), [26, 26, 30, 55, 43])
    assert ag.fleiss_kappa(counts) == pytest.approx(0.4302445, abs=1e-6)


def test_fleiss_1971_category_kappas_through_the_per_label_path() -> None:
    """Each diagnosis as a yes/no label gives the README's category-wise kappas.

    This drives the product's multi-label path (values shaped items x labels x
    raters) with the classic table. The README lists these values as its own
    recomputation, so they are checked at the three decimals it gives.
    """
    raw = read_table("fleiss1971_diagnoses_raw_30x6.csv")
    values = np.stack([(raw == category).astype(float) for category in range(1, 6)], axis=1)
    kappa = ag.kappa_per_label(values).kappa
    np.testing.assert_allclose(kappa, [0.245, 0.245, 0.520, 0.471, 0.566], atol=1e-3)


def test_fleiss_irrcac_first_15_patients() -> None:
    counts = read_table("gwet_irrcac_distrib6raters_15x5_counts.csv")
    assert counts.shape == (15, 5) and (counts.sum(axis=1) == 6).all()
    assert ag.fleiss_kappa(counts) == pytest.approx(0.4139265, abs=1e-6)


# ---------------------------------------------------------------------------
# Fleiss' kappa, varying raters (Gwet's generalisation)
# ---------------------------------------------------------------------------


def test_fleiss_varying_raters_krippendorff_4x12() -> None:
    raw = read_table("krippendorff2011_4observers_12units_missing.csv")
    counts = raw_to_counts(raw)
    assert counts.sum(axis=1).tolist() == [3, 4, 4, 4, 4, 4, 4, 4, 4, 3, 2, 1]
    assert ag.fleiss_kappa(counts) == pytest.approx(0.7611693, abs=1e-6)


# ---------------------------------------------------------------------------
# Krippendorff's alpha, nominal
# ---------------------------------------------------------------------------


def test_alpha_krippendorff_2011_missing_data() -> None:
    raw = read_table("krippendorff2011_4observers_12units_missing.csv")
    alpha = ag.krippendorff_alpha_nominal(reliability_data=raw.T)  # (raters, units)
    assert alpha == pytest.approx(0.743421, abs=1e-6)
    assert ag.krippendorff_alpha_nominal(value_counts=raw_to_counts(raw)) == pytest.approx(alpha, abs=1e-12)


def test_alpha_wikipedia_3_coders_missing_data() -> None:
    raw = read_table("krippendorff_wikipedia_3coders_15units_missing.csv")
    assert raw.shape == (15, 3) and np.isnan(raw).sum() == 18
    alpha = ag.krippendorff_alpha_nominal(reliability_data=raw.T)
    assert alpha == pytest.approx(0.691358, abs=1e-6)
    assert ag.krippendorff_alpha_nominal(value_counts=raw_to_counts(raw)) == pytest.approx(alpha, abs=1e-12)


def test_alpha_irrcac_counts_table() -> None:
    counts = read_table("gwet_irrcac_distrib6raters_15x5_counts.csv")
    assert ag.krippendorff_alpha_nominal(value_counts=counts) == pytest.approx(0.4204384, abs=1e-6)
