"""The statistics of a hypothesis: the test its design calls for, the verdict, and the metric of a
finished train job from its curves. Pure functions: no store, no queue.

- two groups, direction ``greater``/``less``: ``stats.compare_groups`` (Welch's t-test for groups of
  ≥ 20 values, else an exact/Monte Carlo permutation test; Mann–Whitney U as the rank check), two-sided,
  with the sign of the difference deciding supported vs refuted;
- two groups, direction ``none`` (no difference): Welch TOST within the equivalence margin;
- three or more ordered groups, direction ``increasing``/``decreasing``: Spearman's ρ between the
  group's position and the values, with the adjacent pairs tested as above.

Several units (e.g. the three datasets of a warehouse hypothesis) are Holm-corrected together.
Verdict: **supported** when every unit is significant (adjusted p < α) in the predicted direction,
**refuted** when any unit is significant against it, else **inconclusive**. Effect sizes (difference
of means, Hedges g) come with bootstrap 95 % CIs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from explorer.core.errors import DataError, UserError
from explorer.labs.specs import HypothesisSpec
from explorer.labs.stats import (
    compare_groups,
    effect_size,
    equivalence_tost,
    holm,
    spearman_trend,
)

VERDICTS = ("supported", "refuted", "inconclusive")
MAX_STORED_VALUES = 5000


def _direction_sign(direction: str) -> int:
    return {"greater": 1, "increasing": 1, "less": -1, "decreasing": -1}.get(direction, 0)


def analyse_unit(values: Sequence[np.ndarray], labels: Sequence[str], direction: str, *,
                 margin: float | None = None, seed: int = 0) -> dict[str, Any]:
    """Tests of one unit (one metric on one dataset): the primary p-value and the sign it found."""
    groups = [np.asarray(v, dtype=np.float64) for v in values]
    for label, g in zip(labels, groups, strict=True):
        if np.isfinite(g).sum() < 2:
            raise DataError(f"group {label!r} has {np.isfinite(g).sum()} value(s); a test needs at least 2")
    summary = [{"label": lab, "n": int(g.size), "mean": float(g.mean()), "std": float(g.std(ddof=1)),
                "median": float(np.median(g)), "min": float(g.min()), "q1": float(np.quantile(g, 0.25)),
                "q3": float(np.quantile(g, 0.75)), "max": float(g.max())}
               for lab, g in zip(labels, groups, strict=True)]
    out: dict[str, Any] = {"groups": summary}
    if direction in ("increasing", "decreasing"):
        order = np.concatenate([np.full(g.size, i) for i, g in enumerate(groups)])
        trend = spearman_trend(order, np.concatenate(groups), "two-sided")
        out |= {"primary": trend.to_dict(), "p_value": trend.p_value, "estimate": trend.statistic,
                "observed_sign": int(np.sign(trend.statistic))}
        pairs = []
        for i in range(len(groups) - 1):
            test, ranks = compare_groups(groups[i + 1], groups[i], "two-sided", seed=seed)
            pairs.append({"a": labels[i + 1], "b": labels[i], "test": test.to_dict(), "mann_whitney": ranks.to_dict(),
                          "mean_diff": float(groups[i + 1].mean() - groups[i].mean())})
        adjusted = holm([p["test"]["p_value"] for p in pairs])
        for p, adj in zip(pairs, adjusted, strict=True):
            p["p_holm"] = adj
        out["pairs"] = pairs
        return out
    a, b = groups
    test, ranks = compare_groups(a, b, "two-sided", seed=seed)
    diff = effect_size(a, b, "mean difference", seed=seed)
    g = effect_size(a, b, "Hedges g", seed=seed)
    out |= {"primary": test.to_dict(), "mann_whitney": ranks.to_dict(), "effect": diff.to_dict(),
            "hedges_g": g.to_dict(), "estimate": diff.estimate}
    if direction == "none":
        assert margin is not None
        tost = equivalence_tost(a, b, margin)
        out |= {"equivalence": tost.to_dict(), "p_value": tost.p_value, "difference_p": test.p_value,
                "observed_sign": 0}
    else:
        out |= {"p_value": test.p_value, "observed_sign": int(np.sign(a.mean() - b.mean()))}
    return out


def verdict_of(units: list[dict[str, Any]], direction: str, alpha: float) -> tuple[str, list[float]]:
    """Holm-adjust the units' primary p-values and decide (see the module docstring)."""
    adjusted = holm([u["p_value"] for u in units])
    if direction == "none":
        diff_adjusted = holm([u["difference_p"] for u in units])
        if all(p < alpha for p in adjusted):
            return "supported", adjusted
        if any(p < alpha for p in diff_adjusted):
            return "refuted", adjusted
        return "inconclusive", adjusted
    want = _direction_sign(direction)
    significant = [p < alpha for p in adjusted]
    if any(s and u["observed_sign"] == -want for s, u in zip(significant, units, strict=True)):
        return "refuted", adjusted
    if all(s and u["observed_sign"] == want for s, u in zip(significant, units, strict=True)):
        return "supported", adjusted
    return "inconclusive", adjusted


def analyse(spec: HypothesisSpec, unit_values: dict[str, list[np.ndarray]], *, seed: int = 0) -> dict[str, Any]:
    """The full analysis: per unit tests, Holm across units, the verdict with its numbers."""
    labels = [g.label for g in spec.groups]
    units = []
    for unit, values in unit_values.items():
        res = analyse_unit(values, labels, spec.direction, margin=spec.protocol.equivalence_margin, seed=seed)
        units.append({"unit": unit, **res})
    verdict, adjusted = verdict_of(units, spec.direction, spec.protocol.alpha)
    for u, adj in zip(units, adjusted, strict=True):
        u["p_holm"] = adj
    # Raw values are kept for seed-sized runs (the report plots every point); benchmark-sized groups
    # keep their quartiles only (in the unit's group summaries).
    small = sum(v.size for vals in unit_values.values() for v in vals) <= MAX_STORED_VALUES
    return {"verdict": verdict, "alpha": spec.protocol.alpha, "design": spec.design(), "units": units,
            "values": {unit: [list(map(float, v)) for v in vals] for unit, vals in unit_values.items()} if small else None}


def curves_from_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data))


def metric_value(curves: pd.DataFrame, metric: str, epoch: int | None) -> float:
    """One job's value of ``metric`` from its per-epoch curves (``train.curves_csv``)."""
    if curves.empty:
        raise DataError("the job recorded no complete epoch")
    k = len(curves) if epoch is None else epoch
    if k > len(curves):
        raise DataError(f"the job ran {len(curves)} epochs, the metric needs epoch {k}")
    if metric == "train_loss_auc":
        return float(curves["train_loss"].iloc[:k].mean())
    if metric == "train_loss_at_epoch":
        return float(curves["train_loss"].iloc[k - 1])
    if metric == "final_train_loss":
        return float(curves["train_loss"].iloc[-1])
    if metric == "final_test_acc":
        return float(curves["test_acc"].iloc[-1])
    if metric == "test_acc_at_epoch":
        return float(curves["test_acc"].iloc[k - 1])
    raise UserError(f"metric {metric!r} does not come from training curves")
