"""Is an empirical estimate's deviation from an exact value shared by all widths (a systematic,
finite-width bias), or noise? Each width's t-test alone cannot tell: four widths each 1.5 SE
above the exact value pass one by one, yet together they are a bias. Pooled here: a sign test
over widths, Stouffer's combined z, and a weighted regression of the deviation on 1/width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

BIAS_ALPHA = 0.01  # two-sided level of the tests for a bias shared by all widths (combined z, sign test)


@dataclass(frozen=True)
class BiasTest:
    """Is one statistic's deviation from the exact value systematic across widths (a finite-width
    bias), rather than noise? Each width alone may sit within its t-limit while all of them sit on
    one side; the tests here pool the widths."""

    statistic: str  # "diag" or "off"
    deviations: list[float]  # mean − exact per width
    positive: int  # widths above the exact value (deviations beyond float32 rounding only)
    negative: int
    sign_p: float | None  # two-sided sign test over widths (≥ 0.25 with 3 widths: weak on its own)
    combined_z: float | None  # Stouffer: Σ z_w / √n, N(0, 1) if every width is unbiased
    combined_p: float | None
    slope: float | None  # weighted least squares of deviation on 1/width: deviation ≈ intercept + slope/m
    slope_se: float | None
    intercept: float | None  # the deviation extrapolated to infinite width (0 if the bias is O(1/m))
    intercept_se: float | None
    bars_one_side: bool  # every width's mean ± SE bar lies on the same side of the exact value
    systematic: bool  # combined_p < BIAS_ALPHA or sign_p < BIAS_ALPHA

    @property
    def same_side(self) -> bool:
        return (self.positive == 0) != (self.negative == 0) and self.positive + self.negative >= 2


def bias_test(statistic: str, widths: Sequence[int], means: Sequence[float], ses: Sequence[float],
              exact: float, n_seeds: int | None = None, *, tol: float = 0.0) -> BiasTest:
    """Pool the widths' deviations ``means − exact`` (standard errors ``ses``): a sign test over
    widths, Stouffer's combined z, and a weighted regression of the deviation on 1/width (the
    O(1/m) finite-width bias should have a slope and an intercept near 0). With ``n_seeds`` each
    width's t statistic is mapped to the normal quantile of the same p first (Stouffer wants z's).
    Deviations and standard errors up to ``tol`` count as none (float32 rounding)."""
    m = np.asarray(widths, dtype=np.float64)
    dev = np.asarray(means, dtype=np.float64) - exact
    se = np.asarray(ses, dtype=np.float64)
    beyond = np.abs(dev) > tol
    pos, neg = int(np.sum(beyond & (dev > 0))), int(np.sum(beyond & (dev < 0)))
    sign_p = float(stats.binomtest(pos, pos + neg, 0.5).pvalue) if pos + neg else None
    usable = se > tol  # widths whose networks all give the exact value carry no z
    combined_z = combined_p = None
    if usable.any():
        t = dev[usable] / se[usable]
        z = stats.norm.isf(stats.t.sf(t, n_seeds - 1)) if n_seeds and n_seeds > 1 else t
        combined_z = float(np.sum(z) / math.sqrt(int(usable.sum())))
        combined_p = float(2 * stats.norm.sf(abs(combined_z)))
    slope = slope_se = intercept = intercept_se = None
    if usable.sum() >= 3 and len(set(m[usable])) >= 3:  # two points fit any line exactly: no error left
        x = np.column_stack([np.ones(int(usable.sum())), 1.0 / m[usable]])
        w = 1.0 / se[usable] ** 2
        cov = np.linalg.inv(x.T @ (x * w[:, None]))
        beta = cov @ (x.T @ (w * dev[usable]))
        intercept, slope = float(beta[0]), float(beta[1])
        intercept_se, slope_se = float(math.sqrt(cov[0, 0])), float(math.sqrt(cov[1, 1]))
    systematic = bool((combined_p is not None and combined_p < BIAS_ALPHA)
                      or (sign_p is not None and sign_p < BIAS_ALPHA))
    bars = bool(len(dev) >= 2 and (np.all(dev - se > tol) or np.all(dev + se < -tol)))
    return BiasTest(statistic, [float(d) for d in dev], pos, neg, sign_p, combined_z, combined_p, slope, slope_se,
                    intercept, intercept_se, bars, systematic)


def describe_bias(b: BiasTest) -> str:
    """One clause for a verdict: where the statistic sits and what the tests say."""
    name = {"diag": "diagonal", "off": "off-diagonal"}[b.statistic]
    side = "above" if b.positive else "below"
    where = "with its ±SE bar " if b.bars_one_side else ""
    parts = [f"the {name} sits {where}{side} the exact value at all {b.positive + b.negative} widths"
             if b.same_side else f"the {name} deviates {b.positive} widths up, {b.negative} down"]
    if b.sign_p is not None:
        parts.append(f"sign test p = {b.sign_p:.2g}")
    if b.combined_z is not None:
        parts.append(f"combined z = {b.combined_z:.2f} (p = {b.combined_p:.2g})")
    if b.slope is not None:
        parts.append(f"deviation ≈ {b.intercept:.3g} ± {b.intercept_se:.2g} + ({b.slope:.3g} ± {b.slope_se:.2g})/m")
    return ", ".join(parts)
