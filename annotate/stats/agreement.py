"""Inter-annotator agreement and consensus as pure functions over numpy arrays.

This module imports no Django. The database layer builds the arrays below and
calls these functions, so the dashboard, the API, the export, the learner, the
tests and the benchmarks all use the same numbers.

Array layout (I items, L labels, R raters)
------------------------------------------
``values``      float (I, L, R). 1.0 = "yes", 0.0 = "no", NaN = unobserved.
``confidence``  float (I, L, R). The confidence in (0, 1] of each observed
                answer. Entries where ``values`` is NaN are ignored.
``version``     int (I, R). The guideline version under which that rater
                annotated the item, or -1 where the rater has no annotation.
``label_introduced`` optional int (L,). The guideline version in which each
                label was introduced. Answers made under an earlier version are
                treated as unobserved, and a version before a label's
                introduction reports no figures for that label.
``resolution``  float (I, L). A reviewer's final value (0 or 1), NaN if none.

Raters are column positions. The caller maps annotators to columns; a column
does not have to be the same person on every item for Fleiss' kappa and
Krippendorff's alpha, but it does for Cohen's kappa and the leave-one-out
figures, which are reported per column.

The rule "unobserved is never negative" (docs/architecture.md) holds throughout: every figure
uses only the entries that are not NaN.

Public functions
----------------
- :func:`fleiss_kappa` on a count table (varying raters, Gwet's form).
- :func:`kappa_per_label`, :func:`pooled_kappa`, :func:`macro_kappa`,
  :func:`krippendorff_alpha_per_label`, :func:`krippendorff_alpha_nominal`,
  :func:`bootstrap_intervals`, :func:`cohen_kappa_pairs`,
  :func:`leave_one_out_agreement`, :func:`mask_to_version`,
  :func:`yes_no_counts`: single figures on a ``values`` array.
- :func:`agreement_report`: every figure, overall and per guideline version,
  as a JSON-ready dict for the dashboard and the API.
- :func:`consensus` and :func:`review_order`: training targets, weights,
  disputed entries and the review queue order.
- :func:`resampled_sums` and :func:`percentile_interval`: the item bootstrap
  itself, for any statistic that is a ratio of sums over items (the model
  page's quality estimate uses them too).

Performance note: the bootstrap is one matrix product per chunk of resamples.
On a machine whose cores are busy, OpenBLAS's own threads spin and can cost
several times the CPU of a single thread, so workers should run with
``OPENBLAS_NUM_THREADS=1`` (the usual setting for multi-process workers).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import krippendorff
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# The per-(item, label) sufficient statistics used for every kappa and alpha.
# Both coefficients are ratios of sums over units, so a bootstrap resample only
# needs a weighted sum of them. Summed statistics are (..., 6, labels) arrays
# with the statistics in this order.
_UNIT, _PAIR_AGREE, _SHARE_YES, _PAIRABLE, _PAIRABLE_YES, _DISAGREE = range(6)
_N_STATS = 6

DEFAULT_CONFIDENT_THRESHOLD = 0.8


# ---------------------------------------------------------------------------
# Fleiss' kappa on a count table
# ---------------------------------------------------------------------------


def fleiss_kappa(counts: npt.ArrayLike) -> float:
    """Fleiss' kappa for a subjects x categories table of rater counts.

    The number of raters may vary per subject. This is Gwet's generalisation
    as implemented in irrCAC ``fleiss.kappa.raw``:

    - ``pa`` is the mean, over subjects with at least two raters, of
      ``sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))``;
    - ``pi_k`` is the mean, over subjects with at least one rater, of
      ``r_ik / r_i``, and ``pe = sum_k pi_k ** 2``;
    - ``kappa = (pa - pe) / (1 - pe)``.

    When every subject has the same number of raters this is the classic
    Fleiss (1971) statistic and equals ``statsmodels.stats.inter_rater.
    fleiss_kappa``.

    Returns NaN when the statistic is undefined: no subject has two raters, or
    every answer falls in one category (``pe == 1``), in which case chance
    agreement is already perfect and kappa is 0 / 0.
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"counts must be 2-D (subjects x categories), got shape {table.shape}")
    if table.size and (np.any(table < 0) or not np.all(np.isfinite(table))):
        raise ValueError("counts must be finite and non-negative")
    raters = table.sum(axis=1)
    rated = raters >= 1
    paired = raters >= 2
    if not paired.any():
        return float("nan")
    r_paired = raters[paired]
    c_paired = table[paired]
    pair_agreement = (c_paired * (c_paired - 1)).sum(axis=1) / (r_paired * (r_paired - 1))
    pa = pair_agreement.mean()
    shares = (table[rated] / raters[rated, None]).mean(axis=0)
    pe = float(np.sum(shares**2))
    return float(_kappa(pa, pe))


def _kappa(pa: Any, pe: Any) -> Any:
    """Return (pa - pe) / (1 - pe), with NaN wherever pe is 1 or either is NaN."""
    pa = np.asarray(pa, dtype=np.float64)
    pe = np.asarray(pe, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(pe < 1.0, (pa - pe) / (1.0 - pe), np.nan)
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------
# Validation, internal layout and masking
# ---------------------------------------------------------------------------


class _Answers(NamedTuple):
    """The answers in rater-major layout, which every computation below uses.

    The public layout (items, labels, raters) puts the short rater axis last,
    so sums over raters would walk memory with a stride. Transposing once to
    (raters, items, labels) makes each rater's slab contiguous, and boolean
    yes/no masks let guideline-version slices be taken with one ``&`` instead
    of copying float arrays full of NaN.
    """

    yes: BoolArray  # (raters, items, labels)
    no: BoolArray  # (raters, items, labels)
    # (raters, items, labels), finite everywhere. Only entries where ``yes``
    # or ``no`` is set are meaningful; every user masks with them, which lets
    # a slice restrict the two boolean arrays and share this one.
    confidence: FloatArray


def _as_values(values: npt.ArrayLike) -> FloatArray:
    """Return ``values`` as a float64 (items, labels, raters) array."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"values must be (items, labels, raters), got shape {arr.shape}")
    return arr


def _answers(
    values: npt.ArrayLike,
    confidence: npt.ArrayLike | None = None,
    *,
    confidence_dtype: type[np.floating[Any]] = np.float64,
) -> _Answers:
    """Validate the public arrays and convert them to the internal layout.

    Values must be 0, 1 or NaN. Every observed answer needs a confidence in
    (0, 1]; without a ``confidence`` array every answer counts as fully
    confident, which only matters for the confidence-aware figures. The
    agreement report keeps confidence in float32, which is ample for answers
    given on a handful of levels and halves the memory it moves.
    """
    arr = _as_values(values)
    rater_major = np.ascontiguousarray(np.moveaxis(arr, 2, 0))
    yes = rater_major == 1.0
    no = rater_major == 0.0
    observed = yes | no
    if not np.array_equal(observed, ~np.isnan(rater_major)):
        raise ValueError("values may only hold 0, 1 or NaN (unobserved)")
    if confidence is None:
        return _Answers(yes=yes, no=no, confidence=observed.astype(confidence_dtype))
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.shape != arr.shape:
        raise ValueError(f"confidence shape {conf.shape} differs from values shape {arr.shape}")
    conf = np.where(observed, np.moveaxis(conf, 2, 0), 0.0)
    if not np.all(((conf > 0.0) & (conf <= 1.0)) | ~observed):
        raise ValueError("every observed answer needs a confidence in (0, 1]")
    return _Answers(yes=yes, no=no, confidence=conf.astype(confidence_dtype, copy=False))


def _restrict(answers: _Answers, keep: BoolArray) -> _Answers:
    """Keep only the answers where ``keep`` (broadcastable to raters x items x labels) is true."""
    return _Answers(yes=answers.yes & keep, no=answers.no & keep, confidence=answers.confidence)


def _take_items(answers: _Answers, rows: npt.NDArray[Any]) -> _Answers:
    """Keep only the given items (an index or boolean array over items)."""
    return _Answers(yes=answers.yes[:, rows], no=answers.no[:, rows], confidence=answers.confidence[:, rows])


def _scope(
    version: npt.ArrayLike,
    shape: tuple[int, int, int],
    *,
    only: int | None,
    label_introduced: npt.ArrayLike | None,
) -> BoolArray:
    """Which answers are in scope, as a (raters, items, labels)-broadcastable mask.

    An answer is out of scope when the rater has no annotation for the item
    (``version == -1``), when ``only`` is given and the annotation was made
    under another guideline version, or when the annotation predates the
    label's introduction. The last rule is the three-state rule of docs/architecture.md: a label added in
    version 3 is unobserved on every annotation made under versions 1 and 2,
    even if stray data says otherwise.
    """
    n_items, n_labels, n_raters = shape
    ver = np.asarray(version)
    if ver.shape != (n_items, n_raters):
        raise ValueError(f"version must be (items, raters) = {(n_items, n_raters)}, got {ver.shape}")
    by_rater = np.ascontiguousarray(ver.T)[:, :, None]
    keep = by_rater >= 0 if only is None else by_rater == only
    if label_introduced is not None:
        intro = np.asarray(label_introduced)
        if intro.shape != (n_labels,):
            raise ValueError(f"label_introduced must be (labels,) = ({n_labels},), got {intro.shape}")
        keep = keep & (by_rater >= intro[None, None, :])
    return keep


def mask_to_version(
    values: npt.ArrayLike,
    version: npt.ArrayLike,
    *,
    only: int | None = None,
    label_introduced: npt.ArrayLike | None = None,
) -> FloatArray:
    """Return a copy of ``values`` (items, labels, raters) with out-of-scope answers set to NaN.

    See :func:`agreement_report` for the scoping rules; this is the same mask
    in the public layout, for callers that want to compute single figures.
    """
    arr = _as_values(values)
    keep = _scope(version, arr.shape, only=only, label_introduced=label_introduced)
    return np.where(np.moveaxis(keep, 0, 2), arr, np.nan)


# ---------------------------------------------------------------------------
# Per-(item, label) counts and sufficient statistics
# ---------------------------------------------------------------------------


def _counts(answers: _Answers) -> tuple[IntArray, IntArray]:
    """(n_yes, n_no), each (items, labels): how many raters said yes / no."""
    n_yes = np.add.reduce(answers.yes, axis=0, dtype=np.int64)
    n_no = np.add.reduce(answers.no, axis=0, dtype=np.int64)
    return n_yes, n_no


def yes_no_counts(values: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Return (n_yes, n_no), each (items, labels): how many raters said yes / no."""
    return _counts(_answers(values))


class _Patterns(NamedTuple):
    """Each (item, label) as the index of its (n_yes, n_no) pair, plus the statistics of every pair.

    Every statistic of a unit depends only on how many raters said yes and
    how many said no, and with R raters there are only (R + 1) ** 2 such
    pairs. Working with pair indices avoids materialising a float array of
    six statistics per (item, label), which at 100k items is 134 MB.
    """

    pair_index: IntArray  # (items, labels): n_yes * (max_observers + 1) + n_no
    table: FloatArray  # (6, (max_observers + 1) ** 2)
    max_observers: int


def _patterns(n_yes: IntArray, n_no: IntArray) -> _Patterns:
    """Index every (item, label) by its answer counts and tabulate the statistics.

    Only units (two or more observers) get non-zero statistics, because the
    docs/agreement.md defines the units of a label as the items at least two annotators
    observed. An item seen by one annotator says nothing about agreement, and
    leaving it out of the category shares as well keeps ``n_units`` an honest
    count of what every number is based on.
    """
    max_observers = int((n_yes + n_no).max(initial=0))
    size = max_observers + 1
    y, no = np.divmod(np.arange(size * size, dtype=np.float64), size)
    n = y + no
    # Pairs with more answers than raters cannot occur; zeroing them keeps
    # the table's denominators within 2..max_observers.
    unit = (n >= 2) & (n <= max_observers)
    # Non-units get a denominator of 2 so they produce finite zeros, not NaN.
    safe_n = np.where(unit, n, 2.0)
    disagree = np.where(unit, y * no, 0.0) / (safe_n - 1.0)
    table = np.empty((_N_STATS, size * size))
    table[_UNIT] = unit
    table[_PAIRABLE] = np.where(unit, n, 0.0)
    table[_PAIRABLE_YES] = np.where(unit, y, 0.0)
    table[_DISAGREE] = disagree
    # Pairwise agreement is one minus the share of disagreeing ordered pairs.
    table[_PAIR_AGREE] = table[_UNIT] - 2.0 * disagree / safe_n
    table[_SHARE_YES] = table[_PAIRABLE_YES] / safe_n
    return _Patterns(pair_index=n_yes * size + n_no, table=table, max_observers=max_observers)


def _label_sums(patterns: _Patterns) -> FloatArray:
    """Summed statistics per label, (6, labels): the table times a histogram of pairs."""
    n_pairs = patterns.table.shape[1]
    n_labels = patterns.pair_index.shape[1]
    offsets = n_pairs * np.arange(n_labels)
    histogram = np.bincount((patterns.pair_index + offsets).ravel(), minlength=n_pairs * n_labels)
    return patterns.table @ histogram.reshape(n_labels, n_pairs).T.astype(np.float64)


def _counts_sums(values: npt.ArrayLike) -> FloatArray:
    """Summed statistics per label straight from a public ``values`` array."""
    return _label_sums(_patterns(*yes_no_counts(values)))


def _stat(sums: FloatArray, index: int) -> FloatArray:
    """One summed statistic from an array shaped (..., 6, labels)."""
    return sums[..., index, :]


def _pooled(sums: FloatArray) -> FloatArray:
    """Sum over labels, keeping a labels axis of length 1 so ``_stat`` still applies.

    Pooling is exact because the pooled kappa's units are (item, label) pairs,
    whose statistics are simply the sums of the per-label ones.
    """
    pooled: FloatArray = sums.sum(axis=-1, keepdims=True)
    return pooled


def _kappa_from_sums(sums: FloatArray) -> FloatArray:
    """Fleiss' kappa (Gwet's form) from summed sufficient statistics (..., 6, labels)."""
    n_units = _stat(sums, _UNIT)
    with np.errstate(divide="ignore", invalid="ignore"):
        pa = _stat(sums, _PAIR_AGREE) / n_units
        pi_yes = _stat(sums, _SHARE_YES) / n_units
    pe = pi_yes**2 + (1.0 - pi_yes) ** 2
    return np.asarray(_kappa(pa, pe))


def _observed_agreement_from_sums(sums: FloatArray) -> FloatArray:
    """Mean pairwise agreement ``pa`` over units, NaN where there are no units."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(_stat(sums, _PAIR_AGREE) / _stat(sums, _UNIT))


def _alpha_from_sums(sums: FloatArray) -> FloatArray:
    """Nominal Krippendorff's alpha for two categories from summed statistics.

    With values yes/no the coincidence matrix has one off-diagonal cell,
    ``o_yn = sum_u n1 n0 / (m_u - 1)``, and the expected disagreement is
    ``2 n_y n_n / (n - 1)``, so ``alpha = 1 - (n - 1) o_yn / (n_y n_n)``.
    The tests check this against the ``krippendorff`` package. It is NaN when
    only one category occurs, where the package divides 0 by 0.
    """
    n = _stat(sums, _PAIRABLE)
    n_y = _stat(sums, _PAIRABLE_YES)
    n_n = n - n_y
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * _stat(sums, _DISAGREE) / (n_y * n_n)
    return np.where((n_y > 0) & (n_n > 0), alpha, np.nan)


# ---------------------------------------------------------------------------
# Per-label and pooled Fleiss' kappa, Krippendorff's alpha
# ---------------------------------------------------------------------------


class LabelKappa(NamedTuple):
    """Per-label Fleiss' kappa with the observed agreement and unit count."""

    kappa: FloatArray  # (labels,), NaN where undefined
    observed_agreement: FloatArray  # (labels,), NaN where there are no units
    n_units: IntArray  # (labels,)


def kappa_per_label(values: npt.ArrayLike) -> LabelKappa:
    """Fleiss' kappa per label over the items at least two raters observed.

    Categories are yes and no; unobserved answers are absent, never "no".
    """
    sums = _counts_sums(values)
    return LabelKappa(
        kappa=_kappa_from_sums(sums),
        observed_agreement=_observed_agreement_from_sums(sums),
        n_units=_stat(sums, _UNIT).astype(np.int64),
    )


def pooled_kappa(values: npt.ArrayLike) -> tuple[float, int]:
    """Fleiss' kappa over all labels at once, with (item, label) pairs as units.

    Returns (kappa, n_units).
    """
    sums = _pooled(_counts_sums(values))
    return float(_kappa_from_sums(sums)[0]), int(_stat(sums, _UNIT)[0])


def macro_kappa(per_label: npt.ArrayLike) -> float:
    """Mean of the defined per-label kappas; NaN if none is defined."""
    arr = np.asarray(per_label, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    return float(finite.mean()) if finite.size else float("nan")


def krippendorff_alpha_per_label(
    values: npt.ArrayLike, *, method: Literal["package", "closed_form"] = "package"
) -> tuple[FloatArray, IntArray]:
    """Nominal Krippendorff's alpha per label. Returns (alpha, n_units).

    ``method="package"`` calls ``krippendorff.alpha`` once per label. It is fed
    the value-counts form (units x [no, yes]), which is the same statistic as
    ``reliability_data`` shaped (raters, units) with NaN for missing but never
    builds a (raters x units x values) array, so it stays fast on 100k items.
    ``method="closed_form"`` uses the two-category formula of
    :func:`_alpha_from_sums`, which the bootstrap needs; the tests check both
    agree. Units with fewer than two answers carry no pairable values and are
    left out. Alpha is NaN where undefined (no units, or one category only).
    """
    n_yes, n_no = yes_no_counts(values)
    if method == "package":
        return _package_alpha(n_yes, n_no)
    if method == "closed_form":
        sums = _label_sums(_patterns(n_yes, n_no))
        return _alpha_from_sums(sums), _stat(sums, _UNIT).astype(np.int64)
    raise ValueError(f"unknown method {method!r}")


def krippendorff_alpha_nominal(
    *, reliability_data: npt.ArrayLike | None = None, value_counts: npt.ArrayLike | None = None
) -> float:
    """Nominal Krippendorff's alpha through the ``krippendorff`` package, NaN where undefined.

    Pass exactly one of ``reliability_data`` (raters x units, NaN for missing)
    or ``value_counts`` (units x values). The package's default level is
    interval, so this wrapper fixes ``level_of_measurement="nominal"``. It
    raises on data without a pairable unit and divides 0 by 0 when only one
    value occurs; both cases return NaN here, so callers can show "not enough
    data" instead of catching errors.
    """
    if (reliability_data is None) == (value_counts is None):
        raise ValueError("pass exactly one of reliability_data or value_counts")
    if value_counts is None:
        data = np.asarray(reliability_data, dtype=np.float64)
        domain = np.unique(data[~np.isnan(data)])
        table = (data.T[:, :, None] == domain[None, None, :]).sum(axis=1)
    else:
        table = np.asarray(value_counts)
    pairable = table[table.sum(axis=1) >= 2]
    if pairable.shape[0] == 0 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return float("nan")
    return float(krippendorff.alpha(value_counts=pairable, level_of_measurement="nominal"))


def _package_alpha(n_yes: IntArray, n_no: IntArray) -> tuple[FloatArray, IntArray]:
    """Call ``krippendorff.alpha`` once per label on its value-counts table."""
    n_labels = n_yes.shape[1]
    alpha = np.full(n_labels, np.nan)
    n_units = np.zeros(n_labels, dtype=np.int64)
    # Label-major copies make each label's column contiguous.
    yes_by_label = np.ascontiguousarray(n_yes.T)
    no_by_label = np.ascontiguousarray(n_no.T)
    for label in range(n_labels):
        unit = (yes_by_label[label] + no_by_label[label]) >= 2
        n_units[label] = int(unit.sum())
        table = np.column_stack([no_by_label[label][unit], yes_by_label[label][unit]])
        alpha[label] = krippendorff_alpha_nominal(value_counts=table)
    return alpha, n_units


# ---------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------


class BootstrapIntervals(NamedTuple):
    """Percentile intervals; each row is (low, high), NaN where undefined."""

    kappa: FloatArray  # (labels, 2)
    alpha: FloatArray  # (labels, 2)
    pooled_kappa: FloatArray  # (2,)
    macro_kappa: FloatArray  # (2,)


def bootstrap_intervals(
    values: npt.ArrayLike,
    *,
    n_boot: int = 200,
    seed: int | Sequence[int] = 0,
    level: float = 0.95,
) -> BootstrapIntervals:
    """Bootstrap percentile intervals for per-label, pooled and macro kappa and per-label alpha.

    Items are resampled with replacement, so all labels of an item stay
    together and the dependence between labels is kept. Only items that are a
    unit for at least one label are resampled, because the others add nothing
    to any statistic. The same ``seed`` gives the same intervals.
    """
    return _bootstrap(_patterns(*yes_no_counts(values)), n_boot=n_boot, seed=seed, level=level)


def _bootstrap(
    patterns: _Patterns,
    *,
    n_boot: int,
    seed: int | Sequence[int],
    level: float,
    chunk: int = 25,
) -> BootstrapIntervals:
    """Resample items via a count matrix and one matrix product per chunk.

    A resample is represented by how often each item was drawn, so the summed
    statistics of all resamples are ``draw_counts @ item_statistics``. This
    replaces a loop over resamples and labels with a BLAS call; chunks bound
    the memory of the count matrix to ``chunk x items`` floats.
    """
    n_labels = patterns.pair_index.shape[1]
    useful = (patterns.table[_UNIT][patterns.pair_index] > 0).any(axis=1)
    if n_boot <= 0 or not useful.any():
        nan_pair = np.full(2, np.nan)
        return BootstrapIntervals(
            kappa=np.full((n_labels, 2), np.nan),
            alpha=np.full((n_labels, 2), np.nan),
            pooled_kappa=nan_pair,
            macro_kappa=nan_pair.copy(),
        )
    index = patterns.pair_index[useful]
    n_items = index.shape[0]
    table, scale = _exact_table(patterns.table, patterns.max_observers, n_items)
    # One row of (labels x 6) statistics per item; a single wide product is
    # several times faster than a stack of narrow ones.
    matrix = table.T[index].reshape(n_items, n_labels * _N_STATS)
    boot_sums = resampled_sums(matrix, n_boot=n_boot, seed=seed, chunk=chunk)
    # Back to the (..., 6, labels) layout the formulas read.
    sums = np.swapaxes(boot_sums.reshape(n_boot, n_labels, _N_STATS), 1, 2) / scale

    per_label_kappa = _kappa_from_sums(sums)
    with warnings.catch_warnings():
        # A resample in which no label is defined yields an all-NaN row; that
        # resample simply carries no macro value.
        warnings.simplefilter("ignore", RuntimeWarning)
        macro = np.nanmean(per_label_kappa, axis=1)
    return BootstrapIntervals(
        kappa=percentile_interval(per_label_kappa, level),
        alpha=percentile_interval(_alpha_from_sums(sums), level),
        pooled_kappa=percentile_interval(_kappa_from_sums(_pooled(sums))[:, 0], level),
        macro_kappa=percentile_interval(macro, level),
    )


def resampled_sums(
    matrix: npt.NDArray[np.floating[Any]],
    *,
    n_boot: int,
    seed: int | Sequence[int],
    chunk: int = 25,
) -> FloatArray:
    """The column sums of ``matrix`` (items x statistics) over ``n_boot`` resamples of its rows, (n_boot, statistics).

    Rows are drawn with replacement, so a statistic that is a ratio of sums
    over items (kappa here, precision and recall on the model page) is
    recomputed per resample from these sums. A resample is represented by how
    often each item was drawn, so all resamples of a chunk are one product
    ``draw_counts @ matrix``; chunks bound the memory of the count matrix to
    ``chunk x items``. The same ``seed`` gives the same sums.
    """
    n_items = matrix.shape[0]
    rng = np.random.default_rng(seed)
    sums = np.empty((n_boot, matrix.shape[1]))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        # Offsetting each resample's draws by its row lets one bincount build
        # the whole (size x items) matrix of draw counts.
        draws = rng.integers(0, n_items, size=(size, n_items))
        draws += (np.arange(size) * n_items)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n_items).reshape(size, n_items)
        sums[start : start + size] = counts.astype(matrix.dtype) @ matrix
    return sums


def _exact_table(table: FloatArray, max_observers: int, n_draws: int) -> tuple[npt.NDArray[np.floating[Any]], float]:
    """Return the statistics table in the cheapest dtype that keeps the bootstrap exact.

    Every statistic is a multiple of 1 / (n (n - 1)) for some observer count
    n <= max_observers, so multiplying by the least common multiple of those
    denominators makes every entry an integer. A resample sums ``n_draws``
    rows, and float32 adds integers exactly while every partial sum stays
    below 2 ** 24, so in that case the product runs in float32 (about twice
    as fast) with no rounding at all. Otherwise it stays in float64. Returns
    the table and the scale to divide the sums by.
    """
    scale = float(math.lcm(*(n * (n - 1) for n in range(2, max(max_observers, 2) + 1))))
    raw = table * scale
    scaled = np.rint(raw)
    # The entries are integers up to float64 rounding of fractions like 1/3.
    integral = bool(np.all(np.abs(raw - scaled) < 1e-6))
    if integral and scaled.max(initial=0.0) * n_draws < 2**24:
        return scaled.astype(np.float32), scale
    return table, 1.0


def percentile_interval(samples: FloatArray, level: float) -> FloatArray:
    """Percentile interval over axis 0 ignoring NaN resamples; shape (..., 2)."""
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings():
        # Labels with no defined resample produce all-NaN columns; their
        # interval is NaN, which is the honest answer.
        warnings.simplefilter("ignore", RuntimeWarning)
        bounds = np.nanpercentile(samples, [tail, 100.0 - tail], axis=0)
    return np.moveaxis(bounds, 0, -1)


# ---------------------------------------------------------------------------
# Cohen's kappa per rater pair and leave-one-out agreement
# ---------------------------------------------------------------------------


def _cohen_from_table(n11: Any, n10: Any, n01: Any, n00: Any) -> tuple[Any, Any]:
    """Cohen's kappa and percent agreement from (vectorised) 2x2 tables.

    ``n10`` counts entries where the first rater said yes and the second no.
    Returns NaN where the table is empty or both raters used one category
    only (chance agreement 1), matching scikit-learn's 0 / 0 case.
    """
    n11, n10, n01, n00 = (np.asarray(x, dtype=np.float64) for x in (n11, n10, n01, n00))
    n = n11 + n10 + n01 + n00
    with np.errstate(divide="ignore", invalid="ignore"):
        po = (n11 + n00) / n
        pe = ((n11 + n10) * (n11 + n01) + (n01 + n00) * (n10 + n00)) / (n * n)
    return _kappa(po, pe), po


class PairKappa(NamedTuple):
    """Cohen's kappa for one pair of rater columns."""

    raters: tuple[int, int]
    kappa: float  # over every (item, label) both observed
    percent_agreement: float
    n: int
    kappa_per_label: FloatArray  # (labels,)
    n_per_label: IntArray  # (labels,)


def cohen_kappa_pairs(values: npt.ArrayLike) -> list[PairKappa]:
    """Cohen's kappa for each pair of rater columns on the entries both observed."""
    return _cohen_pairs(_answers(values))


def _cohen_pairs(answers: _Answers) -> list[PairKappa]:
    """Cohen's kappa per rater pair, per label and over all labels."""
    yes, no = answers.yes, answers.no
    results: list[PairKappa] = []
    n_raters = yes.shape[0]
    for a in range(n_raters):
        for b in range(a + 1, n_raters):
            # Each cell counts, per label, the items with that pair of answers.
            n11 = (yes[a] & yes[b]).sum(axis=0)
            n10 = (yes[a] & no[b]).sum(axis=0)
            n01 = (no[a] & yes[b]).sum(axis=0)
            n00 = (no[a] & no[b]).sum(axis=0)
            k_label, _ = _cohen_from_table(n11, n10, n01, n00)
            k_all, po_all = _cohen_from_table(n11.sum(), n10.sum(), n01.sum(), n00.sum())
            n_label = (n11 + n10 + n01 + n00).astype(np.int64)
            results.append(
                PairKappa(
                    raters=(a, b),
                    kappa=float(k_all),
                    percent_agreement=float(po_all),
                    n=int(n_label.sum()),
                    kappa_per_label=np.asarray(k_label, dtype=np.float64),
                    n_per_label=n_label,
                )
            )
    return results


class RaterAgreement(NamedTuple):
    """One rater column's agreement with the consensus of the other columns."""

    rater: int
    percent_agreement: float
    kappa: float
    n: int  # entries compared
    n_ties: int  # entries skipped because the others were split exactly evenly


def leave_one_out_agreement(values: npt.ArrayLike, confidence: npt.ArrayLike) -> list[RaterAgreement]:
    """Each rater's agreement with the confidence-weighted consensus of the others.

    For every entry the rater observed and at least one other rater observed,
    the others' consensus is their confidence-weighted mean thresholded at 0.5
    (the same rule as :func:`consensus`, without reviewer resolutions, since
    this measures annotators against each other). An exact 0.5 is a tie with
    no consensus, so that entry is skipped and counted in ``n_ties``.
    """
    return _leave_one_out(_answers(values, confidence))


def _leave_one_out(answers: _Answers) -> list[RaterAgreement]:
    """Leave-one-out agreement on the internal layout, one result per rater column."""
    n_raters, n_items = answers.yes.shape[:2]
    column = np.broadcast_to(np.arange(n_raters)[:, None], (n_raters, n_items))
    n11, n10, n01, n00, ties = _leave_one_out_tables(answers, column, n_raters)
    kappa, po = _cohen_from_table(n11, n10, n01, n00)
    return [
        RaterAgreement(
            rater=r,
            percent_agreement=float(po[r]),
            kappa=float(kappa[r]),
            n=int(n11[r] + n10[r] + n01[r] + n00[r]),
            n_ties=int(ties[r]),
        )
        for r in range(n_raters)
    ]


def _leave_one_out_tables(
    answers: _Answers, person: npt.NDArray[np.intp], n_people: int
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Each person's 2x2 table against the others' consensus, and their ties: (n11, n10, n01, n00, ties).

    ``person`` is (raters, items): who sits in each rater column of each item
    (a column is a slot, not a person). Vectorised over all answers at once:
    for every observed answer, the other answers on the same (item, label)
    give a consensus, their confidence-weighted mean of "yes" thresholded at
    0.5. Answers with no other answer are skipped; an exact 0.5 is a tie and
    is counted apart. Each compared answer adds one cell to its person's
    table, so someone who is slot 0 on one item and slot 2 on another is one
    row.
    """
    observed = answers.yes | answers.no
    weight = np.where(observed, answers.confidence, 0.0)
    weighted_yes = np.where(answers.yes, answers.confidence, 0.0)
    # Removing one answer from the totals costs O(raters) overall, where
    # re-summing the others for every answer would cost O(raters ** 2).
    others_weight = weight.sum(axis=0, keepdims=True) - weight
    margin = 2.0 * (weighted_yes.sum(axis=0, keepdims=True) - weighted_yes) - others_weight
    has_others = observed & (np.add.reduce(observed, axis=0, keepdims=True, dtype=np.int64) >= 2)
    # The subtraction leaves rounding error, so a tie is a margin within a
    # few units in the last place of the others' weight.
    decided = has_others & (np.abs(margin) > 16 * np.finfo(weight.dtype).eps * others_weight)
    others_yes = margin > 0
    who = np.broadcast_to(np.asarray(person)[:, :, None], observed.shape)

    def count(mask: BoolArray) -> IntArray:
        return np.bincount(who[mask], minlength=n_people)

    yes = answers.yes
    return (
        count(decided & yes & others_yes),
        count(decided & yes & ~others_yes),
        count(decided & ~yes & others_yes),
        count(decided & ~yes & ~others_yes),
        count(has_others & ~decided),
    )


def leave_one_out_by_person(
    values: npt.ArrayLike, confidence: npt.ArrayLike, rater_ids: npt.NDArray[np.int64]
) -> dict[int, dict[str, Any]]:
    """Each person's agreement with the confidence-weighted consensus of the others, keyed by user id.

    ``rater_ids`` is (items, slots): the person in each slot, -1 where empty.
    The rule is that of :func:`leave_one_out_agreement`; the tables are
    summed by person instead of by slot.
    """
    people, person_index = np.unique(rater_ids, return_inverse=True)
    person = person_index.reshape(rater_ids.shape).T
    n11, n10, n01, n00, ties = _leave_one_out_tables(_answers(values, confidence), person, len(people))
    kappa, po = _cohen_from_table(n11, n10, n01, n00)
    return {
        int(user_id): {
            "percent_agreement": _num(po[index]),
            "kappa": _num(kappa[index]),
            "n_units": int(n11[index] + n10[index] + n01[index] + n00[index]),
            "n_ties": int(ties[index]),
        }
        for index, user_id in enumerate(people.tolist())
        if user_id >= 0
    }


def cohen_by_person_pair(values: npt.NDArray[np.float64], rater_ids: npt.NDArray[np.int64]) -> list[dict[str, Any]]:
    """Cohen's kappa for every pair of people, on the (item, label) entries both answered.

    Each pair of slots on an item is a pair of people; the lower user id is
    the first rater of the pair's 2x2 table whichever slot they sat in, and
    the tables of all slot pairs are summed with one bincount per cell.
    """
    people = np.unique(rater_ids[rater_ids >= 0])
    size = len(people)
    if size < 2:
        return []
    index = np.searchsorted(people, np.where(rater_ids >= 0, rater_ids, people[0]))
    cells = np.zeros((4, size * size), dtype=np.int64)
    n_slots = values.shape[2]
    for a in range(n_slots):
        for b in range(a + 1, n_slots):
            va, vb = values[:, :, a], values[:, :, b]
            both = ~np.isnan(va) & ~np.isnan(vb)
            swap = (index[:, a] > index[:, b])[:, None]
            first_yes = np.where(swap, vb, va) == 1.0
            second_yes = np.where(swap, va, vb) == 1.0
            low = np.minimum(index[:, a], index[:, b])[:, None]
            high = np.maximum(index[:, a], index[:, b])[:, None]
            pair = np.broadcast_to(low * size + high, both.shape)
            for cell, mask in enumerate(
                (first_yes & second_yes, first_yes & ~second_yes, ~first_yes & second_yes, ~first_yes & ~second_yes)
            ):
                cells[cell] += np.bincount(pair[both & mask], minlength=size * size)
    kappa, po = _cohen_from_table(*cells)
    totals = cells.sum(axis=0)
    return [
        {
            "annotators": [int(people[code // size]), int(people[code % size])],
            "kappa": _num(kappa[code]),
            "percent_agreement": _num(po[code]),
            "n_units": int(totals[code]),
        }
        for code in np.flatnonzero(totals).tolist()
    ]


# ---------------------------------------------------------------------------
# Consensus, training targets and the review order
# ---------------------------------------------------------------------------


class Consensus(NamedTuple):
    """Training targets shared by the learner and the export."""

    targets: FloatArray  # (items, labels) in [0, 1], NaN where unobserved
    weights: FloatArray  # (items, labels) in [0, 1], 0 where unobserved
    disputed: BoolArray  # (items, labels)


def consensus(values: npt.ArrayLike, confidence: npt.ArrayLike, resolution: npt.ArrayLike) -> Consensus:
    """Training targets, their weights and the disputed mask (docs/agreement.md, "Consensus").

    Target: the reviewer's resolution if there is one; otherwise the
    confidence-weighted mean of the observed answers (a soft target in
    [0, 1]); otherwise NaN, which the learner masks out of the loss and the
    export writes as null.

    Weight: 1.0 for a resolution, because a reviewer's decision is final;
    otherwise the mean confidence of the annotators who answered, so a guess
    counts less than a sure answer; 0.0 where unobserved. Disagreement is not
    folded into the weight because it already shows in the soft target.

    Disputed: at least one annotator said yes, at least one said no, and no
    reviewer has resolved the entry yet. A resolved entry is settled, so it
    leaves the review queue even though the votes still differ.
    """
    answers = _answers(values, confidence)
    res = np.asarray(resolution, dtype=np.float64)
    if res.shape != answers.yes.shape[1:]:
        raise ValueError(f"resolution must be (items, labels) = {answers.yes.shape[1:]}, got {res.shape}")
    if not np.all((res == 0.0) | (res == 1.0) | np.isnan(res)):
        raise ValueError("resolution may only hold 0, 1 or NaN (unresolved)")

    n_yes, n_no = _counts(answers)
    n_observed = n_yes + n_no
    seen = n_observed > 0
    total_weight = np.where(answers.yes | answers.no, answers.confidence, 0.0).sum(axis=0)
    yes_weight = np.where(answers.yes, answers.confidence, 0.0).sum(axis=0)
    # Unseen entries divide by 1 instead of 0; their result is replaced below.
    voted = yes_weight / np.where(seen, total_weight, 1.0)
    mean_confidence = total_weight / np.maximum(n_observed, 1)
    resolved = ~np.isnan(res)
    targets = np.where(resolved, res, np.where(seen, voted, np.nan))
    weights = np.where(resolved, 1.0, mean_confidence)
    disputed = (n_yes > 0) & (n_no > 0) & ~resolved
    return Consensus(targets=targets, weights=weights, disputed=disputed)


def review_order(
    values: npt.ArrayLike,
    confidence: npt.ArrayLike,
    disputed: npt.ArrayLike,
    *,
    limit: int | None = None,
) -> tuple[IntArray, IntArray]:
    """Order the disputed entries for the review queue.

    Entries with the most annotators come first, because more people have
    spent time on them and a resolution settles more votes. Among those, the
    highest ``min(sum of confidence on the yes side, sum on the no side)``
    comes first: a confident split is a real disagreement (often a guideline
    problem), while a split with one unsure voter is nearly settled. Item and
    label index break the remaining ties so the order is stable.

    Returns (item_index, label_index) arrays, at most ``limit`` long.
    """
    arr = _as_values(values)
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.shape != arr.shape:
        raise ValueError(f"confidence shape {conf.shape} differs from values shape {arr.shape}")
    mask = np.asarray(disputed, dtype=bool)
    if mask.shape != arr.shape[:2]:
        raise ValueError(f"disputed must be (items, labels) = {arr.shape[:2]}, got {mask.shape}")
    items, labels = np.nonzero(mask)
    # Only the disputed entries are gathered; in this layout each one's
    # raters are contiguous, so the gather is cheap.
    sub_values = arr[items, labels]
    sub_conf = conf[items, labels]
    n_observed = np.count_nonzero(~np.isnan(sub_values), axis=1)
    yes_conf = np.where(sub_values == 1.0, sub_conf, 0.0).sum(axis=1)
    no_conf = np.where(sub_values == 0.0, sub_conf, 0.0).sum(axis=1)
    balance = np.minimum(yes_conf, no_conf)
    # np.lexsort sorts by the last key first, so the primary key goes last.
    order = np.lexsort((labels, items, -balance, -n_observed))
    if limit is not None:
        order = order[:limit]
    return items[order].astype(np.int64), labels[order].astype(np.int64)


# ---------------------------------------------------------------------------
# All figures for a project
# ---------------------------------------------------------------------------


def _num(x: Any) -> float | None:
    """A JSON-safe float: None for NaN or infinity."""
    x = float(x)
    return x if np.isfinite(x) else None


def _interval(pair: FloatArray) -> list[float | None]:
    """A JSON-safe [low, high] interval."""
    return [_num(pair[0]), _num(pair[1])]


def _figures(
    answers: _Answers,
    *,
    scope: BoolArray,
    asked: BoolArray,
    n_boot: int,
    seed: int | Sequence[int],
    level: float,
    confident_threshold: float,
    label_names: Sequence[str],
    rater_names: Sequence[str],
    alpha_from_package: bool,
) -> dict[str, Any]:
    """Every agreement figure for one slice of the answers, as a JSON-ready dict.

    Only answers inside ``scope`` (see :func:`_scope`) count. Labels not in
    ``asked`` report None everywhere and contribute nothing to the pooled,
    macro, pairwise and leave-one-out figures.
    """
    answers = _restrict(answers, scope & asked[None, None, :])
    # Items without two observers on any label add nothing to any figure
    # below, so dropping them first makes per-version slices cheap.
    n_yes, n_no = _counts(answers)
    relevant: BoolArray = np.asarray(((n_yes + n_no) >= 2).any(axis=1))
    answers = _take_items(answers, relevant)
    n_yes, n_no = n_yes[relevant], n_no[relevant]

    patterns = _patterns(n_yes, n_no)
    sums = _label_sums(patterns)
    pooled_sums = _pooled(sums)
    kappa = _kappa_from_sums(sums)
    observed_agreement = _observed_agreement_from_sums(sums)
    n_units = _stat(sums, _UNIT).astype(np.int64)
    alpha = _package_alpha(n_yes, n_no)[0] if alpha_from_package else _alpha_from_sums(sums)
    boot = _bootstrap(patterns, n_boot=n_boot, seed=seed, level=level)

    sure = answers.confidence >= confident_threshold
    sure_sums = _label_sums(_patterns(*_counts(_restrict(answers, sure))))
    sure_kappa = _kappa_from_sums(sure_sums)
    sure_pooled = _pooled(sure_sums)

    per_label = [
        {
            "label": label_names[i],
            "asked": bool(asked[i]),
            "kappa": _num(kappa[i]),
            "kappa_ci": _interval(boot.kappa[i]),
            "observed_agreement": _num(observed_agreement[i]),
            "alpha": _num(alpha[i]),
            "alpha_ci": _interval(boot.alpha[i]),
            "n_units": int(n_units[i]),
            "kappa_confident": _num(sure_kappa[i]),
            "n_units_confident": int(_stat(sure_sums, _UNIT)[i]),
        }
        for i in range(len(label_names))
    ]
    defined = np.isfinite(kappa)
    return {
        "per_label": per_label,
        "pooled": {
            "kappa": _num(_kappa_from_sums(pooled_sums)[0]),
            "kappa_ci": _interval(boot.pooled_kappa),
            "observed_agreement": _num(_observed_agreement_from_sums(pooled_sums)[0]),
            "alpha": _num(_alpha_from_sums(pooled_sums)[0]),
            "n_units": int(_stat(pooled_sums, _UNIT)[0]),
            "kappa_confident": _num(_kappa_from_sums(sure_pooled)[0]),
            "n_units_confident": int(_stat(sure_pooled, _UNIT)[0]),
        },
        "macro": {
            "kappa": _num(macro_kappa(kappa)),
            "kappa_ci": _interval(boot.macro_kappa),
            "n_labels": int(defined.sum()),
            "n_units": int(n_units[defined].sum()),
        },
        "cohen_pairs": [
            {
                "raters": [rater_names[p.raters[0]], rater_names[p.raters[1]]],
                "kappa": _num(p.kappa),
                "percent_agreement": _num(p.percent_agreement),
                "n_units": p.n,
                "kappa_per_label": [_num(k) for k in p.kappa_per_label],
                "n_units_per_label": [int(n) for n in p.n_per_label],
            }
            for p in _cohen_pairs(answers)
        ],
        "leave_one_out": [
            {
                "rater": rater_names[a.rater],
                "percent_agreement": _num(a.percent_agreement),
                "kappa": _num(a.kappa),
                "n_units": a.n,
                "n_ties": a.n_ties,
            }
            for a in _leave_one_out(answers)
        ],
        "n_items": int(relevant.sum()),
    }


def agreement_report(
    values: npt.ArrayLike,
    confidence: npt.ArrayLike,
    version: npt.ArrayLike,
    *,
    label_introduced: npt.ArrayLike | None = None,
    versions: Sequence[int] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    confident_threshold: float = DEFAULT_CONFIDENT_THRESHOLD,
    label_names: Sequence[str] | None = None,
    rater_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """All agreement figures for a project: overall and per guideline version.

    Returns a dict of plain lists, ints, floats, strings, bools and None (for
    undefined numbers), ready for ``json.dumps``::

        {"overall": F, "by_version": [{"version": v, **F}, ...],
         "n_boot": ..., "level": ..., "seed": ..., "confident_threshold": ...}

    where each ``F`` has ``per_label`` (one dict per label: kappa, kappa_ci,
    observed_agreement, alpha, alpha_ci, n_units, kappa_confident,
    n_units_confident, asked), ``pooled``, ``macro``, ``cohen_pairs``,
    ``leave_one_out`` and ``n_items``. Every figure carries the count it is
    based on (``n_units``), so a page can say "not enough data".

    The overall per-label alpha comes from the ``krippendorff`` package; the
    per-version alphas and all intervals use the equivalent closed form for
    two categories (see :func:`_alpha_from_sums`).

    Overall figures use every annotation, except answers made under a version
    before their label's introduction. A version's figures use only the
    annotations made under that version, and a label introduced later is
    reported as not asked (``"asked": false``, every figure None), so it
    contributes nothing to that version's pooled and macro figures. Versions
    default to every version id that occurs in ``version``.
    """
    answers = _answers(values, confidence, confidence_dtype=np.float32)
    n_raters, n_items, n_labels = answers.yes.shape
    ver = np.asarray(version)
    if ver.shape != (n_items, n_raters):
        raise ValueError(f"version must be (items, raters) = {(n_items, n_raters)}, got {ver.shape}")
    intro = None if label_introduced is None else np.asarray(label_introduced)
    names = [str(n) for n in label_names] if label_names is not None else [str(i) for i in range(n_labels)]
    raters = [str(n) for n in rater_names] if rater_names is not None else [str(i) for i in range(n_raters)]
    if len(names) != n_labels or len(raters) != n_raters:
        raise ValueError("label_names and rater_names must match the labels and raters axes")
    options: dict[str, Any] = dict(
        n_boot=n_boot,
        level=level,
        confident_threshold=confident_threshold,
        label_names=names,
        rater_names=raters,
    )
    everything = np.ones(n_labels, dtype=bool)

    def slice_figures(only: int | None, asked: BoolArray, seed_: int | Sequence[int]) -> dict[str, Any]:
        """Figures for the annotations in scope, after dropping items that cannot hold a unit.

        An item needs two annotations in scope to be a unit for any label, so
        the (items, raters) version array picks the items before any work on
        the much larger answer arrays.
        """
        in_scope = ver >= 0 if only is None else ver == only
        rows = np.flatnonzero(in_scope.sum(axis=1) >= 2)
        sub = _take_items(answers, rows)
        sub_ver = ver[rows]
        scope = _scope(sub_ver, (len(rows), n_labels, n_raters), only=only, label_introduced=intro)
        # The package is slow per label and call (docs/benchmarks.md); per
        # version the closed form gives the same alpha (tested to 1e-12) from
        # the sums already computed, which keeps the report within its budget.
        return _figures(sub, scope=scope, asked=asked, seed=seed_, alpha_from_package=only is None, **options)

    overall = slice_figures(None, everything, seed)
    wanted = sorted(int(v) for v in np.unique(ver[ver >= 0])) if versions is None else [int(v) for v in versions]
    by_version = []
    for v in wanted:
        asked = everything if intro is None else intro <= v
        # Each version gets its own random stream, so adding a version leaves
        # the intervals of the others unchanged.
        by_version.append({"version": v, **slice_figures(v, asked, [seed, v])})
    return {
        "overall": overall,
        "by_version": by_version,
        "n_boot": n_boot,
        "level": level,
        "seed": seed,
        "confident_threshold": confident_threshold,
    }
