"""Statistics for the labs: two-group tests, permutation tests, trends, effect sizes, Holm.

Every distribution and resampling comes from scipy (``scipy.stats.ttest_ind``, ``mannwhitneyu``,
``permutation_test``, ``spearmanr``, ``bootstrap``) except two things written out here: Holm's
step-down adjustment (arithmetic on p-values) and the permutation test stratified by block (scipy's
``permutation_test`` cannot permute within strata). The ``min_p_*`` functions give the smallest
p-value a design can reach at all (its power floor): an exact permutation test of 3 vs 3 values
cannot go below 2/C(6, 3) = 0.1, whatever the data.

Directions: ``"greater"`` means the claim is "a is larger than b" (or, for a trend, "the value rises
along the order"), ``"less"`` the opposite, ``"two-sided"`` any difference.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class TestResult:
    """One test: its name, statistic, p-value and the alternative it was run under."""

    test: str
    statistic: float
    p_value: float
    alternative: str
    n: tuple[int, ...]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class Effect:
    """An effect size with its bootstrap confidence interval (percentile or BCa, as scipy gives)."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _clean(x: ArrayLike, what: str) -> NDArray[np.float64]:
    a = np.asarray(x, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        raise ValueError(f"{what} has no finite values")
    return a


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, not {alternative!r}")


def _p(value: float) -> float:
    """scipy returns NaN where the statistic is undefined (e.g. both groups constant and equal):
    no evidence of a difference, so p = 1."""
    return 1.0 if math.isnan(value) else float(value)


# --- two groups ----------------------------------------------------------------------------------


def welch_t(a: ArrayLike, b: ArrayLike, alternative: Alternative = "two-sided") -> TestResult:
    """Welch's t-test (unequal variances) of mean(a) − mean(b)."""
    _check_alternative(alternative)
    x, y = _clean(a, "group a"), _clean(b, "group b")
    with warnings.catch_warnings():  # constant groups: scipy warns and returns NaN, handled by _p
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.ttest_ind(x, y, equal_var=False, alternative=alternative)
    df = getattr(res, "df", math.nan)
    return TestResult("Welch t-test", float(res.statistic), _p(res.pvalue), alternative, (x.size, y.size),
                      {"df": float(df), "mean_a": float(x.mean()), "mean_b": float(y.mean())})


def mann_whitney(a: ArrayLike, b: ArrayLike, alternative: Alternative = "two-sided") -> TestResult:
    """Mann–Whitney U test (statistic: U of group a)."""
    _check_alternative(alternative)
    x, y = _clean(a, "group a"), _clean(b, "group b")
    res = sps.mannwhitneyu(x, y, alternative=alternative)
    return TestResult("Mann–Whitney U", float(res.statistic), _p(res.pvalue), alternative, (x.size, y.size),
                      {"median_a": float(np.median(x)), "median_b": float(np.median(y))})


def _mean_difference(x: NDArray, y: NDArray, axis: int = -1) -> NDArray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def permutation_difference(a: ArrayLike, b: ArrayLike, alternative: Alternative = "two-sided", *,
                           n_resamples: int = 9999, seed: int = 0) -> TestResult:
    """Permutation test of mean(a) − mean(b) (exact when the number of splits ≤ ``n_resamples``)."""
    _check_alternative(alternative)
    x, y = _clean(a, "group a"), _clean(b, "group b")
    res = sps.permutation_test((x, y), _mean_difference, permutation_type="independent", vectorized=True,
                               n_resamples=n_resamples, alternative=alternative, rng=np.random.default_rng(seed))
    splits = math.comb(x.size + y.size, x.size)
    return TestResult("permutation test (difference of means)", float(res.statistic), _p(res.pvalue), alternative,
                      (x.size, y.size), {"exact": splits <= n_resamples, "n_resamples": min(splits, n_resamples)})


def equivalence_tost(a: ArrayLike, b: ArrayLike, margin: float) -> TestResult:
    """Two one-sided Welch tests (TOST) of −margin < mean(a) − mean(b) < margin; a small p-value
    supports equivalence within the margin."""
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be positive, not {margin}")
    x, y = _clean(a, "group a"), _clean(b, "group b")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        upper = sps.ttest_ind(x, y + margin, equal_var=False, alternative="less")
        lower = sps.ttest_ind(x, y - margin, equal_var=False, alternative="greater")
    p = max(_p(upper.pvalue), _p(lower.pvalue))
    return TestResult("TOST (Welch)", float(x.mean() - y.mean()), p, f"|difference| < {margin:g}", (x.size, y.size),
                      {"p_upper": _p(upper.pvalue), "p_lower": _p(lower.pvalue), "margin": margin})


def stratified_permutation(a: ArrayLike, b: ArrayLike, blocks_a: ArrayLike, blocks_b: ArrayLike,
                           alternative: Alternative = "two-sided", *, n_resamples: int = 9999,
                           seed: int = 0) -> TestResult:
    """Permutation test of the mean over blocks of (mean(a) − mean(b)) within each block, the labels
    permuted within blocks only (a paired design by block, e.g. a cell and its rewiring, seeds as
    replicates). Exact when the number of within-block splits ≤ ``n_resamples``, else Monte Carlo."""
    _check_alternative(alternative)
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    bx, by = np.asarray(blocks_a).ravel(), np.asarray(blocks_b).ravel()
    keys = sorted(set(bx.tolist()) & set(by.tolist()))
    if not keys:
        raise ValueError("no block has values in both groups")
    per_block = []  # (pooled values, size of a) per block
    for k in keys:
        xa, yb = x[bx == k], y[by == k]
        xa, yb = xa[np.isfinite(xa)], yb[np.isfinite(yb)]
        if xa.size and yb.size:
            per_block.append((np.concatenate([xa, yb]), xa.size))
    splits = math.prod(math.comb(v.size, na) for v, na in per_block)
    observed = float(np.mean([v[:na].mean() - v[na:].mean() for v, na in per_block]))
    rng = np.random.default_rng(seed)
    exact = splits <= n_resamples
    total = np.zeros(1)
    for v, na in per_block:  # the statistic's null distribution: sum of independent per-block differences
        if exact:
            masks = np.zeros((math.comb(v.size, na), v.size), bool)
            for i, idx in enumerate(itertools.combinations(range(v.size), na)):
                masks[i, list(idx)] = True
        else:
            order = np.argsort(rng.random((n_resamples, v.size)), axis=1)
            masks = order < na
        diffs = (masks * v).sum(1) / na - (~masks * v).sum(1) / (v.size - na)
        total = (total[:, None] + diffs[None, :]).ravel() if exact else total + diffs
    null = total / len(per_block)
    tol = 1e-12 * max(1.0, abs(observed))
    greater = float(np.mean(null >= observed - tol))
    less = float(np.mean(null <= observed + tol))
    if not exact:  # Monte Carlo: count the observed split as one of the resamples
        greater = (greater * n_resamples + 1) / (n_resamples + 1)
        less = (less * n_resamples + 1) / (n_resamples + 1)
    p = {"greater": greater, "less": less, "two-sided": min(1.0, 2 * min(greater, less))}[alternative]
    return TestResult("stratified permutation test (difference of means within blocks)", observed, p, alternative,
                      (x.size, y.size), {"blocks": len(per_block), "exact": exact,
                                         "n_resamples": splits if exact else n_resamples})


def paired_differences(a: ArrayLike, b: ArrayLike, blocks_a: ArrayLike, blocks_b: ArrayLike) -> NDArray[np.float64]:
    """Differences a − b matched within blocks in order (the k-th value of a block against its k-th)."""
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    bx, by = np.asarray(blocks_a).ravel(), np.asarray(blocks_b).ravel()
    out = []
    for k in sorted(set(bx.tolist()) & set(by.tolist())):
        xa, yb = x[bx == k], y[by == k]
        n = min(xa.size, yb.size)
        out.append(xa[:n] - yb[:n])
    return np.concatenate(out) if out else np.zeros(0)


def equivalence_tost_paired(differences: ArrayLike, margin: float) -> TestResult:
    """TOST on paired differences (two one-sided one-sample t-tests): −margin < mean < margin."""
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be positive, not {margin}")
    d = _clean(differences, "differences")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        upper = sps.ttest_1samp(d, margin, alternative="less")
        lower = sps.ttest_1samp(d, -margin, alternative="greater")
    p = max(_p(upper.pvalue), _p(lower.pvalue))
    return TestResult("TOST (paired t)", float(d.mean()), p, f"|difference| < {margin:g}", (d.size,),
                      {"p_upper": _p(upper.pvalue), "p_lower": _p(lower.pvalue), "margin": margin})


# --- the smallest p-value a design can reach ----------------------------------------------------


def min_p_two_groups(n_a: int, n_b: int, *, n_resamples: int = 9999) -> float:
    """Smallest two-sided p of ``compare_groups`` for groups of these sizes: 2/C(n, n_a) for the exact
    permutation test, 2/(n_resamples + 1) for its Monte Carlo version; 0 for Welch's t (no floor)."""
    if min(n_a, n_b) >= SMALL_SAMPLE:
        return 0.0
    splits = math.comb(n_a + n_b, n_a)
    return min(1.0, 2 / splits if splits <= n_resamples else 2 / (n_resamples + 1))


def min_p_stratified(block_sizes: Sequence[tuple[int, int]], *, n_resamples: int = 9999) -> float:
    """Smallest two-sided p of ``stratified_permutation`` with these (n_a, n_b) per block."""
    splits = math.prod(math.comb(na + nb, na) for na, nb in block_sizes)
    return min(1.0, 2 / splits if splits <= n_resamples else 2 / (n_resamples + 1))


# --- ordered series ------------------------------------------------------------------------------


def spearman_trend(order: ArrayLike, values: ArrayLike, alternative: Alternative = "two-sided") -> TestResult:
    """Spearman's ρ between a position in an ordered series (e.g. width 1, 2, 4) and the values."""
    _check_alternative(alternative)
    x = np.asarray(order, dtype=np.float64).ravel()
    y = np.asarray(values, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"order and values differ in length ({x.size} vs {y.size})")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        raise ValueError("a trend needs at least 3 finite points")
    res = sps.spearmanr(x, y, alternative=alternative)
    return TestResult("Spearman ρ", 0.0 if math.isnan(res.statistic) else float(res.statistic), _p(res.pvalue),
                      alternative, (x.size,))


# --- effect sizes --------------------------------------------------------------------------------


def _hedges_g(x: NDArray, y: NDArray, axis: int = -1) -> NDArray:
    nx, ny = x.shape[axis], y.shape[axis]
    vx, vy = np.var(x, axis=axis, ddof=1), np.var(y, axis=axis, ddof=1)
    pooled = np.sqrt(((nx - 1) * vx + (ny - 1) * vy) / (nx + ny - 2))
    correction = 1 - 3 / (4 * (nx + ny) - 9)  # small-sample bias correction (Hedges 1981)
    diff = np.mean(x, axis=axis) - np.mean(y, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(pooled > 0, diff / pooled, 0.0) * correction
    return g


def _rank_biserial(x: NDArray, y: NDArray, axis: int = -1) -> NDArray:
    """2·P(a > b) + P(a = b) − 1: the Mann–Whitney effect size in [−1, 1]."""
    u = sps.mannwhitneyu(x, y, axis=axis, alternative="two-sided").statistic
    return 2 * u / (x.shape[axis] * y.shape[axis]) - 1


BCA_MAX_N = 1000
BOOTSTRAP_BATCH_VALUES = 4_000_000

EFFECTS = {"mean difference": _mean_difference, "Hedges g": _hedges_g, "rank-biserial r": _rank_biserial}


def effect_size(a: ArrayLike, b: ArrayLike, name: str = "mean difference", *, confidence: float = 0.95,
                n_resamples: int = 2000, seed: int = 0) -> Effect:
    """Effect of a over b with a bootstrap CI (scipy.stats.bootstrap, BCa, each group resampled)."""
    if name not in EFFECTS:
        raise ValueError(f"unknown effect size {name!r}; choose from {', '.join(EFFECTS)}")
    x, y = _clean(a, "group a"), _clean(b, "group b")
    fn = EFFECTS[name]
    estimate = float(fn(x, y))
    if x.size < 2 or y.size < 2 or (np.ptp(x) == 0 and np.ptp(y) == 0):
        return Effect(name, estimate, math.nan, math.nan, confidence)  # no spread: no interval
    # BCa's jackknife costs one statistic per value: fine for seed-sized groups, not for a
    # benchmark's thousands of cells, where the percentile interval is accurate anyway.
    method = "BCa" if x.size + y.size <= BCA_MAX_N and min(x.size, y.size) >= 3 else "percentile"
    lo, hi = _bootstrap_ci((x, y), fn, confidence, n_resamples, method, seed)
    if method == "BCa" and not (math.isfinite(lo) and math.isfinite(hi)):  # BCa degenerates on ties
        lo, hi = _bootstrap_ci((x, y), fn, confidence, n_resamples, "percentile", seed)
    return Effect(name, estimate, lo, hi, confidence)


def _bootstrap_ci(data: tuple[NDArray, NDArray], fn, confidence: float, n_resamples: int, method: str,
                  seed: int) -> tuple[float, float]:
    batch = max(1, BOOTSTRAP_BATCH_VALUES // (data[0].size + data[1].size))  # bounds the memory per batch
    with warnings.catch_warnings():  # resamples of a tiny group can be constant: NaN statistics, no CI
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.bootstrap(data, fn, vectorized=True, paired=False, confidence_level=confidence,
                            n_resamples=n_resamples, method=method, batch=batch, rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


# --- multiple comparisons ------------------------------------------------------------------------


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given): reject H_i at level α iff adjusted_i ≤ α."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return []
    if np.any((p < 0) | (p > 1) | ~np.isfinite(p)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return [float(v) for v in adjusted]


# --- choosing the test --------------------------------------------------------------------------

SMALL_SAMPLE = 20  # below this per group, the t distribution is a leap of faith: permute instead


def compare_groups(a: ArrayLike, b: ArrayLike, alternative: Alternative = "two-sided", *, seed: int = 0,
                   n_resamples: int = 9999) -> tuple[TestResult, TestResult]:
    """The primary test for a two-group design and Mann–Whitney as the rank-based check.

    Primary: Welch's t-test when both groups have ≥ ``SMALL_SAMPLE`` values (the mean's sampling
    distribution is near normal), else the permutation test of the mean difference (exact for
    seed-sized groups, no normality assumed)."""
    x, y = _clean(a, "group a"), _clean(b, "group b")
    if min(x.size, y.size) >= SMALL_SAMPLE:
        primary = welch_t(x, y, alternative)
    else:
        primary = permutation_difference(x, y, alternative, n_resamples=n_resamples, seed=seed)
    return primary, mann_whitney(x, y, alternative)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    return obj
