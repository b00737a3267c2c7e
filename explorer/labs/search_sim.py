"""The d̄/m̄ pre-filter of Chen et al. (NeurIPS 2022, Sec. 5.3) tested on benchmark data.

The box: centre = (max + min)/2 and radius = (max − min)/2 of the effective depth d̄ and width m̄
over the space's cells with defined d̄/m̄; a cell passes the filter at factor f when
|d̄ − centre| ≤ f·radius in both coordinates (the paper uses f = ½). Cells with undefined d̄/m̄ (no
parameterized input→output path) never pass.

Search simulation (``simulate``), repeated R times from one seed; in every repeat the same N
candidates are drawn (uniformly, without replacement, from the pool) for every search, so filtered
and unfiltered searches differ only by the filter (common random numbers):

- ``random``: the first candidate (a uniformly random cell), or with the filter the first one inside
  the box. No proxy is computed.
- ``proxy``: the candidate with the highest proxy score. With the filter, candidates outside the
  box are skipped before the proxy is computed, as in the paper, so the number of proxy
  evaluations is the number of candidates inside the box. If no candidate of a repeat is inside,
  the repeat falls back to the unfiltered pick and pays N evaluations (counted in ``fallbacks``).

The pool of a dataset: the cells with a 200-epoch accuracy on it and a score of the proxy (the
zero-cost proxy files cover 9,445 NB201 cells; NASWOT has no score for the 341 disconnected
cells). The reported accuracy of a pick is its 200-epoch test accuracy (NATS-Bench seed mean).

Everything here is numpy over arrays; ``load_space`` reads them from a ``explorer.benchmarks.warehouse.Warehouse``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from explorer.core.errors import UserError
from explorer.theory.spaces import Box

DEFAULT_F = 0.5
ABLATION_F: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)
DEFAULT_REPEATS = 500
DEFAULT_CANDIDATES = 100
ACC12 = "acc12"  # the 12-epoch accuracy used as a cheap training proxy
SEARCHES: tuple[str, ...] = ("random", "proxy")


@dataclass(frozen=True)
class DatasetData:
    """One dataset's view of a space: accuracy, and the proxy score (NaN where missing)."""

    dataset: str
    accuracy: NDArray[np.float64]  # 200-epoch test accuracy, NaN where missing
    proxy: NDArray[np.float64]  # the proxy's score, NaN where missing
    proxy_source: str  # e.g. 'naswot_v1 on cifar10'


@dataclass(frozen=True)
class SpaceData:
    """Cells of one space with their d̄/m̄ and, per dataset, accuracy and proxy."""

    space: str
    arch_id: NDArray[np.int64]
    effective_depth: NDArray[np.float64]  # NaN where undefined
    effective_width: NDArray[np.float64]
    datasets: dict[str, DatasetData]
    proxy: str | None

    def box(self) -> Box:
        """The space's d̄/m̄ box, from the extent of its cells with defined d̄/m̄."""
        try:
            return Box.from_extent(self.space, self.effective_depth, self.effective_width)
        except ValueError as exc:
            raise UserError(str(exc)) from None

    def inside(self, f: float, box: Box | None = None) -> NDArray[np.bool_]:
        return (box or self.box()).contains(self.effective_depth, self.effective_width, f)


# --- loading ---------------------------------------------------------------------------------------


def proxy_choices(wh: Any, space: str, dataset: str = "cifar10", *, has_acc12: bool = True) -> list[str]:
    """Proxies a search on ``dataset`` can use: the 12-epoch accuracy (when the space has it), then
    the warehouse's scores (on the dataset itself, else CIFAR-10's)."""
    names = set(wh.proxy_names(space, dataset)) | set(wh.proxy_names(space, "cifar10"))
    first = [p for p in ("naswot_v1", "nwot") if p in names]
    return [*first, *([ACC12] if has_acc12 else []), *sorted(names - set(first))]


def final_result_sets(sets: pd.DataFrame) -> pd.DataFrame:
    """One result set per (space, dataset) to search over: NB201's ``200ep`` (seed mean), else the
    space's own final schedule (NDS: ``<optim.max_ep>ep-single``; the largest when there are several)."""
    chosen = []
    for _, group in sets.groupby(["space", "dataset"], sort=False):
        if (group["schedule"] == "200ep").any():
            chosen.append(group[group["schedule"] == "200ep"].iloc[0])
        elif not (group["schedule"] == "12ep").all():
            chosen.append(group[group["schedule"] != "12ep"].sort_values("n", kind="stable").iloc[-1])
    return pd.DataFrame(chosen, columns=sets.columns).reset_index(drop=True)


def load_space(wh: Any, space: str, datasets: Sequence[str], proxy: str | None = "naswot_v1",
               schedule: str = "200ep") -> SpaceData:
    """Arrays for ``space`` from a warehouse: d̄/m̄, and per dataset its test accuracy in ``schedule``
    (NB201: 200 epochs; an NDS space: its own, see ``final_result_sets``) and the proxy (a warehouse
    proxy on the dataset if it has one, else on CIFAR-10; ``acc12``: the 12-epoch validation accuracy,
    for CIFAR-10 the ``cifar10valid`` split's; None: no proxy, random search only)."""
    from explorer.benchmarks.warehouse import Filter

    if not datasets:
        raise UserError("choose at least one dataset")
    base = wh.rows(Filter(space, datasets[0], schedule), order_by="arch_id", descending=False)
    if base.empty:
        raise UserError(f"the warehouse has no {schedule} results for {space}/{datasets[0]}")
    arch_id = base["arch_id"].to_numpy(np.int64)
    index = pd.Index(arch_id)
    per: dict[str, DatasetData] = {}
    for ds in datasets:
        rows = wh.rows(Filter(space, ds, schedule), order_by="arch_id", descending=False)
        if rows.empty:
            raise UserError(f"the warehouse has no {schedule} results for {space}/{ds}")
        acc = _align(index, rows["arch_id"], rows["test_acc"])
        values, source = (_proxy_values(wh, space, ds, proxy, index) if proxy is not None
                          else (np.full(arch_id.size, np.nan), ""))
        per[ds] = DatasetData(ds, acc, values, source)
    return SpaceData(space, arch_id, base["effective_depth"].to_numpy(np.float64),
                     base["effective_width"].to_numpy(np.float64), per, proxy)


def _align(index: pd.Index, ids: pd.Series, values: pd.Series) -> NDArray[np.float64]:
    return pd.Series(values.to_numpy(np.float64), index=ids.to_numpy(np.int64)).reindex(index).to_numpy(np.float64)


def _proxy_values(wh: Any, space: str, dataset: str, proxy: str, index: pd.Index) -> tuple[NDArray, str]:
    from explorer.benchmarks.warehouse import Filter

    if proxy == ACC12:
        source_ds = "cifar10valid" if dataset == "cifar10" else dataset
        rows = wh.rows(Filter(space, source_ds, "12ep", accuracy="valid_acc"), order_by="arch_id", descending=False)
        if rows.empty or rows["valid_acc"].isna().all():
            raise UserError(f"the warehouse has no 12-epoch validation accuracy for {space}/{source_ds}")
        return _align(index, rows["arch_id"], rows["valid_acc"]), f"12-epoch valid acc on {source_ds}"
    for source_ds in dict.fromkeys((dataset, "cifar10")):
        if proxy in wh.proxy_names(space, source_ds):
            frame = wh.proxy_frame(Filter(space, source_ds, "200ep"), [proxy])
            return _align(index, frame["arch_id"], frame["value"]), f"{proxy} on {source_ds}"
    raise UserError(f"proxy {proxy!r} is not in the warehouse for {space}; choose from "
                    f"{', '.join(proxy_choices(wh, space, dataset))}")


# --- inside vs outside -----------------------------------------------------------------------------


def box_table(data: SpaceData, f: float = DEFAULT_F, *, seed: int = 0) -> pd.DataFrame:
    """Per dataset: share of cells inside the box, accuracy inside vs outside, and the tests."""
    from explorer.labs.stats import compare_groups, effect_size  # scipy.stats: only when tests are asked for

    box = data.box()
    inside = data.inside(f, box)
    rows = []
    for ds, d in data.datasets.items():
        have = np.isfinite(d.accuracy)
        a, b = d.accuracy[have & inside], d.accuracy[have & ~inside]
        row: dict[str, Any] = {"dataset": ds, "f": f, "n_cells": int(have.sum()), "n_inside": int(a.size),
                               "share_inside": a.size / max(1, int(have.sum()))}
        row |= _describe(a, "inside") | _describe(b, "outside")
        if a.size >= 2 and b.size >= 2:
            primary, ranks = compare_groups(a, b, "two-sided", seed=seed)
            effect = effect_size(a, b, "mean difference", seed=seed, n_resamples=1000)
            g = effect_size(a, b, "Hedges g", seed=seed, n_resamples=1000)
            row |= {"test": primary.test, "statistic": primary.statistic, "p_value": primary.p_value,
                    "mann_whitney_p": ranks.p_value, "mean_diff": effect.estimate, "mean_diff_ci_low": effect.ci_low,
                    "mean_diff_ci_high": effect.ci_high, "hedges_g": g.estimate}
        rows.append(row)
    return pd.DataFrame(rows)


def _describe(x: NDArray, prefix: str) -> dict[str, float]:
    return {f"mean_{prefix}": float(x.mean()) if x.size else math.nan,
            f"std_{prefix}": float(x.std(ddof=1)) if x.size > 1 else math.nan,
            f"median_{prefix}": float(np.median(x)) if x.size else math.nan}


# --- search simulation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationConfig:
    repeats: int = DEFAULT_REPEATS
    candidates: int = DEFAULT_CANDIDATES
    fs: tuple[float, ...] = ABLATION_F
    seed: int = 0
    searches: tuple[str, ...] = SEARCHES

    def __post_init__(self) -> None:
        if not 1 <= self.repeats <= 100_000:
            raise UserError(f"repeats must be between 1 and 100,000, not {self.repeats}")
        if self.candidates < 1:
            raise UserError(f"candidates N must be at least 1, not {self.candidates}")
        if not self.fs or any(not (0 < f <= 10) for f in self.fs):
            raise UserError(f"box factors f must lie in (0, 10], got {list(self.fs)}")
        unknown = set(self.searches) - set(SEARCHES)
        if unknown or not self.searches:
            raise UserError(f"searches must be among {', '.join(SEARCHES)}, got {list(self.searches)}")


@dataclass(frozen=True)
class Picks:
    """Raw outcome of one (dataset, search, filter) over R repeats."""

    accuracy: NDArray[np.float64]  # (R,) picked cell's 200-epoch accuracy
    arch_id: NDArray[np.int64]  # (R,)
    evaluations: NDArray[np.int64]  # (R,) proxy evaluations paid
    fallbacks: int


@dataclass
class SimulationResult:
    table: pd.DataFrame
    picks: dict[tuple[str, str, float | None], Picks] = field(default_factory=dict)
    box: Box | None = None
    config: SimulationConfig | None = None


def draw_candidates(pool_size: int, repeats: int, candidates: int, seed: int) -> NDArray[np.int64]:
    """(R, N) positions into the pool, each row N distinct ones in random order."""
    if candidates > pool_size:
        raise UserError(f"N = {candidates} candidates but the pool has only {pool_size} cells")
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(pool_size, candidates, replace=False) for _ in range(repeats)])


def pick(shape: tuple[int, int], scores: NDArray[np.float64] | None,
         allowed: NDArray[np.bool_] | None) -> tuple[NDArray, NDArray, NDArray]:
    """Vectorised choice over (R, N) candidates: column picked, evaluations, fallback flags.

    ``scores`` None: random search (first allowed candidate, no evaluations). ``allowed`` None: no filter."""
    r, n = shape
    if allowed is None:
        allowed = np.ones((r, n), dtype=bool)
    fallback = ~allowed.any(axis=1)
    allowed = allowed | fallback[:, None]  # a repeat with nothing inside searches unfiltered
    if scores is None:
        return np.argmax(allowed, axis=1), np.zeros(r, dtype=np.int64), fallback
    masked = np.where(allowed, scores, -np.inf)
    return np.argmax(masked, axis=1), allowed.sum(axis=1).astype(np.int64), fallback


def simulate(data: SpaceData, config: SimulationConfig = SimulationConfig()) -> SimulationResult:
    """Random and proxy-guided search, unfiltered and with the box at each f, on every dataset."""
    box = data.box()
    masks = {f: data.inside(f, box) for f in config.fs}
    rows: list[dict[str, Any]] = []
    picks: dict[tuple[str, str, float | None], Picks] = {}
    for ds, d in data.datasets.items():
        # Without a proxy (NDS has none) every cell with an accuracy is a candidate, for random search.
        usable = np.isfinite(d.accuracy) & (np.isfinite(d.proxy) if data.proxy is not None else True)
        pool = np.flatnonzero(usable)
        draws = pool[draw_candidates(pool.size, config.repeats, config.candidates, config.seed)]
        acc, scores = d.accuracy[draws], d.proxy[draws]
        for search in config.searches:
            if search == "proxy" and data.proxy is None:
                continue
            base_evals, base_chosen = None, None
            for f in (None, *config.fs):
                allowed = None if f is None else masks[f][draws]
                col, evals, fallback = pick(draws.shape, scores if search == "proxy" else None, allowed)
                chosen = np.take_along_axis(acc, col[:, None], axis=1)[:, 0]
                ids = data.arch_id[np.take_along_axis(draws, col[:, None], axis=1)[:, 0]]
                p = Picks(chosen, ids, evals, int(fallback.sum()))
                picks[(ds, search, f)] = p
                total = int(evals.sum())
                if f is None:
                    base_evals, base_chosen = total, chosen
                gain = _paired_gain(chosen - base_chosen)
                rows.append({
                    "dataset": ds, "search": search if search == "random" else f"proxy ({data.proxy})",
                    "filter": "none" if f is None else f"box f={f:g}", "f": f,
                    "pool": int(pool.size), "share_inside_pool": None if f is None else float(masks[f][pool].mean()),
                    "repeats": config.repeats, "candidates": config.candidates,
                    "mean_acc": float(chosen.mean()), "std_acc": float(chosen.std(ddof=1)) if chosen.size > 1 else 0.0,
                    "mean_evaluations": float(evals.mean()), "total_evaluations": total,
                    "evaluation_reduction": (1 - total / base_evals) if base_evals else None,
                    "gain_vs_unfiltered": gain[0], "gain_ci_low": gain[1], "gain_ci_high": gain[2],
                    "fallbacks": p.fallbacks, "proxy_source": d.proxy_source if search == "proxy" else "",
                })
    return SimulationResult(pd.DataFrame(rows), picks, box, config)


def _paired_gain(diff: NDArray[np.float64]) -> tuple[float, float, float]:
    """Mean of the per-repeat accuracy gain of the filtered over the unfiltered search (same candidates)
    and its 95 % t interval."""
    from scipy import stats as sps

    mean = float(diff.mean())
    if diff.size < 2 or np.ptp(diff) == 0:
        return mean, mean, mean
    half = float(sps.t.ppf(0.975, diff.size - 1) * diff.std(ddof=1) / np.sqrt(diff.size))
    return mean, mean - half, mean + half


def main_table(result: SimulationResult, f: float = DEFAULT_F) -> pd.DataFrame:
    """The paper-style table: unfiltered and filtered at ``f`` only."""
    return main_table_of(result.table, f)


def main_table_of(table: pd.DataFrame, f: float = DEFAULT_F) -> pd.DataFrame:
    return table[table["f"].isna() | np.isclose(table["f"].fillna(-1.0), f)].reset_index(drop=True)


def format_table(table: pd.DataFrame) -> str:
    """Plain-text table: mean ± std accuracy, proxy evaluations and their reduction."""
    out = pd.DataFrame(
        {
            "dataset": table["dataset"],
            "search": table["search"],
            "filter": table["filter"],
            "accuracy (mean ± std)": [
                f"{m:.2f} ± {s:.2f}" for m, s in zip(table["mean_acc"], table["std_acc"], strict=True)
            ],
            "gain [95% CI]": [
                f"{g:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                for g, lo, hi in zip(
                    table["gain_vs_unfiltered"], table["gain_ci_low"], table["gain_ci_high"], strict=True
                )
            ],
            "proxy evals / run": [f"{e:.1f}" for e in table["mean_evaluations"]],
            "reduction": [
                "" if r is None or (isinstance(r, float) and math.isnan(r)) else f"{100 * r:.1f}%"
                for r in table["evaluation_reduction"]
            ],
            "fallbacks": table["fallbacks"],
        }
    )
    return out.to_string(index=False)


# --- long frames for plots ---------------------------------------------------------------------------


def inside_outside_frame(data: SpaceData, f: float = DEFAULT_F) -> pd.DataFrame:
    """One row per (dataset, cell with an accuracy): arch_id, accuracy, 'inside'/'outside' the box."""
    inside = data.inside(f)
    parts = []
    for ds, d in data.datasets.items():
        have = np.isfinite(d.accuracy)
        parts.append(pd.DataFrame({"dataset": ds, "arch_id": data.arch_id[have], "accuracy": d.accuracy[have],
                                   "box": np.where(inside[have], "inside", "outside")}))
    return pd.concat(parts, ignore_index=True)


def picks_frame(result: SimulationResult) -> pd.DataFrame:
    """One row per (dataset, search, filter, repeat): the picked cell and its accuracy."""
    parts = []
    for (ds, search, f), p in result.picks.items():
        parts.append(pd.DataFrame({"dataset": ds, "search": search, "filter": "none" if f is None else f"box f={f:g}",
                                   "f": np.nan if f is None else f, "repeat": np.arange(p.accuracy.size),
                                   "arch_id": p.arch_id, "accuracy": p.accuracy, "evaluations": p.evaluations}))
    return pd.concat(parts, ignore_index=True)


def score_percentile(score: float, scores: NDArray[np.float64]) -> float:
    """Share of the (finite) ``scores`` below ``score``: where a cell lands among the space's cells."""
    finite = np.asarray(scores, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        raise UserError("no scores to compare with")
    return float(np.mean(finite < score))
