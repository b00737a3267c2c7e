"""What the benchmarks know about one cell: its own results (NB201, or an NDS space holding its
genotype), what one or two edits would do (NB201), and for a cell in no loaded data, what cells with
the same or nearest (d̄, m̄) achieved — a distribution of other cells, never a prediction.

Pure functions over a ``Warehouse``. Per cell: one SQL query (the matched rows' results, proxies,
hardware, equivalents). Ranks, the edit map and the connectivity neighbours come from an
``EvidenceIndex`` read once per warehouse file (one query, ~0.3 s), so an edit in the editor costs
one small query plus array lookups.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from explorer.benchmarks.warehouse import Warehouse
from explorer.cell.canonical import NB201_EDGES, nb201_from_ops, nb201_ops, nb201_unique_str
from explorer.cell.model import Cell
from explorer.cell.ops import NB201_OPS
from explorer.theory.metrics import metrics

NB201_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16")
MAIN_SCHEDULE = "200ep"  # NB201: the 200-epoch seed means the panel leads with
ROUND = 9  # d̄, m̄ are ratios of small integers: rounding merges float noise (as Figure 5 does)


# --- what a lookup returns ------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One result set of a matched cell, with its rank among all cells of the space and among the
    cells with the same (d̄, m̄) (rank 1 = best; ties share the better rank)."""

    dataset: str
    schedule: str
    seeds: str  # 'mean' (over seeds) or 'single' (one seed)
    test_acc: float
    valid_acc: float | None
    rank: int
    n: int
    percentile: float  # share of the space's cells with lower accuracy, in %
    group_rank: int
    group_n: int


@dataclass(frozen=True)
class Match:
    """One benchmark entry of the cell (NB201: one architecture; NDS: every entry with this normal cell)."""

    space: str
    arch_id: int
    arch_str: str
    how: str  # 'exact' (same arch string) or 'equivalent' (same NATS-Bench unique string)
    unique_str: str | None
    equivalent: tuple[str, ...]  # the other arch strings of the space with the same unique string
    effective_depth: float | None
    effective_width: float | None
    params_m: float | None
    flops_m: float | None
    results: tuple[Result, ...]
    proxies: dict[str, dict[str, float]]  # dataset → proxy → score
    hardware: dict[str, dict[str, float]]  # dataset → HW-NAS-Bench metric → value

    def accuracy(self, dataset: str, schedule: str = MAIN_SCHEDULE) -> float | None:
        return next((r.test_acc for r in self.results if r.dataset == dataset and r.schedule == schedule), None)


@dataclass(frozen=True)
class EditOption:
    """The cell with edge ``edge`` (arch-string order) set to ``op``: its 200-epoch accuracies."""

    edge: int
    src: int
    dst: int
    op: str
    arch_str: str
    current: bool  # this square is the cell itself
    accuracy: dict[str, float]  # dataset → test accuracy


@dataclass(frozen=True)
class Neighbour:
    """A cell within ``distance`` edge edits, among the best ``k`` on ``dataset``."""

    dataset: str
    distance: int
    arch_str: str
    test_acc: float
    edits: tuple[str, ...]  # 'i→j: old → new'


@dataclass(frozen=True)
class ConnectivityGroup:
    """Cells of ``space`` at the (d̄, m̄) point nearest the cell's (``distance`` 0: the same point):
    their accuracies on one result set. Other cells' results, not a prediction of this cell."""

    space: str
    dataset: str
    schedule: str
    effective_depth: float
    effective_width: float
    distance: float
    accuracies: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.accuracies)

    def summary(self) -> dict[str, float]:
        a = np.asarray(self.accuracies)
        q = np.quantile(a, [0.0, 0.25, 0.5, 0.75, 1.0])
        return {"n": int(a.size), "mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
                "min": float(q[0]), "q25": float(q[1]), "median": float(q[2]), "q75": float(q[3]), "max": float(q[4])}


@dataclass(frozen=True)
class Evidence:
    """Everything the editor's evidence panel, Compare and ``explorer lookup`` show for one cell."""

    cell_text: str
    effective_depth: float | None
    effective_width: float | None
    matches: tuple[Match, ...] = ()
    edit_map: tuple[EditOption, ...] = ()
    nearby: tuple[Neighbour, ...] = ()
    connectivity: tuple[ConnectivityGroup, ...] = ()
    spaces: tuple[str, ...] = ()  # the spaces the warehouse holds
    notes: tuple[str, ...] = field(default=())

    @property
    def found(self) -> bool:
        return bool(self.matches)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for g, out in zip(self.connectivity, d["connectivity"], strict=True):
            out["summary"] = g.summary()
            out["label"] = "cells with this connectivity (not a prediction of this cell)"
        return d


# --- the per-warehouse index ---------------------------------------------------------------------


@dataclass
class EvidenceIndex:
    """Read once per warehouse: arch string → ids, every test accuracy with its (d̄, m̄), sorted
    arrays for ranks, and NB201's 200-epoch accuracies by arch string (the edit map)."""

    ids: dict[str, list[tuple[str, int]]]
    rows: pd.DataFrame  # arch_id, space, dataset, schedule, d, m, test_acc
    sorted_all: dict[tuple[str, str, str], np.ndarray]
    sorted_group: dict[tuple[str, str, str, float, float], np.ndarray]
    nb201: dict[str, dict[str, float]]
    spaces: tuple[str, ...]


_INDEX_SQL = (
    f"SELECT arch_id, space, dataset, schedule, round(effective_depth, {ROUND}) AS d, "
    f"round(effective_width, {ROUND}) AS m, test_acc, arch_str FROM browse WHERE test_acc IS NOT NULL"
)
_indexes: dict[int, tuple[Warehouse, EvidenceIndex]] = {}
_index_lock = threading.Lock()


def evidence_index(wh: Warehouse) -> EvidenceIndex:
    """The index of ``wh``, built on first use and kept while this Warehouse object lives (open_shared
    hands out a new object when the file is rebuilt)."""
    with _index_lock:
        hit = _indexes.get(id(wh))
        if hit is not None and hit[0] is wh:
            return hit[1]
        idx = _build_index(wh._frame(_INDEX_SQL))
        _indexes.clear()  # one warehouse per process in practice; drop indexes of closed handles
        _indexes[id(wh)] = (wh, idx)
        return idx


def _build_index(df: pd.DataFrame) -> EvidenceIndex:
    ids: dict[str, list[tuple[str, int]]] = {}
    for s, space, aid in df[["arch_str", "space", "arch_id"]].drop_duplicates("arch_id").itertuples(index=False):
        ids.setdefault(s, []).append((space, int(aid)))
    sorted_all = {k: np.sort(g.to_numpy()) for k, g in df.groupby(["space", "dataset", "schedule"])["test_acc"]}
    dm = df.assign(d=df["d"].fillna(-1.0), m=df["m"].fillna(-1.0))  # undefined d̄/m̄: one group of its own
    sorted_group = {k: np.sort(g.to_numpy())
                    for k, g in dm.groupby(["space", "dataset", "schedule", "d", "m"])["test_acc"]}
    main = df[(df["space"] == "nb201") & (df["schedule"] == MAIN_SCHEDULE) & df["dataset"].isin(NB201_DATASETS)]
    nb201: dict[str, dict[str, float]] = {}
    for s, ds, acc in main[["arch_str", "dataset", "test_acc"]].itertuples(index=False):
        nb201.setdefault(s, {})[ds] = float(acc)
    rows = df.drop(columns="arch_str")
    return EvidenceIndex(ids, rows, sorted_all, sorted_group, nb201, tuple(sorted(df["space"].unique())))


def _rank(arr: np.ndarray | None, acc: float) -> tuple[int, int, int]:
    """(rank, n, cells below) of ``acc`` in the ascending array ``arr``."""
    if arr is None or arr.size == 0:
        return 0, 0, 0
    n = int(arr.size)
    return n - int(np.searchsorted(arr, acc, "right")) + 1, n, int(np.searchsorted(arr, acc, "left"))


# --- the lookup ------------------------------------------------------------------------------------


def _match_sql(n_ids: int) -> str:
    """One query for every matched entry: results, proxies, hardware (unpivoted), the entry, equivalents."""
    marks = ", ".join("?" * n_ids)
    return f"""
WITH me AS (SELECT arch_id, space, unique_str FROM architectures WHERE arch_id IN ({marks}))
SELECT 'result' AS section, b.arch_id, b.dataset AS a, b.schedule AS b, b.seeds AS c, b.test_acc AS x,
       b.valid_acc AS y, round(b.effective_depth, {ROUND}) AS d, round(b.effective_width, {ROUND}) AS m
FROM browse b JOIN me USING (arch_id) WHERE b.test_acc IS NOT NULL
UNION ALL
SELECT 'proxy', p.arch_id, p.dataset, p.proxy, NULL, p.value, NULL, NULL, NULL FROM proxies p JOIN me USING (arch_id)
UNION ALL
SELECT 'hardware', arch_id, dataset, name, NULL, value, NULL, NULL, NULL FROM (
  UNPIVOT (SELECT h.* FROM hardware h JOIN me USING (arch_id)) ON COLUMNS(* EXCLUDE (arch_id, dataset))
  INTO NAME name VALUE value)
UNION ALL
SELECT 'arch', a.arch_id, a.space, a.unique_str, a.arch_str, a.params_m, a.flops_m,
       a.effective_depth, a.effective_width FROM architectures a JOIN me USING (arch_id)
UNION ALL
SELECT 'equivalent', me.arch_id, NULL, e.arch_str, NULL, NULL, NULL, NULL, NULL
FROM architectures e JOIN me ON e.space = me.space AND e.unique_str = me.unique_str AND e.arch_id <> me.arch_id
"""


def lookup(wh: Warehouse, cell: Cell, *, k: int = 5) -> Evidence:
    """What the warehouse knows about ``cell`` (see the module docstring)."""
    idx = evidence_index(wh)
    m = metrics(cell)
    base = {"cell_text": cell.to_text(), "effective_depth": m.effective_depth, "effective_width": m.effective_width,
            "spaces": idx.spaces}
    text = cell.to_text()
    found = list(idx.ids.get(text, []))
    how = {aid: "exact" for _, aid in found}
    notes: list[str] = []
    unique = nb201_unique_str(cell)
    if not found and unique is not None and "nb201" in idx.spaces:
        # Not stored under its own string (a partial warehouse): any cell NATS-Bench treats as the same.
        eq = wh._frame("SELECT arch_id FROM architectures WHERE space = 'nb201' AND unique_str = ? "
                       "ORDER BY arch_id LIMIT 1", [unique])
        found = [("nb201", int(a)) for a in eq["arch_id"]]
        how = {aid: "equivalent" for _, aid in found}
    if not found:
        if m.effective_depth is None:
            notes.append(f"Not in any loaded benchmark, and d̄/m̄ are {m.undefined_reason}: no connectivity neighbours.")
            return Evidence(**base, notes=tuple(notes))
        return Evidence(**base, connectivity=connectivity_groups(idx, m.effective_depth, m.effective_width),
                        notes=tuple(notes))
    matches = _matches(wh, idx, found, how)
    edit_map: tuple[EditOption, ...] = ()
    nearby: tuple[Neighbour, ...] = ()
    if cell.kind == "nb201" and idx.nb201:
        edit_map = edit_options(idx, cell)
        nearby = best_nearby(idx, cell, k)
    return Evidence(**base, matches=matches, edit_map=edit_map, nearby=nearby, notes=tuple(notes))


def _matches(wh: Warehouse, idx: EvidenceIndex, found: list[tuple[str, int]], how: dict[int, str]) -> tuple[Match, ...]:
    df = wh._frame(_match_sql(len(found)), [aid for _, aid in found])
    out = []
    for aid in [a for _, a in found]:
        mine = df[df["arch_id"] == aid]
        arch = mine[mine["section"] == "arch"].iloc[0]
        space = str(arch["a"])
        results = []
        for r in mine[mine["section"] == "result"].itertuples(index=False):
            key = (space, r.a, r.b)
            acc = float(r.x)
            rank, n, below = _rank(idx.sorted_all.get(key), acc)
            gkey = (*key, -1.0 if pd.isna(r.d) else float(r.d), -1.0 if pd.isna(r.m) else float(r.m))
            grank, gn, _ = _rank(idx.sorted_group.get(gkey), acc)
            results.append(Result(r.a, r.b, r.c, acc, None if pd.isna(r.y) else float(r.y), rank, n,
                                  100.0 * below / n if n else 0.0, grank, gn))
        results.sort(key=lambda r: (r.schedule != MAIN_SCHEDULE, r.schedule, _dataset_order(r.dataset)))
        nested: dict[str, dict[str, dict[str, float]]] = {"proxy": {}, "hardware": {}}
        for sec in nested:
            for r in mine[mine["section"] == sec].itertuples(index=False):
                if not pd.isna(r.x):
                    nested[sec].setdefault(r.a, {})[r.b] = float(r.x)
        out.append(Match(
            space=space, arch_id=int(aid), arch_str=str(arch["c"]), how=how[aid],
            unique_str=None if pd.isna(arch["b"]) else str(arch["b"]),
            equivalent=tuple(sorted(mine.loc[mine["section"] == "equivalent", "b"])),
            effective_depth=_f(arch["d"]), effective_width=_f(arch["m"]),
            params_m=_f(arch["x"]), flops_m=_f(arch["y"]), results=tuple(results),
            proxies=nested["proxy"], hardware=nested["hardware"]))
    return tuple(out)


def edit_options(idx: EvidenceIndex, cell: Cell) -> tuple[EditOption, ...]:
    """All 6 × 5 one-edge variants of an NB201 cell (the cell itself once per edge) with their accuracies."""
    ops = nb201_ops(cell)
    out = []
    for e, (i, j) in enumerate(NB201_EDGES):
        for op in NB201_OPS:
            s = nb201_from_ops(ops[:e] + (op,) + ops[e + 1:])
            out.append(EditOption(e, i, j, op, s, op == ops[e], dict(idx.nb201.get(s, {}))))
    return tuple(out)


def best_nearby(idx: EvidenceIndex, cell: Cell, k: int = 5) -> tuple[Neighbour, ...]:
    """The ``k`` best cells at edit distance exactly 1 and exactly 2 (edges changed), per dataset."""
    ops = nb201_ops(cell)
    cands: dict[int, list[tuple[str, tuple[str, ...]]]] = {1: [], 2: []}
    for dist in (1, 2):
        for edges in itertools.combinations(range(6), dist):
            for new in itertools.product(*[[o for o in NB201_OPS if o != ops[e]] for e in edges]):
                v = list(ops)
                for e, o in zip(edges, new, strict=True):
                    v[e] = o
                edits = tuple(f"{NB201_EDGES[e][0]}→{NB201_EDGES[e][1]}: {ops[e]} → {o}"
                              for e, o in zip(edges, new, strict=True))
                cands[dist].append((nb201_from_ops(v), edits))
    out = []
    for ds in NB201_DATASETS:
        for dist, items in cands.items():
            scored = [(idx.nb201[s][ds], s, ed) for s, ed in items if ds in idx.nb201.get(s, {})]
            scored.sort(key=lambda t: (-t[0], t[1]))
            out += [Neighbour(ds, dist, s, acc, ed) for acc, s, ed in scored[:k]]
    return tuple(out)


def connectivity_groups(idx: EvidenceIndex, depth: float, width: float) -> tuple[ConnectivityGroup, ...]:
    """Per space and main result set: the accuracies of the cells at the (d̄, m̄) point nearest
    (Euclidean) to (``depth``, ``width``)."""
    rows = idx.rows.dropna(subset=["d", "m"])
    main = (rows["space"] != "nb201") | ((rows["schedule"] == MAIN_SCHEDULE) & rows["dataset"].isin(NB201_DATASETS))
    rows = rows[main]
    out = []
    for space, g in rows.groupby("space", sort=True):
        pts = g[["d", "m"]].drop_duplicates()
        dist = np.hypot(pts["d"].to_numpy() - depth, pts["m"].to_numpy() - width)
        best = pts.iloc[int(np.argmin(dist))]
        at = g[(g["d"] == best["d"]) & (g["m"] == best["m"])]
        for (ds, sch), acc in at.groupby(["dataset", "schedule"], sort=False)["test_acc"]:
            out.append(ConnectivityGroup(str(space), str(ds), str(sch), float(best["d"]), float(best["m"]),
                                         float(dist.min()), tuple(float(a) for a in acc)))
    out.sort(key=lambda c: (c.space, _dataset_order(c.dataset), c.schedule))
    return tuple(out)


def _dataset_order(ds: str) -> int:
    order = [*NB201_DATASETS, "cifar10valid", "imagenet"]
    return order.index(ds) if ds in order else len(order)


def _f(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def evidence_rows(ev: Evidence, datasets: Iterable[str] = NB201_DATASETS) -> list[dict[str, Any]]:
    """The matched cells' results as flat rows (for tables and the CLI)."""
    keep = set(datasets) | {"cifar10valid", "imagenet"}
    return [{"space": mt.space, "arch_id": mt.arch_id, "dataset": r.dataset, "schedule": r.schedule,
             "seeds": r.seeds, "test_acc": r.test_acc, "valid_acc": r.valid_acc, "rank": r.rank, "of": r.n,
             "percentile": r.percentile, "rank_same_dm": r.group_rank, "of_same_dm": r.group_n}
            for mt in ev.matches for r in mt.results if r.dataset in keep]
