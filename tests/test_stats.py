"""explorer.labs.stats against scipy on known inputs, Holm on published examples, permutation by enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from explorer.labs import stats

A = [4.2, 5.1, 6.3, 5.8, 4.9, 6.1, 5.5]
B = [3.1, 4.0, 3.8, 4.6, 3.3, 4.1]


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_and_mann_whitney_match_scipy(alternative):
    t = stats.welch_t(A, B, alternative)
    ref = sps.ttest_ind(A, B, equal_var=False, alternative=alternative)
    assert t.statistic == pytest.approx(ref.statistic) and t.p_value == pytest.approx(ref.pvalue)
    # Welch–Satterthwaite degrees of freedom by hand
    va, vb = np.var(A, ddof=1) / len(A), np.var(B, ddof=1) / len(B)
    df = (va + vb) ** 2 / (va**2 / (len(A) - 1) + vb**2 / (len(B) - 1))
    assert t.details["df"] == pytest.approx(df)
    u = stats.mann_whitney(A, B, alternative)
    ref_u = sps.mannwhitneyu(A, B, alternative=alternative)
    assert u.statistic == ref_u.statistic and u.p_value == pytest.approx(ref_u.pvalue)


def test_welch_known_value():
    # Textbook numbers: the t statistic is (mean a − mean b) / sqrt(va/na + vb/nb).
    t = stats.welch_t([1, 2, 3, 4, 5], [2, 3, 4, 5, 6, 7])
    assert t.statistic == pytest.approx(-1.5 / math.sqrt(2.5 / 5 + 3.5 / 6))


def test_permutation_test_is_exact_enumeration():
    a, b = [3.0, 5.0, 7.5], [1.0, 2.0, 2.5, 4.0]
    res = stats.permutation_difference(a, b, "greater")
    pooled = np.array(a + b)
    observed = np.mean(a) - np.mean(b)
    count = total = 0
    for idx in itertools.combinations(range(len(pooled)), len(a)):
        mask = np.zeros(len(pooled), bool)
        mask[list(idx)] = True
        total += 1
        count += pooled[mask].mean() - pooled[~mask].mean() >= observed - 1e-12
    assert res.details["exact"] and res.details["n_resamples"] == total == 35
    assert res.p_value == pytest.approx(count / total)
    assert res.statistic == pytest.approx(observed)


def test_spearman_matches_scipy():
    order = [1, 1, 2, 2, 3, 3, 4, 4]
    values = [0.9, 0.8, 0.7, 0.75, 0.5, 0.6, 0.4, 0.45]
    r = stats.spearman_trend(order, values, "less")
    ref = sps.spearmanr(order, values, alternative="less")
    assert r.statistic == pytest.approx(ref.statistic) and r.p_value == pytest.approx(ref.pvalue)
    with pytest.raises(ValueError):
        stats.spearman_trend([1, 2], [3, 4])


def test_holm_known_examples():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") = 0.05 0.08 0.09 0.09 0.09
    assert stats.holm([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    # unsorted input keeps its order; adjusted values are capped at 1
    assert stats.holm([0.04, 0.005, 0.03, 0.01]) == pytest.approx([0.06, 0.02, 0.06, 0.03])
    assert stats.holm([0.5, 0.6]) == [1.0, 1.0]
    assert stats.holm([]) == []
    with pytest.raises(ValueError):
        stats.holm([0.2, 1.5])


def test_tost_is_two_one_sided_welch_tests():
    res = stats.equivalence_tost(A, B, 2.0)
    up = sps.ttest_ind(A, np.array(B) + 2.0, equal_var=False, alternative="less").pvalue
    lo = sps.ttest_ind(A, np.array(B) - 2.0, equal_var=False, alternative="greater").pvalue
    assert res.p_value == pytest.approx(max(up, lo))
    assert stats.equivalence_tost(A, B, 0.1).p_value > 0.5  # a clear difference is not equivalent


def test_effect_sizes_and_bootstrap():
    g = stats.effect_size(A, B, "Hedges g", seed=1)
    na, nb = len(A), len(B)
    sp = math.sqrt(((na - 1) * np.var(A, ddof=1) + (nb - 1) * np.var(B, ddof=1)) / (na + nb - 2))
    assert g.estimate == pytest.approx((np.mean(A) - np.mean(B)) / sp * (1 - 3 / (4 * (na + nb) - 9)))
    assert g.ci_low < g.estimate < g.ci_high
    assert stats.effect_size(A, B, "Hedges g", seed=1) == g  # seeded: identical
    d = stats.effect_size(A, B, "mean difference", seed=0)
    assert d.estimate == pytest.approx(np.mean(A) - np.mean(B)) and d.ci_low < d.estimate < d.ci_high
    r = stats.effect_size(A, B, "rank-biserial r", seed=0)
    u = sps.mannwhitneyu(A, B).statistic
    assert r.estimate == pytest.approx(2 * u / (na * nb) - 1)
    with pytest.raises(ValueError):
        stats.effect_size(A, B, "cohen")


def test_identical_groups_show_no_difference():
    primary, ranks = stats.compare_groups([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert primary.p_value == 1.0 and ranks.p_value == 1.0 and primary.statistic == 0.0
    const = stats.welch_t([2.0, 2.0, 2.0], [2.0, 2.0, 2.0])  # scipy gives NaN: no evidence, p = 1
    assert const.p_value == 1.0


def test_compare_groups_picks_the_test_by_size():
    rng = np.random.default_rng(0)
    small, _ = stats.compare_groups(rng.normal(size=5), rng.normal(size=5))
    big, _ = stats.compare_groups(rng.normal(size=30), rng.normal(size=40))
    assert small.test.startswith("permutation") and big.test == "Welch t-test"


def test_stratified_permutation_is_exact_enumeration_within_blocks():
    a, b = [1.0, 2.0, 10.0, 12.0], [1.5, 3.0, 11.0, 14.0]
    ba, bb = [0, 0, 1, 1], [0, 0, 1, 1]
    res = stats.stratified_permutation(a, b, ba, bb, "two-sided")
    # by hand: every split of each block's 4 values into 2 + 2, the statistic the mean of block differences
    blocks = [np.array([1.0, 2.0, 1.5, 3.0]), np.array([10.0, 12.0, 11.0, 14.0])]
    def diffs(v):
        return [v[list(i)].mean() - np.delete(v, list(i)).mean() for i in itertools.combinations(range(4), 2)]
    null = np.array([(x + y) / 2 for x in diffs(blocks[0]) for y in diffs(blocks[1])])
    obs = ((1.5 - 2.25) + (11 - 12.5)) / 2
    expected = min(1.0, 2 * min(np.mean(null >= obs - 1e-12), np.mean(null <= obs + 1e-12)))
    assert res.statistic == pytest.approx(obs) and res.p_value == pytest.approx(expected)
    assert res.details["exact"] and res.details["n_resamples"] == 36
    assert stats.min_p_stratified([(2, 2), (2, 2)]) == pytest.approx(2 / 36)


def test_the_smallest_reachable_p_of_a_design():
    assert stats.min_p_two_groups(3, 3) == pytest.approx(0.1)  # why 3 seeds can never support a claim
    assert stats.min_p_two_groups(5, 5) == pytest.approx(2 / 252)
    assert stats.min_p_two_groups(30, 30) == 0.0  # Welch: no floor
    assert stats.min_p_two_groups(10, 10) == pytest.approx(2 / 10000)  # Monte Carlo resamples
    low, high = [0.1, 0.11, 0.12], [0.3, 0.31, 0.32]
    assert stats.compare_groups(low, high)[0].p_value == pytest.approx(stats.min_p_two_groups(3, 3))


def test_paired_tost():
    d = np.array([0.001, -0.002, 0.0, 0.001, 0.002])
    res = stats.equivalence_tost_paired(d, 0.01)
    up = sps.ttest_1samp(d, 0.01, alternative="less").pvalue
    lo = sps.ttest_1samp(d, -0.01, alternative="greater").pvalue
    assert res.p_value == pytest.approx(max(up, lo)) and res.p_value < 0.01
