"""Statistics over benchmark results: what the warehouse pages show besides raw rows.

- ``multiple_correlation``: R of accuracy on (d̄, m̄) from the three pairwise correlations.
- ``reachable_region``: where (d̄, m̄) can lie at all, for shading Chen et al.'s Figure 5.
- ``proxy_rank_correlations``: Kendall τ and Spearman ρ of each zero-cost proxy with accuracy,
  overall and per d̄/m̄ bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

MIN_BUCKET = 10  # rank correlations of fewer architectures are not reported


def multiple_correlation(r_yd: float | None, r_ym: float | None, r_dm: float | None) -> float | None:
    """R of y on (d, m) by least squares with intercept: R² = (r_yd² + r_ym² − 2 r_yd r_ym r_dm) / (1 − r_dm²).

    When d and m are collinear (|r_dm| = 1) the fit uses one of them: R = max(|r_yd|, |r_ym|).
    None when y or both regressors are constant (correlations undefined)."""
    known = [r for r in (r_yd, r_ym) if r is not None and math.isfinite(r)]
    if r_yd is None or r_ym is None or r_dm is None or not math.isfinite(r_dm):
        return max((abs(r) for r in known), default=None)
    denom = 1.0 - r_dm * r_dm
    if denom < 1e-12:
        return max(abs(r_yd), abs(r_ym))
    r2 = (r_yd * r_yd + r_ym * r_ym - 2.0 * r_yd * r_ym * r_dm) / denom
    return math.sqrt(min(max(r2, 0.0), 1.0))


@dataclass(frozen=True)
class ReachableRegion:
    """(d̄, m̄) pairs a cell can have: m̄·d̄ is its number of parameterized paths, so it lies in
    [1, max_paths]; and d̄ ≤ max_depth, the most parameterized ops on one path."""

    max_paths: float
    max_depth: float

    def contains(self, depth: np.ndarray | float, width: np.ndarray | float) -> np.ndarray:
        d, m = np.asarray(depth, dtype=float), np.asarray(width, dtype=float)
        prod = d * m
        return (prod >= 1.0 - 1e-9) & (prod <= self.max_paths + 1e-9) & (d <= self.max_depth + 1e-9) & (d > 0)

    def boundary(self, d_max: float, n: int = 200) -> dict[str, np.ndarray]:
        """Curves for drawing: m̄ = 1/d̄ (lower) and m̄ = max_paths/d̄ (upper) over (0, d_max]."""
        d = np.linspace(max(d_max, 1e-3) / n, d_max, n)
        return {"depth": d, "lower": 1.0 / d, "upper": self.max_paths / d}


def depth_width_buckets(depth: pd.Series, width: pd.Series, bins: int) -> pd.Series:
    """A label per row: quantile bin of d̄ × quantile bin of m̄ ('d̄ 1/3 · m̄ 2/3'), or
    'd̄/m̄ undefined' where d̄ is undefined."""
    out = pd.Series("d̄/m̄ undefined", index=depth.index, dtype=object)
    ok = depth.notna() & width.notna()
    if ok.sum() == 0:
        return out
    dq = (
        pd.qcut(depth[ok].rank(method="first"), bins, labels=False)
        if ok.sum() >= bins
        else pd.Series(0, index=depth[ok].index)
    )
    mq = (
        pd.qcut(width[ok].rank(method="first"), bins, labels=False)
        if ok.sum() >= bins
        else pd.Series(0, index=width[ok].index)
    )
    out[ok] = [f"d̄ {int(a) + 1}/{bins} · m̄ {int(b) + 1}/{bins}" for a, b in zip(dq, mq, strict=True)]
    return out


def proxy_rank_correlations(frame: pd.DataFrame, bins: int = 3) -> pd.DataFrame:
    """Kendall τ and Spearman ρ of each proxy's score with accuracy.

    ``frame``: long format with columns arch_id, effective_depth, effective_width, accuracy, proxy,
    value (``Warehouse.proxy_frame``). Returns one row per (proxy, bucket) with n, kendall_tau,
    spearman_rho; bucket 'all' is the whole set, the others split d̄ and m̄ into ``bins`` quantile
    bins each (over the architectures of the frame). Buckets under MIN_BUCKET rows are left out."""
    cols = ["proxy", "bucket", "n", "kendall_tau", "spearman_rho"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    archs = frame.drop_duplicates("arch_id").set_index("arch_id")
    bucket = depth_width_buckets(archs["effective_depth"], archs["effective_width"], bins)
    frame = frame.assign(bucket=frame["arch_id"].map(bucket))
    rows = []
    for proxy, group in frame.groupby("proxy", sort=True):
        for name, part in [("all", group), *sorted(group.groupby("bucket"), key=lambda kv: str(kv[0]))]:
            if len(part) < MIN_BUCKET:
                continue
            if part["value"].nunique() < 2 or part["accuracy"].nunique() < 2:
                rows.append((proxy, name, len(part), None, None))  # constant: rank correlation undefined
                continue
            tau = stats.kendalltau(part["value"], part["accuracy"]).statistic
            rho = stats.spearmanr(part["value"], part["accuracy"]).statistic
            rows.append((proxy, name, len(part), _finite(tau), _finite(rho)))
    return pd.DataFrame(rows, columns=cols)


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None
