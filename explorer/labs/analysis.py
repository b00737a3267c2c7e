"""The statistics of a hypothesis: the test its design calls for, its power floor, the verdict, and
the metric of a finished train job from its curves. Pure functions: no store, no queue.

- two groups, direction ``greater``/``less``: ``stats.compare_groups`` (Welch's t-test for groups of
  ≥ 20 values, else an exact/Monte Carlo permutation test; Mann–Whitney U as the rank check), two-sided,
  with the sign of the difference deciding supported vs refuted; a **paired** design (cells matched
  by position) uses the permutation test stratified by pair, seeds being replicates within a pair;
- two groups, direction ``none`` (no difference): TOST within the equivalence margin (Welch, or paired t
  on the within-pair differences);
- three or more ordered groups, direction ``increasing``/``decreasing``: Spearman's ρ over the order
  **and** every adjacent pair (Holm-corrected within the unit). An ordering is supported only when the
  trend and every adjacent pair are significant in the predicted direction (an intersection–union
  test: the unit's p is the largest of them), so DAG#1 = DAG#2 with DAG#3 lower is not "supported".

Several units (datasets, learning rates) are Holm-corrected together. Verdict: **supported** when every
unit is significant (adjusted p < α) in the predicted direction, **refuted** when any unit has a
significant part against it (for ``none``: a significant difference), else **inconclusive**; and
**cannot be decided** when the design's smallest reachable p (``power_floor``) is not below α — an
exact permutation test of 3 vs 3 values cannot go below p = 0.1, so no data could support it.
Effect sizes (difference of means, Hedges g) come with bootstrap 95 % CIs.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from explorer.core.errors import DataError, UserError
from explorer.labs.specs import DIVERGED_IS_WORST, HypothesisSpec
from explorer.labs.stats import (
    compare_groups,
    effect_size,
    equivalence_tost,
    equivalence_tost_paired,
    holm,
    min_p_stratified,
    min_p_two_groups,
    paired_differences,
    spearman_trend,
    stratified_permutation,
)

UNDECIDABLE = "cannot be decided"
VERDICTS = ("supported", "refuted", "inconclusive", UNDECIDABLE)
MAX_STORED_VALUES = 5000


def _direction_sign(direction: str) -> int:
    return {"greater": 1, "increasing": 1, "less": -1, "decreasing": -1}.get(direction, 0)


# --- power: the smallest p-value a design can reach --------------------------------------------


def power_floor(direction: str, sizes: Sequence[Sequence[int]], *, paired_blocks: Sequence[Sequence[tuple[int, int]]]
                | None = None, alpha: float = 0.05) -> dict[str, Any]:
    """The smallest Holm-adjusted p the verdict can rest on, for groups of ``sizes`` (per unit, per
    group) — or per unit the (n_a, n_b) of each pair block of a paired design. Equivalence (TOST) and
    Welch have no floor (0); permutation tests do."""
    units = []
    for ui, group_sizes in enumerate(sizes):
        if direction == "none":
            floor = 0.0
        elif paired_blocks is not None:
            floor = min_p_stratified(paired_blocks[ui]) if paired_blocks[ui] else 1.0
        elif direction in ("increasing", "decreasing"):
            pairs = [min_p_two_groups(a, b) for a, b in itertools.pairwise(group_sizes)]
            floor = max(holm(pairs)) if pairs else 1.0
        else:
            floor = min_p_two_groups(group_sizes[0], group_sizes[1])
        units.append(floor)
    overall = max(holm(units)) if units else 1.0
    return {"min_p": overall, "per_unit": units, "alpha": alpha, "decidable": overall < alpha}


def design_sizes(
    spec: HypothesisSpec, contrasts: int | None = None
) -> tuple[list[list[int]], list[list[tuple[int, int]]] | None]:
    """Planned group sizes per unit (cells × seeds) and, for a paired design, its pair blocks;
    ``contrasts``: the number of pairs left after null contrasts are dropped."""
    p = spec.protocol
    n_units = len(p.sweep) or 1
    seeds = len(p.seeds)
    if p.paired:
        pairs = len(spec.groups[0].cells) if contrasts is None else contrasts
        block = [[(seeds, seeds)] * pairs for _ in range(n_units)]
        return [[pairs * seeds, pairs * seeds]] * n_units, block
    return [[len(g.cells) * seeds for g in spec.groups]] * n_units, None


def design_power(spec: HypothesisSpec, contrasts: int | None = None) -> dict[str, Any]:
    """``power_floor`` of a spec before it runs (warehouse groups are thousands of cells: no floor)."""
    p = spec.protocol
    if p.kind == "warehouse":
        return {"min_p": 0.0, "per_unit": [0.0] * len(p.datasets), "alpha": p.alpha, "decidable": True}
    sizes, blocks = design_sizes(spec, contrasts)
    return power_floor(spec.direction, sizes, paired_blocks=blocks, alpha=p.alpha)


def power_sentence(power: dict[str, Any]) -> str:
    text = f"smallest reachable p = {power['min_p']:.3g} (α = {power['alpha']:g})"
    return text if power["decidable"] else text + ": this design cannot reach α, whatever the data"


# --- one unit --------------------------------------------------------------------------------------


def _summary(labels: Sequence[str], groups: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """Per group: n (every run), how many had no finite value, and the finite values' statistics
    (None when there are none)."""
    out = []
    for lab, g in zip(labels, groups, strict=True):
        f = g[np.isfinite(g)]
        row: dict[str, Any] = {"label": lab, "n": int(g.size), "diverged": int(g.size - f.size)}
        out.append(row | {k: (float(fn(f)) if f.size else None) for k, fn in _STATS.items()})
    return out


_STATS = {"mean": np.mean, "std": lambda x: np.std(x, ddof=1) if x.size > 1 else np.nan, "median": np.median,
          "min": np.min, "q1": lambda x: np.quantile(x, 0.25), "q3": lambda x: np.quantile(x, 0.75), "max": np.max}


def _ranks(groups: Sequence[np.ndarray], worst: float) -> list[np.ndarray]:
    """The groups' values as pooled ranks, a run without a finite value counting as ``worst`` (±inf;
    ties share their mean rank). A test on these ranks is a rank test (exact Mann–Whitney for two groups)."""
    pooled = np.concatenate([np.where(np.isfinite(g), g, worst) for g in groups])
    ranks = rankdata(pooled)
    return np.split(ranks, np.cumsum([g.size for g in groups])[:-1])


def analyse_unit(values: Sequence[np.ndarray], labels: Sequence[str], direction: str, *,
                 margin: float | None = None, seed: int = 0,
                 blocks: Sequence[np.ndarray] | None = None, worst: float | None = None) -> dict[str, Any]:
    """Tests of one unit (one metric on one dataset or learning rate). ``evidence`` lists every part
    the verdict needs, each with its p and observed sign; ``p_value`` is the largest of them (all must
    be significant for "supported").

    Runs without a finite value (diverged) are not dropped when the metric has a ``worst`` value
    (``specs.DIVERGED_IS_WORST``): dropping them would compare only the runs that survived. They
    count as the worst, and the unit is tested on ranks. For other metrics they are left out and
    counted (``diverged`` in each group's summary)."""
    groups = [np.asarray(v, dtype=np.float64) for v in values]
    out: dict[str, Any] = {"groups": _summary(labels, groups)}
    if worst is not None and any(row["diverged"] for row in out["groups"]):
        groups = _ranks(groups, worst)
        out["ranked"] = True
    for label, g in zip(labels, groups, strict=True):
        if np.isfinite(g).sum() < 2:
            lost = int((~np.isfinite(g)).sum())
            raise DataError(f"group {label!r} has {np.isfinite(g).sum()} finite value(s) ({lost} of {g.size} runs "
                            "diverged or gave no value, and the metric is undefined for them); a test needs at least 2")
    groups = [g[np.isfinite(g)] if blocks is None else g for g in groups]
    res = _tests(groups, labels, direction, margin=margin, seed=seed, blocks=blocks)
    if out.get("ranked"):  # the same tests, on ranks: say so wherever a test is named
        for part in [res["primary"], *(pr["test"] for pr in res.get("pairs", []))]:
            part["test"] += " on ranks (diverged runs ranked worst)"
    return out | res


def _tests(groups: list[np.ndarray], labels: Sequence[str], direction: str, *, margin: float | None, seed: int,
           blocks: Sequence[np.ndarray] | None) -> dict[str, Any]:
    """The tests ``analyse_unit`` reports, on groups it has checked (and ranked, where it ranks)."""
    out: dict[str, Any] = {}
    if direction in ("increasing", "decreasing"):
        order = np.concatenate([np.full(g.size, i) for i, g in enumerate(groups)])
        trend = spearman_trend(order, np.concatenate(groups), "two-sided")
        pairs = []
        for i in range(len(groups) - 1):
            test, ranks = compare_groups(groups[i + 1], groups[i], "two-sided", seed=seed)
            pairs.append({"a": labels[i + 1], "b": labels[i], "test": test.to_dict(), "mann_whitney": ranks.to_dict(),
                          "mean_diff": float(groups[i + 1].mean() - groups[i].mean())})
        for pr, adj in zip(pairs, holm([pr["test"]["p_value"] for pr in pairs]), strict=True):
            pr["p_holm"] = adj
        evidence = [{"part": "trend (Spearman ρ)", "p": trend.p_value, "sign": int(np.sign(trend.statistic))}]
        evidence += [{"part": f"{pr['a']} vs {pr['b']}", "p": pr["p_holm"], "sign": int(np.sign(pr["mean_diff"]))}
                     for pr in pairs]
        return out | {"primary": trend.to_dict(), "estimate": trend.statistic, "pairs": pairs, "evidence": evidence,
                      "p_value": max(e["p"] for e in evidence)}
    a, b = groups
    if blocks is not None:
        ba, bb = (np.asarray(x) for x in blocks)
        keep_a, keep_b = np.isfinite(a), np.isfinite(b)
        a, b, ba, bb = a[keep_a], b[keep_b], ba[keep_a], bb[keep_b]
        test = stratified_permutation(a, b, ba, bb, "two-sided", seed=seed)
        out["per_pair"] = [{"pair": int(k), "mean_diff": float(a[ba == k].mean() - b[bb == k].mean())}
                           for k in sorted(set(ba.tolist()) & set(bb.tolist()))]
        ranks = None
    else:
        test, ranks = compare_groups(a, b, "two-sided", seed=seed)
    diff = effect_size(a, b, "mean difference", seed=seed)
    g = effect_size(a, b, "Hedges g", seed=seed)
    out |= {"primary": test.to_dict(), "effect": diff.to_dict(), "hedges_g": g.to_dict(), "estimate": diff.estimate}
    if ranks is not None:
        out["mann_whitney"] = ranks.to_dict()
    sign = int(np.sign(a.mean() - b.mean()))
    if direction == "none":
        assert margin is not None
        tost = (equivalence_tost_paired(paired_differences(a, b, ba, bb), margin) if blocks is not None
                else equivalence_tost(a, b, margin))
        return out | {"equivalence": tost.to_dict(), "p_value": tost.p_value, "difference_p": test.p_value,
                      "evidence": [{"part": "equivalence (TOST)", "p": tost.p_value, "sign": 0}]}
    return out | {"p_value": test.p_value, "evidence": [{"part": "difference", "p": test.p_value, "sign": sign}]}


def verdict_of(units: list[dict[str, Any]], direction: str, alpha: float) -> tuple[str, list[float], float]:
    """Holm-adjust the units' p-values (for and against the prediction) and decide (module docstring).
    Returns the verdict, the units' adjusted p-values and the p the verdict rests on: the largest
    adjusted p for the prediction when supported, the smallest against it when refuted (one
    significant unit refutes), else the largest of the units'."""
    want = _direction_sign(direction)
    if direction == "none":
        for_p = [u["p_value"] for u in units]
        against_p = [u["difference_p"] for u in units]
    else:
        for_p = [max(e["p"] for e in u["evidence"]) if all(e["sign"] == want for e in u["evidence"]) else 1.0
                 for u in units]
        against_p = [min([e["p"] for e in u["evidence"] if e["sign"] == -want] or [1.0]) for u in units]
    adjusted, against = holm(for_p), holm(against_p)
    units_p = holm([u["p_value"] for u in units])
    if any(p < alpha for p in against):
        return "refuted", units_p, min(against)
    if all(p < alpha for p in adjusted):
        return "supported", adjusted, max(adjusted)
    return "inconclusive", units_p, max(units_p)


def analyse(spec: HypothesisSpec, unit_values: dict[str, list[np.ndarray]], *, seed: int = 0,
            blocks: dict[str, list[np.ndarray]] | None = None) -> dict[str, Any]:
    """The full analysis: the power floor, per-unit tests, Holm across units, the verdict with its numbers.
    ``blocks``: per unit and group, the pair index of each value (paired designs)."""
    labels = [g.label for g in spec.groups]
    units = []
    for unit, values in unit_values.items():
        res = analyse_unit(values, labels, spec.direction, margin=spec.protocol.equivalence_margin, seed=seed,
                           blocks=blocks.get(unit) if blocks else None,
                           worst=DIVERGED_IS_WORST.get(spec.protocol.metric))
        units.append({"unit": unit, **res})
    verdict, adjusted, p_verdict = verdict_of(units, spec.direction, spec.protocol.alpha)
    for u, adj in zip(units, adjusted, strict=True):
        u["p_holm"] = adj
    sizes = [[g["n"] for g in u["groups"]] for u in units]
    paired_blocks = None
    if blocks:
        paired_blocks = [[(int(np.sum(bl[0] == k)), int(np.sum(bl[1] == k))) for k in np.unique(bl[0])]
                         for bl in (blocks[u] for u in unit_values)]
    power = power_floor(spec.direction, sizes, paired_blocks=paired_blocks, alpha=spec.protocol.alpha)
    if spec.protocol.kind == "warehouse":
        power = {**power, "min_p": 0.0, "decidable": True}  # thousands of cells: Welch, no floor
    if not power["decidable"] and verdict != "refuted":
        verdict = UNDECIDABLE
    # Raw values are kept for seed-sized runs (the report plots every point); benchmark-sized groups
    # keep their quartiles only (in the unit's group summaries).
    small = sum(v.size for vals in unit_values.values() for v in vals) <= MAX_STORED_VALUES
    return {"verdict": verdict, "alpha": spec.protocol.alpha, "design": spec.design(), "units": units,
            "power": power, "p_verdict": p_verdict,
            "values": {unit: [[float(x) if np.isfinite(x) else None for x in v] for v in vals]
                       for unit, vals in unit_values.items()} if small else None}


SPIKE_FACTOR = 1.5


def _spikes(loss: np.ndarray) -> int:
    """Epochs whose loss is above SPIKE_FACTOR × the lowest loss before them (a non-finite one counts)."""
    count, best = 0, np.inf
    for v in loss:
        if not np.isfinite(v) or v > SPIKE_FACTOR * best:
            count += 1
        if np.isfinite(v):
            best = min(best, v)
    return count


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
    loss = curves["train_loss"].to_numpy(np.float64)
    if metric == "loss_spikes":
        return float(_spikes(loss))
    if metric == "unstable":
        diverged = not np.all(np.isfinite(loss)) or loss[-1] > loss[0]
        return float(diverged or _spikes(loss) > 0)
    if metric == "generalisation_gap":
        return float(curves["test_loss"].iloc[-1] - curves["train_loss"].iloc[-1])
    if metric == "grad_attenuation_final":
        if "grad_attenuation" not in curves:
            raise DataError("this run's curves have no gradient-flow columns (trained before the gradient-flow "
                            "hook in explorer.experiments.train)")
        return float(curves["grad_attenuation"].iloc[-1])
    raise UserError(f"metric {metric!r} does not come from training curves")
