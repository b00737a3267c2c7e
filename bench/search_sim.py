"""Search simulation: the vectorised ``simulate`` against a per-repeat Python loop, same process, same draws.

    .venv/bin/python -m bench.search_sim [--db data/warehouse.duckdb] [--repeats 500] [--candidates 100]

Both compute the proxy-guided and random searches with and without the box at every f of the
ablation for the three NB201 datasets; the script asserts that they pick the same cells and prints
their times and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from explorer.benchmarks.warehouse import Warehouse
from explorer.core.settings import get_settings
from explorer.labs import search_sim as ss


def loop_simulate(data: ss.SpaceData, cfg: ss.SimulationConfig) -> dict:
    """The same searches, one repeat and one candidate at a time (the obvious implementation)."""
    box = data.box()
    inside = {f: data.inside(f, box) for f in cfg.fs}
    out = {}
    for ds, d in data.datasets.items():
        pool = np.flatnonzero(np.isfinite(d.accuracy) & np.isfinite(d.proxy))
        draws = pool[ss.draw_candidates(pool.size, cfg.repeats, cfg.candidates, cfg.seed)]
        for search in cfg.searches:
            for f in (None, *cfg.fs):
                ids = []
                for cand in draws:
                    keep = [c for c in cand if f is None or inside[f][c]] or list(cand)
                    if search == "random":
                        ids.append(data.arch_id[keep[0]])
                    else:
                        best = max(keep, key=lambda c: d.proxy[c])
                        ids.append(data.arch_id[best])
                out[(ds, search, f)] = np.array(ids)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=str(get_settings().warehouse_path))
    ap.add_argument("--repeats", type=int, default=500)
    ap.add_argument("--candidates", type=int, default=100)
    args = ap.parse_args()
    wh = Warehouse(args.db)
    data = ss.load_space(wh, "nb201", ["cifar10", "cifar100", "imagenet16"], "naswot_v1")
    cfg = ss.SimulationConfig(repeats=args.repeats, candidates=args.candidates)
    ours = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = ss.simulate(data, cfg)
        ours.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    naive = loop_simulate(data, cfg)
    loop_s = time.perf_counter() - t0
    for key, ids in naive.items():
        assert np.array_equal(ids, res.picks[key].arch_id), key
    best = min(ours)
    print(f"R = {cfg.repeats}, N = {cfg.candidates}, 3 datasets × 2 searches × {1 + len(cfg.fs)} filters")
    print(
        f"vectorised simulate: {best:.3f} s (best of 3)   per-repeat loop: {loop_s:.2f} s   ratio {loop_s / best:.0f}×"
    )


if __name__ == "__main__":
    main()
