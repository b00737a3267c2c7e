"""Whole-space path metrics: the vectorised class-table DP against a naive per-cell networkx baseline.

Prints, measured in this process:
- NB201: box + distribution over all 15,625 cells, ours (``space_summary``) against building a
  networkx MultiDiGraph per cell and enumerating its paths (``all_simple_edge_paths``).
- DARTS4 / DARTS5: the same over the same wirings × op-class rows (the naive method on a random
  sample of rows where the full set is too slow, extrapolated per row; the output says so).
- d̄/m̄ of random 40-node DAGs with more than 10^9 paths: the DP in milliseconds, the naive
  enumeration stopped at a timeout with the time it would need projected from its rate.
- ``--conventions``: an exploration for docs/spaces.md, the DARTS box under other conventions
  (paths from one input, concat of loose ends, inputs with replacement, ``none`` allowed, ...).

    .venv/bin/python bench/space.py [--darts5-sample 20000] [--darts4-sample 0] [--dag-timeout 10]
    .venv/bin/python bench/space.py --conventions
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import time
from collections.abc import Callable

import networkx as nx
import numpy as np

from explorer.cell.model import Cell, Edge
from explorer.theory import spaces
from explorer.theory.metrics import metrics
from explorer.theory.paths import effective_depth_width, path_histogram
from explorer.theory.spaces import ABSENT, PARAM, PLAIN, class_table, edge_targets, space_summary, wirings

# --- timing helpers ----------------------------------------------------------------------------


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def cold_summary(name: str) -> dict:
    """``space_summary`` from empty caches: wirings, class table, DP, box and distribution."""
    for f in (spaces.wirings, spaces.class_table, spaces.space_box):
        f.cache_clear()
    return space_summary(name)


# --- the naive baseline ------------------------------------------------------------------------


def naive_stats(edges: list[tuple[int, int, bool]], inputs: tuple[int, ...], output: int) -> tuple[int, int, int]:
    """(P, Σ d_p, #paths with d_p = 0) by building a graph and enumerating every path."""
    g = nx.MultiDiGraph()
    for k, (u, v, param) in enumerate(edges):
        g.add_edge(u, v, key=k, param=param)
    paths = depth_sum = zero = 0
    for s in inputs:
        if s not in g or output not in g:
            continue
        for path in nx.all_simple_edge_paths(g, s, output):
            d = sum(g.edges[e]["param"] for e in path)
            paths += 1
            depth_sum += d
            zero += d == 0
    return paths, depth_sum, zero


def naive_cell_stats(cell: Cell) -> tuple[int, int, int]:
    return naive_stats([(e.src, e.dst, e.parameterized) for e in cell.live_edges], cell.inputs, cell.output)


def naive_row_stats(name: str, rows: np.ndarray) -> np.ndarray:
    """Naive (P, Σd, Z) for class-table rows of a DARTS space, from the wiring and op classes."""
    t = class_table(name)
    w, dst = wirings(name), edge_targets(name)
    n_mid = len(dst) // 2
    out = 2 + n_mid
    result = np.zeros((len(rows), 3), dtype=np.int64)
    for k, i in enumerate(rows):
        src, cls = w[t.wiring[i]], t.classes[i]
        edges = [(int(s), d, bool(c == PARAM)) for s, d, c in zip(src, dst, cls, strict=True) if c != ABSENT]
        edges += [(v, out, False) for v in range(2, out)]
        result[k] = naive_stats(edges, (0, 1), out)
    return result


def summarise(paths: np.ndarray, depth_sum: np.ndarray, zero: np.ndarray, weight: np.ndarray) -> dict:
    """Box and d̄/m̄ distribution from per-row path statistics (the same numbers space_summary gives)."""
    ok = depth_sum > 0
    d = depth_sum[ok] / paths[ok]
    m = (paths[ok] - zero[ok]) / d
    w = weight[ok]
    out = {"center_depth": (d.max() + d.min()) / 2, "center_width": (m.max() + m.min()) / 2,
           "radius_depth": (d.max() - d.min()) / 2, "radius_width": (m.max() - m.min()) / 2}
    for key, x in (("effective_depth", d), ("effective_width", m)):
        mean = np.average(x, weights=w)
        out[key] = {"mean": mean, "std": math.sqrt(np.average((x - mean) ** 2, weights=w)),
                    "quantiles": spaces.weighted_quantiles(x, w, (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0))}
    return out


def check_same(ours: dict, naive: dict) -> None:
    for key in ("center_depth", "center_width", "radius_depth", "radius_width"):
        assert math.isclose(ours["box"][key], naive[key], rel_tol=1e-12), (key, ours["box"][key], naive[key])
    for key in ("effective_depth", "effective_width"):
        assert math.isclose(ours[key]["mean"], naive[key]["mean"], rel_tol=1e-9)
        assert list(ours[key]["quantiles"].values()) == naive[key]["quantiles"]


# --- the three comparisons ---------------------------------------------------------------------


def bench_nb201() -> list[str]:
    archs = spaces.nb201_arch_strings()
    ours_s = best_time(lambda: cold_summary("nb201"))
    ours = cold_summary("nb201")
    t = time.perf_counter()
    stats = np.array([naive_cell_stats(Cell.from_nb201(a)) for a in archs])
    naive = summarise(stats[:, 0], stats[:, 1], stats[:, 2], np.ones(len(archs)))
    naive_s = time.perf_counter() - t
    check_same(ours, naive)
    table_s = best_time(lambda: spaces.space_table("nb201"), repeat=1)
    return [
        f"| NB201 box + distribution, 15,625 cells | {ours_s * 1e3:.1f} ms | {naive_s:.2f} s (all cells) "
        f"| {naive_s / ours_s:,.0f}× |",
        f"| NB201 per-cell table (`space_table`, every metric incl. NNGP) | {table_s:.2f} s | — | — |",
    ]


def bench_darts(name: str, sample: int, rng: np.random.Generator) -> list[str]:
    ours_s = best_time(lambda: cold_summary(name))
    ours = cold_summary(name)
    t = class_table(name)
    n_rows = len(t.paths)
    full = sample <= 0 or sample >= n_rows
    rows = np.arange(n_rows) if full else np.sort(rng.choice(n_rows, sample, replace=False))
    start = time.perf_counter()
    stats = naive_row_stats(name, rows)
    naive_s = time.perf_counter() - start
    # the naive statistics must be ours, row by row
    assert np.array_equal(stats[:, 0], t.paths[rows]) and np.array_equal(stats[:, 1], t.depth_sum[rows])
    assert np.array_equal(stats[:, 2], t.zero_depth_paths[rows])
    if full:
        check_same(ours, summarise(stats[:, 0], stats[:, 1], stats[:, 2], t.multiplicity))
        naive_total, how = naive_s, f"{naive_s:.1f} s (all {n_rows:,} rows)"
    else:
        naive_total = naive_s / len(rows) * n_rows
        how = (f"≈ {naive_total:,.0f} s (extrapolated: {len(rows):,} random rows of {n_rows:,} took "
               f"{naive_s:.1f} s, {naive_s / len(rows) * 1e6:.0f} µs/row)")
    cells = ours["cells"]
    return [f"| {name.upper()} box + distribution, {cells:,} cells = {n_rows:,} class rows "
            f"| {ours_s:.3f} s | {how} | {naive_total / ours_s:,.0f}× |"]


def random_big_dag(rng: random.Random, n: int = 40, min_paths: int = 10**9) -> Cell:
    """A random 40-node DAG (one input, one output) with more than ``min_paths`` paths."""
    ops = ("linear", "conv_3x3", "skip_connect", "avg_pool_3x3")
    while True:
        edges = []
        for v in range(1, n):
            k = rng.randint(2, 4)
            for _ in range(k):  # mostly short hops, sometimes a long skip
                u = max(0, v - rng.choice((1, 1, 2, 2, 3, 5, 8)))
                edges.append(Edge(u, v, rng.choice(ops)))
        has_out = {e.src for e in edges}
        edges += [Edge(v, rng.randint(v + 1, n - 1), rng.choice(ops)) for v in range(1, n - 1) if v not in has_out]
        cell = Cell(("input",) + ("intermediate",) * (n - 2) + ("output",), edges)
        if sum(path_histogram(cell)) > min_paths and len(edges) <= 512:
            return cell


def bench_big_dags(count: int, timeout_s: float) -> list[str]:
    rng = random.Random(0)
    lines = []
    for k in range(count):
        cell = random_big_dag(rng)

        def dp(cell: Cell = cell) -> object:
            return effective_depth_width(path_histogram(cell))

        dp_s = best_time(dp, repeat=5)
        full_s = best_time(lambda cell=cell: metrics(cell), repeat=3)
        dw = dp()
        paths = sum(path_histogram(cell))
        g = nx.MultiDiGraph()
        for i, e in enumerate(cell.live_edges):
            g.add_edge(e.src, e.dst, key=i)
        enumerated, start = 0, time.perf_counter()
        for _ in nx.all_simple_edge_paths(g, 0, cell.output):
            enumerated += 1
            if enumerated % 1000 == 0 and time.perf_counter() - start > timeout_s:
                break
        spent = time.perf_counter() - start
        projected_h = paths / (enumerated / spent) / 3600
        lines.append(
            f"| DAG {k + 1}: 40 nodes, {len(cell.edges)} edges, P = {paths:.3e} | "
            f"{dp_s * 1e3:.2f} ms (d̄ = {dw.effective_depth:.3f}, m̄ = {dw.effective_width:.4g}); "
            f"all metrics {full_s * 1e3:.1f} ms | stopped at {timeout_s:g} s after {enumerated:,} paths: "
            f"≈ {projected_h:,.0f} h to finish | ≈ {projected_h * 3600 / dp_s:.1e}× |")
    return lines


# --- exploration: the DARTS box under other conventions -----------------------------------------


def convention_box(n_mid: int, *, inputs: tuple[int, ...] = (0, 1), concat: str = "all",
                   pairs: str = "distinct", collapse: bool = False, none: bool = False,
                   undefined_as_zero: bool = False) -> dict:
    """Min/max of d̄ and m̄ over a DARTS-like space under the given conventions (exact, vectorised).

    pairs: 'distinct' (two different earlier nodes, unordered: ours), 'replacement' (the same node may
    be taken twice, giving parallel edges), 'ordered' (ordered distinct pairs), 'ordered_replacement'.
    collapse: parallel edges from the same node count once (an adjacency matrix; the later op wins).
    concat: 'all' intermediate nodes, or 'leaves' (those no other intermediate node takes as input).
    """
    choose = {"distinct": lambda k: itertools.combinations(range(k), 2),
              "replacement": lambda k: itertools.combinations_with_replacement(range(k), 2),
              "ordered": lambda k: itertools.permutations(range(k), 2),
              "ordered_replacement": lambda k: itertools.product(range(k), repeat=2)}[pairs]
    per_node = [list(choose(k)) for k in range(2, 2 + n_mid)]
    w = np.array([sum(c, ()) for c in itertools.product(*per_node)], dtype=np.int64)  # (W, E)
    n_edges, n_nodes = 2 * n_mid, 2 + n_mid
    dst = [2 + j // 2 for j in range(n_edges)]
    classes = np.array(list(itertools.product(*([(ABSENT, PLAIN, PARAM) if none else (PLAIN, PARAM)] * n_edges))),
                       dtype=np.int8)  # (A, E)
    chunk = max(1, 2_000_000 // len(classes))  # wirings per step: bounded memory
    lo_d = lo_m = math.inf
    hi_d = hi_m = -math.inf
    n_cells = 0
    for start in range(0, len(w), chunk):
        src = w[start:start + chunk]
        n_w = len(src)
        live = np.broadcast_to((classes != ABSENT)[None], (n_w, *classes.shape)).copy()  # (W, A, E)
        if collapse:  # a node taking the same source twice: only the second edge exists
            dup = src[:, 0::2] == src[:, 1::2]  # (W, n_mid)
            for node in range(n_mid):
                live[dup[:, node], :, 2 * node] = False
        param = (classes == PARAM)[None] & live
        plain = (classes == PLAIN)[None] & live
        n = np.zeros((n_nodes, n_w, len(classes)), dtype=np.int64)
        s, z = np.zeros_like(n), np.zeros_like(n)
        n[list(inputs)] = 1
        z[list(inputs)] = 1
        idx = np.arange(n_w)
        for j in range(n_edges):
            u, v = src[:, j], dst[j]
            nu, su, zu = n[u, idx], s[u, idx], z[u, idx]
            n[v] += nu * live[:, :, j]
            s[v] += (su + nu * param[:, :, j]) * live[:, :, j]
            z[v] += zu * plain[:, :, j]
        if concat == "all":
            mask = np.ones((n_w, n_mid), dtype=bool)
        else:  # loose ends: not an input of any other intermediate node
            mask = np.array([[v not in set(row) for v in range(2, n_nodes)] for row in src])
        P = np.einsum("wv,vwa->wa", mask, n[2:])
        S = np.einsum("wv,vwa->wa", mask, s[2:])
        Z = np.einsum("wv,vwa->wa", mask, z[2:])
        n_cells += P.size
        ok = S > 0
        if ok.any():
            d = S[ok] / P[ok]
            m = (P[ok] - Z[ok]) / d
            lo_d, hi_d = min(lo_d, d.min()), max(hi_d, d.max())
            lo_m, hi_m = min(lo_m, m.min()), max(hi_m, m.max())
        if undefined_as_zero and not ok.all():  # Chen et al.'s code returns (0, 0) when d̄ = 0
            lo_d, lo_m = min(lo_d, 0.0), min(lo_m, 0.0)
    return {"wirings": len(w), "rows": n_cells, "depth": (lo_d, hi_d), "width": (lo_m, hi_m),
            "center": ((hi_d + lo_d) / 2, (hi_m + lo_m) / 2), "half_radius": ((hi_d - lo_d) / 4, (hi_m - lo_m) / 4)}


CONVENTIONS: list[tuple[str, dict]] = [
    ("ours: distinct unordered input pairs, concat all, paths from both inputs, no none", {}),
    ("ordered input pairs (distinct)", {"pairs": "ordered"}),
    ("ordered input pairs with replacement", {"pairs": "ordered_replacement"}),
    ("inputs with replacement, parallel edges kept", {"pairs": "replacement"}),
    (
        "inputs with replacement, parallel edges collapsed (adjacency matrix)",
        {"pairs": "replacement", "collapse": True},
    ),
    ("paths from input 0 only", {"inputs": (0,)}),
    ("concat of loose ends only", {"concat": "leaves"}),
    ("loose ends + inputs with replacement (NASNet-style)", {"concat": "leaves", "pairs": "replacement"}),
    ("`none` allowed (8 ops)", {"none": True}),
    ("`none` allowed + loose ends", {"none": True, "concat": "leaves"}),
    ("`none` allowed + paths from input 0 only", {"none": True, "inputs": (0,)}),
    ("undefined cells counted as (0, 0), as Chen et al.'s code returns", {"undefined_as_zero": True}),
    ("paths from input 0 only + loose ends", {"inputs": (0,), "concat": "leaves"}),
]


def explore_conventions(n_mids: tuple[int, ...]) -> None:
    # the exploration code must reproduce the library's boxes under our conventions
    for n_mid, name in ((4, "darts4"), (5, "darts5")):
        if n_mid in n_mids:
            b, mine = spaces.space_box(name), convention_box(n_mid)
            assert np.allclose(mine["center"], (b.center_depth, b.center_width))
            assert np.allclose(mine["half_radius"], (b.radius_depth / 2, b.radius_width / 2))
    print("Chen et al. (NeurIPS 2022, Sec. 5.3), DARTS: centre (1.5, 10.5), half-radius (0.7, 4.8)")
    print("| intermediate nodes | convention | wirings | d̄ range | m̄ range | centre | half-radius | time |")
    print("|---|---|---|---|---|---|---|---|")
    for n_mid in n_mids:
        for label, kw in CONVENTIONS:
            if n_mid >= 5 and kw.get("pairs") == "ordered_replacement":
                continue  # 518,400 wirings; the same cells as 'replacement', so the same box
            t = time.perf_counter()
            r = convention_box(n_mid, **kw)
            dt = time.perf_counter() - t
            (d0, d1), (m0, m1) = r["depth"], r["width"]
            print(f"| {n_mid} | {label} | {r['wirings']:,} | [{d0:.3f}, {d1:.3f}] | [{m0:.3f}, {m1:.3f}] | "
                  f"({r['center'][0]:.3f}, {r['center'][1]:.3f}) | ({r['half_radius'][0]:.3f}, "
                  f"{r['half_radius'][1]:.3f}) | {dt:.1f} s |", flush=True)


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--darts4-sample", type=int, default=0, help="naive rows for DARTS4 (0 = all 46,080)")
    ap.add_argument("--darts5-sample", type=int, default=20_000, help="naive rows for DARTS5 (0 = all 2,764,800)")
    ap.add_argument("--dags", type=int, default=3, help="random 40-node DAGs with > 10^9 paths")
    ap.add_argument("--dag-timeout", type=float, default=10.0, help="seconds the naive enumeration gets per DAG")
    ap.add_argument("--conventions", action="store_true", help="only the DARTS box exploration (docs/spaces.md)")
    ap.add_argument("--nodes", type=int, nargs="+", default=[4, 5], help="intermediate nodes for --conventions")
    args = ap.parse_args()
    if args.conventions:
        explore_conventions(tuple(args.nodes))
        return
    rng = np.random.default_rng(0)
    print("| computation | ours (vectorised DP) | naive (networkx graph per cell, all_simple_edge_paths) | ratio |")
    print("|---|---|---|---|")
    for line in bench_nb201():
        print(line, flush=True)
    for line in bench_darts("darts4", args.darts4_sample, rng):
        print(line, flush=True)
    for line in bench_darts("darts5", args.darts5_sample, rng):
        print(line, flush=True)
    for line in bench_big_dags(args.dags, args.dag_timeout):
        print(line, flush=True)


if __name__ == "__main__":
    main()
