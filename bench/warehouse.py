"""Warehouse latency: a d̄/m̄-filtered query plus Chen et al.'s Figure-5 aggregation over all rows.

The unit of work is what the browse page needs per filter change: the count and the first page
(sorted by accuracy) of the architectures inside a d̄/m̄ range, and the (d̄, m̄) groups (n, mean,
std of accuracy) over every NB201 cell. DuckDB (``explorer.benchmarks.warehouse.Warehouse``) against the same work in
pandas on frames already in memory (baselines), in the same process: every result row (the table
DuckDB filters), and the one result set pre-selected (pandas' best case). Aim: ≤ 50 ms and not slower
than pandas.

    .venv/bin/python bench/warehouse.py [--db PATH] [--nb201-dir DIR (default: the shipped tables)] [--repeat 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from explorer.benchmarks.ensure import build, default_inputs  # noqa: E402
from explorer.benchmarks.warehouse import TABLE_COLUMNS, Filter, Warehouse  # noqa: E402

DEPTH, WIDTH = (1.0, 2.0), (1.5, 3.0)
PAGE = 50


def duckdb_work(wh: Warehouse) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    f = Filter(ranges={"effective_depth": DEPTH, "effective_width": WIDTH})
    return wh.count(f), wh.rows(f, columns=TABLE_COLUMNS, limit=PAGE), wh.figure5(Filter())


def pandas_work(df: pd.DataFrame) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """The same selection on a frame of every result row (all spaces, datasets, schedules)."""
    one = df[(df["space"] == "nb201") & (df["dataset"] == "cifar10") & (df["schedule"] == "200ep")]
    sel = one[one["effective_depth"].between(*DEPTH) & one["effective_width"].between(*WIDTH)]
    page = sel.sort_values(["accuracy", "arch_id"], ascending=[False, True]).head(PAGE)[[*TABLE_COLUMNS, "accuracy"]]
    ok = one.dropna(subset=["effective_depth", "accuracy"])
    groups = (ok.assign(effective_depth=ok["effective_depth"].round(9), effective_width=ok["effective_width"].round(9))
              .groupby(["effective_depth", "effective_width"])["accuracy"]
              .agg(n="count", mean_acc="mean", std_acc="std", min_acc="min", max_acc="max").reset_index())
    return len(sel), page, groups


def medians_ms(fns: list, repeat: int) -> list[float]:
    """Median wall time of each function; runs interleave so both see the same machine load."""
    for fn in fns:
        fn()  # warm up
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000)
    return [statistics.median(ts) for ts in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="an existing warehouse (default: build one from --nb201-dir)")
    ap.add_argument("--nb201-dir", type=Path, default=None, help="NB201 tables (default: the shipped copy)")
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "warehouse.duckdb"
            t0 = time.perf_counter()
            build(db, default_inputs(args.nb201_dir))
            print(f"build (NB201, 15,625 cells): {time.perf_counter() - t0:.1f} s")
        wh = Warehouse(db)
        try:
            # The pandas baselines' tables, in memory: every result row (what DuckDB scans), and the
            # one result set already selected (a lower bound for pandas: no selection left to do).
            everything = wh.query("SELECT *, test_acc AS accuracy FROM browse", row_limit=10_000_000).frame
            one = wh.rows(Filter(), order_by="arch_id", descending=False)
            n_duck, page_duck, fig_duck = duckdb_work(wh)
            for frame in (everything, one):
                n_pd, page_pd, fig_pd = pandas_work(frame)
                assert n_duck == n_pd and list(page_duck["arch_id"]) == list(page_pd["arch_id"])
                assert len(fig_duck) == len(fig_pd) and (fig_duck["n"].to_numpy() == fig_pd["n"].to_numpy()).all()
            duck, pand_all, pand_one = medians_ms(
                [lambda: duckdb_work(wh), lambda: pandas_work(everything), lambda: pandas_work(one)], args.repeat)
        finally:
            wh.close()
    print(f"result rows {len(everything):,}; NB201 CIFAR-10 200ep rows {len(one):,}; "
          f"in the d̄/m̄ range {n_duck:,}; Figure-5 groups {len(fig_duck)}")
    print(f"duckdb               median {duck:7.2f} ms  (count + first page of the d̄/m̄ filter + Figure 5)")
    print(f"pandas, all results  median {pand_all:7.2f} ms  (same work on every result row in memory)")
    print(f"pandas, one set      median {pand_one:7.2f} ms  (the result set pre-selected in memory)")
    print(f"ratio duckdb / pandas(all results): {duck / pand_all:.2f}; duckdb / pandas(one set): {duck / pand_one:.2f}"
          "  (targets: ≤ 1.0 and ≤ 50 ms)")


if __name__ == "__main__":
    main()
