"""The principles lab: pre-registered hypotheses about skip connections, run and analysed.

A hypothesis (``HypothesisSpec``) names a statement, a predicted direction, the groups of cells it
compares and the protocol (data, network, optimizer, epochs, seeds, metric, α). Saving it stores a
versioned record (``db.hypotheses``); running it locks that version (pre-registration) and either
queues one ``train`` job per (cell, seed) or, for warehouse-only hypotheses, queries the benchmark
warehouse. The analysis picks the test from the design:

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

import html
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from db.hypotheses import HypothesisStore, HypothesisStoreError, StoredHypothesis
from explorer.core.access import OPEN, User
from explorer.core.errors import DataError, SpecError, UserError
from explorer.experiments.datasets import DataSpec
from explorer.jobs.registry import validate_model
from explorer.labs.stats import (
    compare_groups,
    effect_size,
    equivalence_tost,
    holm,
    spearman_trend,
)

Direction = Literal["greater", "less", "none", "increasing", "decreasing"]
METRICS: dict[str, str] = {
    "train_loss_auc": "mean training loss over epochs 1..k (area under the training curve / k; lower = faster)",
    "train_loss_at_epoch": "training loss (epoch mean) at epoch k",
    "final_train_loss": "training loss of the last epoch",
    "final_test_acc": "test accuracy after the last epoch",
    "test_acc_at_epoch": "test accuracy at epoch k",
    "hessian_top": "largest Hessian eigenvalue of the training loss at the final weights (a hessian_top job "
                   "per train job, queued when the training has finished)",
    "accuracy": "benchmark accuracy (warehouse hypotheses)",
}
FOLLOW_UP_METRICS = ("hessian_top",)
VERDICTS = ("supported", "refuted", "inconclusive")
MAX_STORED_VALUES = 5000


class WarehouseGroup(BaseModel):
    """Cells of a warehouse space: a warehouse filter (ranges over its columns, numbers of conv edges)
    and/or their place relative to the d̄/m̄ box."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    space: str = "nb201"
    box: Literal["inside", "outside"] | None = None
    f: float = Field(0.5, gt=0, le=10)
    ranges: dict[str, tuple[float | None, float | None]] = Field(
        default_factory=dict, description="column -> (low, high), either end null for open (browse page filters)")
    n_conv: tuple[int, ...] | None = Field(None, description="allowed numbers of conv edges (null: any)")

    @model_validator(mode="after")
    def _columns(self) -> WarehouseGroup:
        from explorer.benchmarks.warehouse import RANGE_COLUMNS

        unknown = set(self.ranges) - set(RANGE_COLUMNS)
        if unknown:
            raise ValueError(f"cannot filter on {sorted(unknown)}; columns: {', '.join(RANGE_COLUMNS)}")
        return self

    def describe(self) -> str:
        parts = [f"{self.space} cells"]
        if self.box:
            parts.append(f"{self.box} the d̄/m̄ box (f = {self.f:g})")
        parts += [f"{c} in [{'−∞' if lo is None else f'{lo:g}'}, {'∞' if hi is None else f'{hi:g}'}]"
                  for c, (lo, hi) in self.ranges.items()]
        if self.n_conv is not None:
            parts.append(f"conv edges in {list(self.n_conv)}")
        return ", ".join(parts)


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, max_length=120)
    cells: tuple[str, ...] = Field((), description="cell texts (any format); one train job per cell and seed")
    warehouse: WarehouseGroup | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Group:
        if bool(self.cells) == (self.warehouse is not None):
            raise ValueError(f"group {self.label!r}: give either cells or a warehouse selection")
        return self


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["train", "warehouse"] = "train"
    metric: str = "train_loss_auc"
    metric_epoch: int | None = Field(None, ge=1, description="k of the *_at_epoch / auc metrics (default: last)")
    alpha: float = Field(0.05, gt=0, lt=1)
    equivalence_margin: float | None = Field(None, gt=0, description="for direction 'none': |difference| below this")
    # train protocols
    data: DataSpec = DataSpec()
    network: Literal["mlp", "nb201", "darts"] | None = None
    width: int = Field(256, ge=1, le=16384)
    channels: int = Field(16, ge=2, le=1024)
    cells_per_stage: int = Field(5, ge=0, le=64)
    layers: int = Field(8, ge=1, le=64)
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(0.05, gt=0, le=10)
    momentum: float = Field(0.9, ge=0, lt=1)
    batch_size: int = Field(128, ge=1, le=65536)
    epochs: int = Field(10, ge=1, le=10000)
    seeds: tuple[int, ...] = Field((0, 1, 2), min_length=1)
    hessian_samples: int = Field(1000, ge=1, le=1_000_000, description="hessian_top: size of the evaluation subset")
    # warehouse protocols
    datasets: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16")
    schedule: str = "200ep"

    @model_validator(mode="after")
    def _check(self) -> Protocol:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}")
        if (self.kind == "warehouse") != (self.metric == "accuracy"):
            raise ValueError("warehouse hypotheses use the metric 'accuracy'; train ones a training metric")
        if self.metric_epoch is not None and self.metric_epoch > self.epochs:
            raise ValueError(f"metric_epoch {self.metric_epoch} is after the last epoch ({self.epochs})")
        return self


class HypothesisSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    title: str = Field(min_length=1, max_length=200)
    statement: str = Field(min_length=1)
    source: str = ""
    direction: Direction
    groups: tuple[Group, ...] = Field(min_length=2)
    protocol: Protocol = Protocol()

    @model_validator(mode="after")
    def _design(self) -> HypothesisSpec:
        two = len(self.groups) == 2
        if self.direction in ("greater", "less", "none") and not two:
            raise ValueError(f"direction {self.direction!r} compares exactly two groups (first vs second)")
        if self.direction in ("increasing", "decreasing") and len(self.groups) < 3:
            raise ValueError("a trend needs at least 3 ordered groups")
        if self.direction == "none" and self.protocol.equivalence_margin is None:
            raise ValueError("direction 'none' needs protocol.equivalence_margin (the largest difference that counts as none)")
        warehouse = [g.warehouse is not None for g in self.groups]
        if any(warehouse) and (not all(warehouse) or self.protocol.kind != "warehouse"):
            raise ValueError("warehouse groups need protocol.kind 'warehouse' (and every group from the warehouse)")
        if self.protocol.kind == "warehouse" and not all(warehouse):
            raise ValueError("a warehouse protocol needs every group to be a warehouse selection")
        return self

    def design(self) -> str:
        return {"greater": "two groups", "less": "two groups", "none": "two groups (equivalence)",
                "increasing": "ordered groups (trend)", "decreasing": "ordered groups (trend)"}[self.direction]

    def with_protocol(self, **changes: Any) -> HypothesisSpec:
        """A copy with protocol fields changed (a new spec: saving it under a locked key makes a new version)."""
        return self.model_copy(update={"protocol": validate_model(Protocol, {**self.protocol.model_dump(), **changes},
                                                                  "protocol")})


# --- built-ins --------------------------------------------------------------------------------------


def _preset(name: str) -> str:
    from explorer.cell.presets import get_preset

    return get_preset(name).cell.to_text()


def _mlp(edges: Sequence[tuple[int, int, str]], n_nodes: int) -> str:
    from explorer.cell.model import Cell, Edge

    roles = ("input", *("intermediate",) * (n_nodes - 2), "output")
    return Cell(roles, tuple(Edge(s, d, op) for s, d, op in edges)).to_text()


def _darts_pairs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from explorer.cell.presets import PRESETS
    from explorer.theory.variants import adapt

    originals = [p.cell for p in PRESETS if p.space == "darts"]
    return tuple(adapt(c).to_text() for c in originals), tuple(c.to_text() for c in originals)


CONVERGENCE = dict(data={"name": "digits_flat"}, network="mlp", width=256, optimizer="sgd", lr=0.01, momentum=0.0,
                   batch_size=64, epochs=20, seeds=(0, 1, 2, 3, 4), metric="train_loss_auc")
DARTS_SMALL = dict(data={"name": "digits"}, network="darts", channels=8, layers=3, optimizer="sgd", lr=0.025,
                   momentum=0.9, batch_size=64, epochs=10, seeds=(0, 1, 2))


def builtins() -> list[HypothesisSpec]:
    """H1–H6: claims from Chen et al. (NeurIPS 2022) and Shu et al. (ICLR 2020), ready to run."""
    wider, originals = _darts_pairs()
    sequential = [(0, 1, "linear"), (1, 2, "linear"), (2, 3, "linear")]
    specs = [
        dict(key="H1", title="Chen et al.: DAG#3 converges faster than DAG#2, faster than DAG#1",
             statement="At equal parameter count, the mixed MLP cell DAG#3 reaches lower training loss sooner than "
                       "the parallel DAG#2, which does so sooner than the sequential DAG#1.",
             source="Chen et al., NeurIPS 2022, Sec. 4 / Fig. 3", direction="decreasing",
             groups=[{"label": "DAG#1 (sequential)", "cells": [_preset("DAG#1 (sequential)")]},
                     {"label": "DAG#2 (parallel)", "cells": [_preset("DAG#2 (parallel)")]},
                     {"label": "DAG#3 (mixed)", "cells": [_preset("DAG#3 (mixed)")]}],
             protocol={**CONVERGENCE}),
        dict(key="H2", title="Shu et al.: wider, shallower DARTS cells converge faster",
             statement="The widest and shallowest rewiring of a popular NAS cell (same ops, every intermediate node "
                       "fed by the cell inputs) trains faster than the original cell.",
             source="Shu et al., ICLR 2020, Sec. 5 / Fig. 4", direction="less",
             groups=[{"label": "adapted (wide, shallow)", "cells": list(wider)},
                     {"label": "original", "cells": list(originals)}],
             protocol={**DARTS_SMALL, "metric": "train_loss_auc"}),
        dict(key="H3", title="Shu et al.: wider, shallower cells do not generalise better",
             statement="The adapted (wide, shallow) cells reach the same test accuracy as the originals, within "
                       "1 percentage point.",
             source="Shu et al., ICLR 2020, Sec. 5 / Table 1", direction="none",
             groups=[{"label": "adapted (wide, shallow)", "cells": list(wider)},
                     {"label": "original", "cells": list(originals)}],
             protocol={**DARTS_SMALL, "metric": "final_test_acc", "equivalence_margin": 0.01}),
        dict(key="H4", title="Skip connections speed up convergence at equal parameters",
             statement="Adding parameter-free skip edges (input→node 2, node 1→output) to a 3-layer sequential MLP "
                       "cell lowers the training-loss curve.",
             source="He et al. 2016; Chen et al. 2022 (skips raise m̄ at equal parameters)", direction="less",
             groups=[{"label": "sequential + skips", "cells": [_mlp([*sequential, (0, 2, "skip_connect"),
                                                                      (1, 3, "skip_connect")], 4)]},
                     {"label": "sequential", "cells": [_mlp(sequential, 4)]}],
             protocol={**CONVERGENCE}),
        dict(key="H5", title="Negative case: a skip connection gives no benefit in a shallow network",
             statement="In a one-layer MLP cell, adding a parallel skip edge changes the training-loss curve by less "
                       "than 0.02 (mean cross-entropy over the epochs).",
             source="the flip side of H4: a skip only shortens paths that are long", direction="none",
             groups=[{"label": "one layer + skip", "cells": [_mlp([(0, 1, "linear"), (0, 1, "skip_connect")], 2)]},
                     {"label": "one layer", "cells": [_mlp([(0, 1, "linear")], 2)]}],
             protocol={**CONVERGENCE, "equivalence_margin": 0.02}),
        dict(key="H6", title="NB201 cells inside the d̄/m̄ box are more accurate than those outside",
             statement="On every NB201 dataset the mean 200-epoch test accuracy of cells inside the box (f = ½) "
                       "is higher than outside.",
             source="Chen et al., NeurIPS 2022, Sec. 5.3", direction="greater",
             groups=[{"label": "inside the box", "warehouse": {"space": "nb201", "box": "inside", "f": 0.5}},
                     {"label": "outside the box", "warehouse": {"space": "nb201", "box": "outside", "f": 0.5}}],
             protocol={"kind": "warehouse", "metric": "accuracy", "datasets": ["cifar10", "cifar100", "imagenet16"],
                       "schedule": "200ep"}),
    ]
    return [validate_model(HypothesisSpec, s, "hypothesis") for s in specs]


def builtin(key: str) -> HypothesisSpec:
    for spec in builtins():
        if spec.key == key:
            return spec
    raise UserError(f"no built-in hypothesis {key!r}; built-ins: H1–H6")


# --- analysis (pure) ----------------------------------------------------------------------------------


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


# --- metrics of finished train jobs ------------------------------------------------------------------


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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def train_specs(spec: HypothesisSpec) -> list[tuple[int, str, int, dict[str, Any]]]:
    """(group index, cell, seed, train spec) for every job a train hypothesis needs. Like a preset's
    runs, the specs carry the hypothesis as their ``experiment`` (Experiment results groups them by it)
    and a ``name`` for the cell: its group's label, with the cell's own name when the group has several
    (numbered where two cells of a group share a name, e.g. the same P, d̄ and m̄)."""
    from collections import Counter

    from explorer.jobs.labels import cell_title

    p = spec.protocol
    experiment = _clip(f"{spec.key} · {spec.title}", 120)  # TrainSpec's limits
    jobs = []
    for gi, group in enumerate(spec.groups):
        titles = [cell_title(cell) for cell in group.cells]
        repeated = Counter(titles)
        for k, (cell, title) in enumerate(zip(group.cells, titles, strict=True)):
            if len(group.cells) == 1:
                name = group.label
            else:
                name = f"{group.label} · {title}" + (f" · cell {k + 1}" if repeated[title] > 1 else "")
            for seed in p.seeds:
                jobs.append((gi, cell, seed, {
                    "experiment": experiment, "name": _clip(name, 80),
                    "network": {"cell": cell, "network": p.network, "width": p.width, "channels": p.channels,
                                "cells_per_stage": p.cells_per_stage, "layers": p.layers},
                    "data": p.data.model_dump(mode="json"), "optimizer": p.optimizer, "lr": p.lr,
                    "momentum": p.momentum, "batch_size": p.batch_size, "epochs": p.epochs, "seed": seed,
                }))
    return jobs


# --- the lab: records, running, analysing ----------------------------------------------------------------


@dataclass(frozen=True)
class Hypothesis:
    """A stored record with its parsed spec."""

    record: StoredHypothesis
    spec: HypothesisSpec

    key = property(lambda self: self.record.key)
    version = property(lambda self: self.record.version)
    status = property(lambda self: self.record.status)
    verdict = property(lambda self: self.record.verdict)
    job_ids = property(lambda self: self.record.job_ids)
    result = property(lambda self: self.record.result)

    def summary(self) -> dict[str, Any]:
        return {"key": self.key, "version": self.version, "title": self.spec.title, "statement": self.spec.statement,
                "status": self.status, "verdict": self.verdict, "locked": self.record.locked,
                "jobs": len(self.job_ids), "message": self.record.message}

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {**self.summary(), "spec": self.spec.model_dump(mode="json"), "job_ids": self.job_ids,
                "created_at": r.created_at.isoformat(), "locked_at": r.locked_at.isoformat() if r.locked_at else None,
                "result": self.result}

    def describe(self) -> str:
        lines = [f"{self.key} v{self.version}: {self.spec.title}", f"  {self.spec.statement}",
                 f"  direction: {self.spec.direction} ({self.spec.design()}); status {self.status}"
                 + (f"; verdict {self.verdict}" if self.verdict else "")]
        lines += [f"  group {g.label}: " + (f"{len(g.cells)} cell(s)" if g.cells else json.dumps(
            g.warehouse.model_dump() if g.warehouse else {})) for g in self.spec.groups]
        lines.append("  protocol: " + json.dumps(self.spec.protocol.model_dump(mode="json", exclude_defaults=True)))
        return "\n".join(lines)


class Lab:
    """Hypotheses stored in the job store's database, run through its queue."""

    def __init__(self, store: Any, warehouse_path: str | Path | None = None) -> None:
        from explorer.core.settings import get_settings

        self.store = store
        self.records = HypothesisStore(store.engine)
        self.warehouse_path = Path(warehouse_path) if warehouse_path else get_settings().warehouse_path

    def _wrap(self, record: StoredHypothesis) -> Hypothesis:
        return Hypothesis(record, validate_model(HypothesisSpec, record.spec, f"hypothesis {record.key}"))

    def ensure_builtins(self) -> None:
        """Store H1–H6 where the database has no record of that key yet."""
        for spec in builtins():
            if self.records.latest(spec.key) is None:
                self.records.save(spec.key, spec.model_dump(mode="json"))

    def save(self, spec: HypothesisSpec | dict[str, Any]) -> Hypothesis:
        """Store a hypothesis (validated); a changed spec under a locked key becomes a new version."""
        model = spec if isinstance(spec, HypothesisSpec) else validate_model(HypothesisSpec, spec, "hypothesis")
        return self._wrap(self.records.save(model.key, model.model_dump(mode="json")))

    def latest(self) -> list[Hypothesis]:
        self.ensure_builtins()
        return [self._wrap(r) for r in self.records.all_latest()]

    def get(self, key: str, version: int | None = None) -> Hypothesis:
        self.ensure_builtins()
        try:
            return self._wrap(self.records.get(key, version))
        except HypothesisStoreError as exc:
            known = ", ".join(r.key for r in self.records.all_latest())
            raise UserError(f"{exc}; hypotheses: {known}") from None

    def versions(self, key: str) -> list[Hypothesis]:
        return [self._wrap(r) for r in self.records.versions(key)]

    def run(self, key: str, *, user: User = OPEN) -> Hypothesis:
        """Lock the latest version and start it: queue its train jobs (as ``user``'s, all or none),
        or analyse warehouse data now."""
        from explorer.jobs.queue import submit_many

        h = self.get(key)
        if h.record.locked:
            raise UserError(f"{key} v{h.version} was already run ({h.status}); change its spec to make a new version")
        if h.spec.protocol.kind == "warehouse":
            values = self._warehouse_values(h.spec)  # before locking: a missing warehouse leaves a draft
            record = self.records.lock(h.record.id, [], status="running")
            return self._finish(self._wrap(record), values)
        job_ids = submit_many(self.store, [("train", spec) for _gi, _cell, _seed, spec in train_specs(h.spec)],
                              user=user)
        return self._wrap(self.records.lock(h.record.id, job_ids))

    def job_status(self, h: Hypothesis) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job_id in h.job_ids:
            status = self.store.get(job_id).status
            counts[status] = counts.get(status, 0) + 1
        return counts

    def analyse(self, key: str, version: int | None = None) -> Hypothesis:
        """Analyse a run whose jobs have all finished (warehouse runs are analysed by ``run``)."""
        h = self.get(key, version)
        if not h.record.locked:
            raise UserError(f"{key} v{h.version} has not been run yet")
        if h.spec.protocol.kind == "warehouse":
            return self._finish(h, self._warehouse_values(h.spec))
        counts = self.job_status(h)
        pending = counts.get("queued", 0) + counts.get("running", 0)
        if pending:
            raise UserError(f"{key} v{h.version}: {pending} of {len(h.job_ids)} jobs are still queued or running")
        if self._needs_follow_up(h):
            return self._queue_follow_up(h)
        return self._finish(h, self._train_values(h))

    def _needs_follow_up(self, h: Hypothesis) -> bool:
        return h.spec.protocol.metric in FOLLOW_UP_METRICS and len(h.job_ids) == len(train_specs(h.spec))

    def _queue_follow_up(self, h: Hypothesis) -> Hypothesis:
        """Queue one hessian_top job per succeeded train job (the metric is computed on its weights)."""
        from explorer.jobs.queue import submit

        failed = [j for j in h.job_ids if self.store.get(j).status != "succeeded"]
        if failed:
            return self._wrap(self.records.set_result(
                h.record.id, status="failed", message=f"train jobs {failed} did not succeed; nothing to measure"))
        follow = [submit(self.store, "hessian_top", {"train_job": j, "top_k": 1,
                                                     "samples": h.spec.protocol.hessian_samples, "seed": 0})
                  for j in h.job_ids]
        return self._wrap(self.records.add_jobs(h.record.id, follow))

    def refresh(self) -> list[Hypothesis]:
        """Analyse every running train hypothesis whose jobs have all finished; the latest records."""
        for h in self.latest():
            if h.status == "running" and h.spec.protocol.kind == "train":
                counts = self.job_status(h)
                if not counts.get("queued") and not counts.get("running"):
                    self.analyse(h.key, h.version)
        return self.latest()

    def _finish(self, h: Hypothesis, values: dict[str, list[np.ndarray]]) -> Hypothesis:
        try:
            result = analyse(h.spec, values)
        except (DataError, ValueError) as exc:
            return self._wrap(self.records.set_result(h.record.id, status="failed", message=str(exc)))
        result["protocol"] = h.spec.protocol.model_dump(mode="json")
        return self._wrap(self.records.set_result(h.record.id, status="analysed", result=result,
                                                  verdict=result["verdict"], message=verdict_sentence(h.spec, result)))

    def _train_values(self, h: Hypothesis) -> dict[str, list[np.ndarray]]:
        p = h.spec.protocol
        per_group: list[list[float]] = [[] for _ in h.spec.groups]
        failed = []
        plan = train_specs(h.spec)
        # Follow-up jobs (hessian_top) come after the train jobs, in the same order.
        measured = h.job_ids[len(plan):] if p.metric in FOLLOW_UP_METRICS else h.job_ids[: len(plan)]
        for (gi, _cell, _seed, _spec), job_id in zip(plan, measured, strict=True):
            job = self.store.get(job_id)
            if job.status != "succeeded":
                failed.append(job_id)
                continue
            if p.metric == "hessian_top":
                per_group[gi].append(float(job.result["eigenvalues"][0]))
                continue
            curves = curves_from_csv(self.store.read_artifact(job_id, "curves.csv"))
            per_group[gi].append(metric_value(curves, p.metric, p.metric_epoch))
        if failed:
            raise DataError(f"jobs {failed} did not succeed; retry them (explorer jobs retry ID) and analyse again")
        return {p.metric: [np.asarray(v) for v in per_group]}

    def _warehouse_values(self, spec: HypothesisSpec) -> dict[str, list[np.ndarray]]:
        """Per dataset, each group's accuracies: the group's warehouse filter, then its box condition."""
        from explorer.benchmarks.warehouse import Filter, open_shared
        from explorer.labs.search_sim import load_space

        wh = open_shared(self.warehouse_path)
        groups = [g.warehouse for g in spec.groups if g.warehouse is not None]
        spaces = {g.space for g in groups}
        if len(spaces) != 1:
            raise SpecError("warehouse groups must come from one space")
        space = spaces.pop()
        p = spec.protocol
        box = load_space(wh, space, [p.datasets[0]], proxy=None).box() if any(g.box for g in groups) else None
        out: dict[str, list[np.ndarray]] = {}
        for ds in p.datasets:
            vals = []
            for g in groups:
                rows = wh.rows(Filter(space, ds, p.schedule, ranges=g.ranges, n_conv=g.n_conv),
                               columns=("arch_id", "effective_depth", "effective_width", "test_acc"),
                               order_by="arch_id", descending=False)
                acc = rows["test_acc"].to_numpy(np.float64)
                keep = np.isfinite(acc)
                if g.box is not None and box is not None:
                    inside = box.contains(rows["effective_depth"].to_numpy(np.float64),
                                          rows["effective_width"].to_numpy(np.float64), g.f)
                    keep &= inside if g.box == "inside" else ~inside
                vals.append(acc[keep])
            out[ds] = vals
        return out


# --- reports -----------------------------------------------------------------------------------------------


def verdict_sentence(spec: HypothesisSpec, result: dict[str, Any]) -> str:
    parts = []
    for u in result["units"]:
        test = u.get("equivalence", u["primary"])
        est = f"{test['test']} {u['estimate']:+.4g}"
        parts.append(f"{u['unit']}: {est}, p = {format_p(u['p_value'])} (Holm {format_p(u['p_holm'])})")
    return f"{result['verdict']} at α = {result['alpha']:g}: " + "; ".join(parts)


def _protocol_lines(spec: HypothesisSpec) -> list[str]:
    p = spec.protocol
    if p.kind == "warehouse":
        return [f"- Source: the benchmark warehouse, {p.schedule} results, datasets {', '.join(p.datasets)}",
                f"- Metric: {p.metric} — {METRICS[p.metric]}", f"- α = {p.alpha:g} (Holm across datasets)"]
    sizes = {"mlp": f"width {p.width}", "nb201": f"C = {p.channels}, N = {p.cells_per_stage}",
             "darts": f"C = {p.channels}, {p.layers} cells"}
    size = sizes.get(p.network or "", f"width {p.width} (MLP) / C = {p.channels}, N = {p.cells_per_stage} (NB201) / "
                     f"C = {p.channels}, {p.layers} cells (DARTS)")
    return [f"- Data: `{p.data.model_dump_json(exclude_none=True)}`",
            f"- Network: {p.network or 'each cell’s own kind'} ({size})",
            f"- Optimizer: {p.optimizer}, lr {p.lr:g}, momentum {p.momentum:g}, batch {p.batch_size}, {p.epochs} epochs",
            f"- Seeds: {', '.join(map(str, p.seeds))} (one train job per cell and seed)",
            f"- Metric: {p.metric}{f' (k = {p.metric_epoch})' if p.metric_epoch else ''} — {METRICS[p.metric]}",
            f"- α = {p.alpha:g}" + (f", equivalence margin {p.equivalence_margin:g}" if p.equivalence_margin else "")]


def report_markdown(h: Hypothesis) -> str:
    """The report: statement, exact protocol, groups, the numbers and the verdict."""
    s = h.spec
    lines = [f"# {s.key} (v{h.version}): {s.title}", "", f"> {s.statement}", "",
             f"Source: {s.source or '—'}  ", f"Predicted direction: **{s.direction}** ({s.design()})  ",
             f"Status: {h.status}" + (f", locked (pre-registered) {h.record.locked_at:%Y-%m-%d %H:%M} UTC"
                                      if h.record.locked_at else ", draft (not yet run)"), "",
             "## Protocol", *_protocol_lines(s), "", "## Groups"]
    for g in s.groups:
        if g.cells:
            lines.append(f"- **{g.label}**: " + ", ".join(f"`{c}`" for c in g.cells))
        else:
            assert g.warehouse is not None
            lines.append(f"- **{g.label}**: {g.warehouse.describe()}")
    if h.result:
        r = h.result
        lines += ["", "## Result", f"**Verdict: {r['verdict']}** — {h.record.message}", ""]
        for u in r["units"]:
            lines += [f"### {u['unit']}", "", "| group | n | mean | std | median |", "|---|---|---|---|---|"]
            lines += [f"| {g['label']} | {g['n']} | {g['mean']:.5g} | {g['std']:.3g} | {g['median']:.5g} |"
                      for g in u["groups"]]
            prim = u["primary"]
            if "equivalence" in u:  # 'no difference': the equivalence test decides, the difference test can refute
                lines += ["", f"- Equivalence (TOST, margin {u['equivalence']['details']['margin']:g}): "
                          f"p = {format_p(u['equivalence']['p_value'])}, Holm-adjusted p = {format_p(u['p_holm'])}",
                          f"- Difference test: {prim['test']}, statistic {prim['statistic']:.4g}, "
                          f"p = {format_p(prim['p_value'])}"]
            else:
                lines += ["", f"- Primary test: {prim['test']}, statistic {prim['statistic']:.4g}, "
                          f"p = {format_p(prim['p_value'])}, Holm-adjusted p = {format_p(u['p_holm'])}"]
            if "mann_whitney" in u:
                lines.append(f"- Mann–Whitney U: p = {format_p(u['mann_whitney']['p_value'])}")
            if "effect" in u:
                e, g = u["effect"], u["hedges_g"]
                lines.append(f"- Difference of means (first − second): {e['estimate']:.4g} "
                             f"[{_fmt(e['ci_low'])}, {_fmt(e['ci_high'])}] (95 % bootstrap CI); Hedges g {g['estimate']:.3g} "
                             f"[{_fmt(g['ci_low'])}, {_fmt(g['ci_high'])}]")
            for p in u.get("pairs", []):
                lines.append(f"- {p['a']} vs {p['b']}: difference {p['mean_diff']:.4g}, {p['test']['test']} "
                             f"p = {format_p(p['test']['p_value'])} (Holm {format_p(p['p_holm'])})")
            lines.append("")
    elif h.record.message:
        lines += ["", "## Result", h.record.message]
    if h.job_ids:
        lines += ["", f"Jobs: {', '.join(map(str, h.job_ids))}"]
    return "\n".join(lines) + "\n"


def format_p(p: float | None) -> str:
    """A p-value for people: a p that underflowed to 0 is '< 1e-300', never 'p = 0'."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    return "< 1e-300" if p == 0 else f"{p:.3g}"



def _fmt(v: float | None) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


def result_figure(h: Hypothesis):
    """Box plot of the values per group (one panel per unit), or None before a result exists."""
    import plotly.express as px
    import plotly.graph_objects as go

    if not h.result:
        return None
    title = f"{h.spec.key}: {h.spec.protocol.metric}"
    if h.result.get("values"):
        rows = [{"unit": unit, "group": h.spec.groups[gi].label, "value": v}
                for unit, groups in h.result["values"].items() for gi, vals in enumerate(groups) for v in vals]
        fig = px.box(pd.DataFrame(rows), x="group", y="value", facet_col="unit", points="all", title=title)
        fig.update_yaxes(matches=None)
        return fig
    # Quartiles only (warehouse units keep summaries, not values): one box per (unit, group), the
    # units side by side along x, the groups told apart by colour and legend.
    fig = go.Figure()
    for gi, group in enumerate(h.spec.groups):
        stats = [(u["unit"], g) for u in h.result["units"] for g in u["groups"] if g["label"] == group.label]
        if not stats:
            continue
        fig.add_trace(go.Box(name=group.label, x=[unit for unit, _ in stats], q1=[g["q1"] for _, g in stats],
                             median=[g["median"] for _, g in stats], q3=[g["q3"] for _, g in stats],
                             lowerfence=[g["min"] for _, g in stats], upperfence=[g["max"] for _, g in stats],
                             mean=[g["mean"] for _, g in stats], offsetgroup=str(gi)))
    fig.update_layout(title=title, boxmode="group", showlegend=True, legend_title_text="group",
                      xaxis_title="dataset" if h.spec.protocol.kind == "warehouse" else "unit",
                      yaxis_title=h.spec.protocol.metric)
    return fig


def report_html(h: Hypothesis) -> str:
    """The Markdown report's content as one self-contained HTML page with the interactive plot
    (plotly.js inlined, so it opens offline)."""
    fig = result_figure(h)
    body = _markdown_to_html(report_markdown(h))
    plot = fig.to_html(full_html=False, include_plotlyjs=True) if fig is not None else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(h.spec.key)} report</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.2rem .5rem}</style></head><body>"
            f"{body}{plot}</body></html>")


def _inline(text: str) -> str:
    import re

    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _markdown_to_html(md: str) -> str:
    """The small Markdown subset the report uses: headings, quotes, lists, pipe tables, paragraphs."""
    out: list[str] = []
    table: list[list[str]] = []
    items: list[str] = []

    def flush() -> None:
        if table:
            head, *rows = table
            out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            if not set(line) <= set("|-"):
                table.append([_inline(c.strip()) for c in line.strip("|").split("|")])
            continue
        if line.startswith("- "):
            items.append(_inline(line[2:]))
            continue
        flush()
        for prefix, tag in (("### ", "h3"), ("## ", "h2"), ("# ", "h1"), ("> ", "blockquote")):
            if line.startswith(prefix):
                out.append(f"<{tag}>{_inline(line[len(prefix):])}</{tag}>")
                break
        else:
            if line.strip():
                out.append(f"<p>{_inline(line)}</p>")
    flush()
    return "".join(out)
